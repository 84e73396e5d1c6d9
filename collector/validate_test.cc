#include "collector/validate.h"

#include <functional>

#include "gtest/gtest.h"

namespace candor::collector {
namespace {

using candor::v1::IngestItem;
using candor::v1::RejectCode;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  ts->set_seconds(absl::ToUnixSeconds(t));
  ts->set_nanos(0);
}

IngestItem ValidEvent() {
  IngestItem item;
  auto* e = item.mutable_inference_event();
  e->set_request_id("req-1");
  SetTime(e->mutable_timestamp(), kNow - absl::Seconds(5));
  e->set_provider("aws");
  e->set_model("llama-3-70b");
  e->set_status(candor::v1::OK);
  e->set_latency_ms(1200);
  e->set_ttft_ms(300);
  e->set_queue_ms(10);
  e->set_kv_cache_usage(0.5);
  e->set_input_tokens(100);
  e->set_output_tokens(200);
  auto* d = e->add_dependencies();
  d->set_name("vector-db");
  d->set_latency_ms(20);
  d->set_status(candor::v1::OK);
  (*e->mutable_attributes())["k"] = "v";
  return item;
}

IngestItem ValidReplica() {
  IngestItem item;
  auto* s = item.mutable_replica_sample();
  SetTime(s->mutable_timestamp(), kNow);
  s->set_replica("r-1");
  s->set_kv_cache_usage(0.9);
  s->set_queue_depth(3);
  return item;
}

IngestItem ValidGpu() {
  IngestItem item;
  auto* s = item.mutable_gpu_sample();
  SetTime(s->mutable_timestamp(), kNow);
  s->set_node("gpu-1");
  s->set_gpu("GPU-abc");
  s->set_sm_clock_mhz(1980);
  s->set_temperature_c(70);
  s->set_memory_used_bytes(10);
  s->set_memory_total_bytes(100);
  return item;
}

IngestItem ValidKernels() {
  IngestItem item;
  auto* k = item.mutable_kernel_summary();
  SetTime(k->mutable_interval_start(), kNow - absl::Seconds(10));
  SetTime(k->mutable_interval_end(), kNow);
  k->set_node("gpu-1");
  k->set_gpu("GPU-abc");
  auto* t = k->add_top_kernels();
  t->set_name("gemm");
  t->set_count(3);
  t->set_total_ms(3);
  t->set_min_ms(0.5);
  t->set_max_ms(1.5);
  return item;
}

IngestItem ValidAnnotation() {
  IngestItem item;
  auto* a = item.mutable_annotation();
  SetTime(a->mutable_timestamp(), kNow);
  a->set_entity("model:llama@v2");
  a->set_kind(candor::v1::CANARY_STARTED);
  return item;
}

struct Case {
  std::string name;
  std::function<IngestItem()> base;
  std::function<void(IngestItem&)> mutate;
  std::string field;
  RejectCode code;
};

class ValidateRuleTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateRuleTest, RejectsWithFieldAndCode) {
  const Case& c = GetParam();
  IngestItem item = c.base();
  Validator v(ValidationOptions{});
  ASSERT_FALSE(v.Validate(item, 0, kNow).has_value()) << "base item must be valid";
  c.mutate(item);
  auto reject = v.Validate(item, 7, kNow);
  ASSERT_TRUE(reject.has_value()) << c.name;
  EXPECT_EQ(reject->index(), 7u);
  EXPECT_EQ(reject->field(), c.field) << reject->reason();
  EXPECT_EQ(reject->code(), c.code) << reject->reason();
  EXPECT_FALSE(reject->reason().empty());
}

auto Ev(std::function<void(candor::v1::InferenceEvent&)> f) {
  return [f](IngestItem& i) { f(*i.mutable_inference_event()); };
}

const Case kCases[] = {
    {"missing_request_id", ValidEvent, Ev([](auto& e) { e.clear_request_id(); }),
     "inference_event.request_id", candor::v1::MISSING_FIELD},
    {"missing_timestamp", ValidEvent, Ev([](auto& e) { e.clear_timestamp(); }),
     "inference_event.timestamp", candor::v1::MISSING_FIELD},
    {"too_old", ValidEvent,
     Ev([](auto& e) { SetTime(e.mutable_timestamp(), kNow - absl::Hours(24 * 8)); }),
     "inference_event.timestamp", candor::v1::TOO_OLD},
    {"too_new", ValidEvent,
     Ev([](auto& e) { SetTime(e.mutable_timestamp(), kNow + absl::Hours(1)); }),
     "inference_event.timestamp", candor::v1::TOO_NEW},
    {"bad_nanos", ValidEvent, Ev([](auto& e) { e.mutable_timestamp()->set_nanos(-1); }),
     "inference_event.timestamp", candor::v1::INVALID_VALUE},
    {"missing_status", ValidEvent, Ev([](auto& e) { e.clear_status(); }), "inference_event.status",
     candor::v1::MISSING_FIELD},
    {"unknown_status", ValidEvent,
     Ev([](auto& e) { e.set_status(static_cast<candor::v1::Status>(42)); }),
     "inference_event.status", candor::v1::INVALID_VALUE},
    {"no_entity", ValidEvent, Ev([](auto& e) {
       e.clear_model();
       e.clear_provider();
     }),
     "inference_event.model", candor::v1::MISSING_FIELD},
    {"long_model", ValidEvent, Ev([](auto& e) { e.set_model(std::string(200, 'm')); }),
     "inference_event.model", candor::v1::TOO_LONG},
    {"bad_http", ValidEvent, Ev([](auto& e) { e.set_http_status(42); }),
     "inference_event.http_status", candor::v1::OUT_OF_RANGE},
    {"missing_latency", ValidEvent, Ev([](auto& e) { e.clear_latency_ms(); }),
     "inference_event.latency_ms", candor::v1::MISSING_FIELD},
    {"negative_latency", ValidEvent, Ev([](auto& e) { e.set_latency_ms(-1); }),
     "inference_event.latency_ms", candor::v1::OUT_OF_RANGE},
    {"nan_queue", ValidEvent, Ev([](auto& e) { e.set_queue_ms(std::nan("")); }),
     "inference_event.queue_ms", candor::v1::OUT_OF_RANGE},
    {"negative_ttft", ValidEvent, Ev([](auto& e) { e.set_ttft_ms(-5); }), "inference_event.ttft_ms",
     candor::v1::OUT_OF_RANGE},
    {"ttft_after_latency", ValidEvent, Ev([](auto& e) { e.set_ttft_ms(5000); }),
     "inference_event.ttft_ms", candor::v1::INVALID_VALUE},
    {"negative_tokens", ValidEvent, Ev([](auto& e) { e.set_output_tokens(-3); }),
     "inference_event.output_tokens", candor::v1::OUT_OF_RANGE},
    {"huge_tokens", ValidEvent, Ev([](auto& e) { e.set_input_tokens(int64_t{1} << 40); }),
     "inference_event.input_tokens", candor::v1::OUT_OF_RANGE},
    {"kv_above_one", ValidEvent, Ev([](auto& e) { e.set_kv_cache_usage(1.5); }),
     "inference_event.kv_cache_usage", candor::v1::OUT_OF_RANGE},
    {"kv_percent", ValidEvent, Ev([](auto& e) { e.set_kv_cache_usage(85); }),
     "inference_event.kv_cache_usage", candor::v1::OUT_OF_RANGE},
    {"negative_queue_depth", ValidEvent, Ev([](auto& e) { e.set_queue_depth(-1); }),
     "inference_event.queue_depth", candor::v1::OUT_OF_RANGE},
    {"fallback_tier", ValidEvent, Ev([](auto& e) { e.set_fallback_tier(9); }),
     "inference_event.fallback_tier", candor::v1::OUT_OF_RANGE},
    {"circuit_state", ValidEvent,
     Ev([](auto& e) { e.set_circuit_state(static_cast<candor::v1::CircuitState>(9)); }),
     "inference_event.circuit_state", candor::v1::INVALID_VALUE},
    {"quality_score", ValidEvent, Ev([](auto& e) { e.set_quality_score(2); }),
     "inference_event.quality_score", candor::v1::OUT_OF_RANGE},
    {"long_validation_error", ValidEvent,
     Ev([](auto& e) { e.set_validation_error(std::string(2000, 'x')); }),
     "inference_event.validation_error", candor::v1::TOO_LONG},
    {"dependency_name", ValidEvent, Ev([](auto& e) { e.mutable_dependencies(0)->clear_name(); }),
     "inference_event.dependencies[0].name", candor::v1::MISSING_FIELD},
    {"dependency_latency", ValidEvent,
     Ev([](auto& e) { e.mutable_dependencies(0)->set_latency_ms(-2); }),
     "inference_event.dependencies[0].latency_ms", candor::v1::OUT_OF_RANGE},
    {"too_many_dependencies", ValidEvent, Ev([](auto& e) {
       for (int i = 0; i < 40; ++i) *e.add_dependencies() = e.dependencies(0);
     }),
     "inference_event.dependencies", candor::v1::TOO_MANY},
    {"too_many_attributes", ValidEvent, Ev([](auto& e) {
       for (int i = 0; i < 40; ++i) (*e.mutable_attributes())[std::to_string(i)] = "v";
     }),
     "inference_event.attributes", candor::v1::TOO_MANY},
    {"long_attribute_value", ValidEvent,
     Ev([](auto& e) { (*e.mutable_attributes())["k"] = std::string(5000, 'v'); }),
     "inference_event.attributes[k]", candor::v1::TOO_LONG},
    {"replica_missing", ValidReplica,
     [](IngestItem& i) { i.mutable_replica_sample()->clear_replica(); }, "replica_sample.replica",
     candor::v1::MISSING_FIELD},
    {"replica_kv", ValidReplica,
     [](IngestItem& i) { i.mutable_replica_sample()->set_kv_cache_usage(-0.1); },
     "replica_sample.kv_cache_usage", candor::v1::OUT_OF_RANGE},
    {"replica_counter", ValidReplica,
     [](IngestItem& i) { i.mutable_replica_sample()->set_preemptions_total(-1); },
     "replica_sample.preemptions_total", candor::v1::OUT_OF_RANGE},
    {"gpu_node", ValidGpu, [](IngestItem& i) { i.mutable_gpu_sample()->clear_node(); },
     "gpu_sample.node", candor::v1::MISSING_FIELD},
    {"gpu_temperature", ValidGpu,
     [](IngestItem& i) { i.mutable_gpu_sample()->set_temperature_c(500); },
     "gpu_sample.temperature_c", candor::v1::OUT_OF_RANGE},
    {"gpu_memory", ValidGpu,
     [](IngestItem& i) { i.mutable_gpu_sample()->set_memory_used_bytes(1000); },
     "gpu_sample.memory_used_bytes", candor::v1::INVALID_VALUE},
    {"kernel_interval", ValidKernels,
     [](IngestItem& i) {
       SetTime(i.mutable_kernel_summary()->mutable_interval_end(), kNow - absl::Seconds(20));
     },
     "kernel_summary.interval_end", candor::v1::INVALID_VALUE},
    {"kernel_min_max", ValidKernels,
     [](IngestItem& i) { i.mutable_kernel_summary()->mutable_top_kernels(0)->set_min_ms(9); },
     "kernel_summary.top_kernels[0].min_ms", candor::v1::INVALID_VALUE},
    {"kernel_too_many", ValidKernels,
     [](IngestItem& i) {
       auto* k = i.mutable_kernel_summary();
       for (int j = 0; j < 70; ++j) *k->add_top_kernels() = k->top_kernels(0);
     },
     "kernel_summary.top_kernels", candor::v1::TOO_MANY},
    {"annotation_entity", ValidAnnotation,
     [](IngestItem& i) { i.mutable_annotation()->set_entity("planet:earth"); }, "annotation.entity",
     candor::v1::INVALID_VALUE},
    {"annotation_kind", ValidAnnotation,
     [](IngestItem& i) { i.mutable_annotation()->clear_kind(); }, "annotation.kind",
     candor::v1::MISSING_FIELD},
    {"empty_item", ValidAnnotation, [](IngestItem& i) { i.Clear(); }, "item",
     candor::v1::EMPTY_ITEM},
};

INSTANTIATE_TEST_SUITE_P(AllRules, ValidateRuleTest, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(ValidateTest, RejectedAndCancelledNeedNoLatency) {
  Validator v(ValidationOptions{});
  IngestItem item = ValidEvent();
  item.mutable_inference_event()->clear_latency_ms();
  item.mutable_inference_event()->clear_ttft_ms();
  item.mutable_inference_event()->set_status(candor::v1::REJECTED);
  EXPECT_FALSE(v.Validate(item, 0, kNow).has_value());
}

TEST(ValidateTest, TimeWindowCanBeDisabledForReplay) {
  ValidationOptions options;
  options.check_time_window = false;
  Validator v(options);
  IngestItem item = ValidEvent();
  SetTime(item.mutable_inference_event()->mutable_timestamp(), kNow - absl::Hours(24 * 365));
  EXPECT_FALSE(v.Validate(item, 0, kNow).has_value());
}

TEST(ValidateTest, ItemTimeUsesIntervalEndForKernels) {
  EXPECT_EQ(ItemTime(ValidKernels()), kNow);
  EXPECT_EQ(ItemTime(ValidEvent()), kNow - absl::Seconds(5));
}

}  // namespace
}  // namespace candor::collector
