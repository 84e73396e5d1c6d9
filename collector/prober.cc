#include "collector/prober.h"

#include <re2/re2.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

using nlohmann::json;
constexpr size_t kMaxOutput = 64u << 10;
constexpr int kMaxSchemaDepth = 32;

std::string TypeName(const json& j) {
  if (j.is_object()) return "object";
  if (j.is_array()) return "array";
  if (j.is_string()) return "string";
  if (j.is_boolean()) return "boolean";
  if (j.is_null()) return "null";
  if (j.is_number_integer() || j.is_number_unsigned()) return "integer";
  return "number";
}

bool HasType(const json& j, const std::string& type) {
  if (type == "number") return j.is_number();
  if (type == "integer") {
    return j.is_number_integer() || j.is_number_unsigned() ||
           (j.is_number_float() && std::floor(j.get<double>()) == j.get<double>());
  }
  return TypeName(j) == type;
}

std::string Check(const json& schema, const json& doc, const std::string& path, int depth) {
  if (depth > kMaxSchemaDepth) return absl::StrCat(path, ": nested deeper than the schema allows");
  if (!schema.is_object()) return "";
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string wanted;
    if (t->is_string()) {
      wanted = t->get<std::string>();
      ok = HasType(doc, wanted);
    } else if (t->is_array()) {
      for (const json& one : *t) {
        if (!one.is_string()) continue;
        absl::StrAppend(&wanted, wanted.empty() ? "" : " or ", one.get<std::string>());
        ok = ok || HasType(doc, one.get<std::string>());
      }
    }
    if (!ok) return absl::StrCat(path, ": expected ", wanted, ", got ", TypeName(doc));
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (const json& v : *e) found = found || v == doc;
    if (!found) return absl::StrCat(path, ": value ", doc.dump(), " is not one of ", e->dump());
  }
  if (doc.is_string()) {
    const size_t len = doc.get_ref<const std::string&>().size();
    if (auto m = schema.find("minLength");
        m != schema.end() && m->is_number() && static_cast<double>(len) < m->get<double>()) {
      return absl::StrCat(path, ": shorter than ", m->dump());
    }
    if (auto m = schema.find("maxLength");
        m != schema.end() && m->is_number() && static_cast<double>(len) > m->get<double>()) {
      return absl::StrCat(path, ": longer than ", m->dump());
    }
  }
  if (doc.is_number()) {
    const double v = doc.get<double>();
    if (auto m = schema.find("minimum");
        m != schema.end() && m->is_number() && v < m->get<double>()) {
      return absl::StrCat(path, ": ", doc.dump(), " is below ", m->dump());
    }
    if (auto m = schema.find("maximum");
        m != schema.end() && m->is_number() && v > m->get<double>()) {
      return absl::StrCat(path, ": ", doc.dump(), " is above ", m->dump());
    }
  }
  if (doc.is_object()) {
    if (auto r = schema.find("required"); r != schema.end() && r->is_array()) {
      for (const json& name : *r) {
        if (name.is_string() && !doc.contains(name.get<std::string>())) {
          return absl::StrCat(path, ": missing property \"", name.get<std::string>(), "\"");
        }
      }
    }
    auto props = schema.find("properties");
    const bool closed = schema.contains("additionalProperties") &&
                        schema["additionalProperties"].is_boolean() &&
                        !schema["additionalProperties"].get<bool>();
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string child = absl::StrCat(path, ".", it.key());
      if (props != schema.end() && props->is_object() && props->contains(it.key())) {
        std::string err = Check((*props)[it.key()], it.value(), child, depth + 1);
        if (!err.empty()) return err;
      } else if (closed) {
        return absl::StrCat(child, ": property not allowed");
      }
    }
  }
  if (doc.is_array()) {
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < doc.size(); ++i) {
        std::string err = Check(*items, doc[i], absl::StrCat(path, "[", i, "]"), depth + 1);
        if (!err.empty()) return err;
      }
    }
  }
  return "";
}

// Models often wrap JSON in a Markdown code fence; the content inside is what is checked.
std::string StripCodeFence(std::string text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text.compare(first, 3, "```") != 0) return text;
  const size_t body = text.find('\n', first);
  const size_t end = text.rfind("```");
  if (body == std::string::npos || end == std::string::npos || end <= body) return text;
  return text.substr(body + 1, end - body - 1);
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns / 1'000'000'000);
  ts.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return ts;
}

// Incremental parser of an OpenAI-style server-sent-event stream.
class SseReader {
 public:
  // Feeds bytes; returns false with `error()` set on a malformed event.
  bool Feed(std::string_view chunk) {
    buffer_.append(chunk);
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!Line(line)) return false;
    }
    if (buffer_.size() > kMaxOutput) return Fail("an event line longer than 64 KiB");
    return true;
  }
  bool Finish() { return buffer_.empty() || Line(buffer_); }

  bool saw_content() const { return saw_content_; }
  bool done() const { return done_; }
  const std::string& output() const { return output_; }
  const std::string& error() const { return error_; }
  std::optional<int64_t> completion_tokens, prompt_tokens;
  int content_chunks = 0;

 private:
  bool Fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  bool Line(std::string_view line) {
    if (!line.starts_with("data:")) return true;  // Comments, event names, ids, blank lines.
    line.remove_prefix(5);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line == "[DONE]") {
      done_ = true;
      return true;
    }
    const json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object()) {
      return Fail(absl::StrCat("event is not a JSON object: ", Sv(line.substr(0, 120))));
    }
    if (auto err = event.find("error"); err != event.end()) {
      return Fail(absl::StrCat("server reported an error: ", err->dump().substr(0, 200)));
    }
    if (auto usage = event.find("usage"); usage != event.end() && usage->is_object()) {
      if (auto c = usage->find("completion_tokens"); c != usage->end() && c->is_number_integer())
        completion_tokens = c->get<int64_t>();
      if (auto p = usage->find("prompt_tokens"); p != usage->end() && p->is_number_integer())
        prompt_tokens = p->get<int64_t>();
    }
    auto choices = event.find("choices");
    if (choices == event.end()) return true;
    if (!choices->is_array()) return Fail("\"choices\" is not an array");
    for (const json& choice : *choices) {
      if (!choice.is_object()) return Fail("a choice is not an object");
      auto delta = choice.find("delta");
      if (delta == choice.end()) delta = choice.find("message");
      if (delta == choice.end() || !delta->is_object()) continue;
      auto content = delta->find("content");
      if (content == delta->end() || content->is_null()) continue;
      if (!content->is_string()) return Fail("\"content\" is not a string");
      const std::string& text = content->get_ref<const std::string&>();
      if (text.empty()) continue;
      saw_content_ = true;
      ++content_chunks;
      output_.append(text.substr(0, kMaxOutput - std::min(kMaxOutput, output_.size())));
    }
    return true;
  }

  std::string buffer_;
  std::string output_;
  std::string error_;
  bool saw_content_ = false;
  bool done_ = false;
};

}  // namespace

std::string CheckJsonSchema(const std::string& schema, const std::string& document) {
  const json s = json::parse(schema, nullptr, false);
  if (s.is_discarded()) return "the schema is not valid JSON";
  const json d = json::parse(StripCodeFence(document), nullptr, false);
  if (d.is_discarded()) return "the answer is not valid JSON";
  return Check(s, d, "$", 0);
}

struct Prober::Target {
  ProbeTarget config;
  std::string endpoint;
  std::unique_ptr<RE2> regex;
  absl::Time next_due = absl::InfinitePast();
  Gauge* success = nullptr;
  Gauge* ttft = nullptr;
  Gauge* duration = nullptr;
  MetricsRegistry* metrics = nullptr;
  Counter* Failures(std::string_view reason) {
    return &metrics->GetCounter("candor_probe_failures_total", "Probes that failed, by reason.",
                                {{"target", config.name}, {"reason", std::string(reason)}});
  }
};

Prober::Prober(BatchProcessor& processor, HttpFetcher& fetcher, Clock& clock)
    : processor_(processor), fetcher_(fetcher), clock_(clock) {}
Prober::~Prober() = default;

size_t Prober::num_targets() const { return targets_.size(); }

absl::StatusOr<std::unique_ptr<Prober>> Prober::Create(std::vector<ProbeTarget> targets,
                                                       BatchProcessor& processor,
                                                       HttpFetcher& fetcher,
                                                       MetricsRegistry& metrics, Clock& clock) {
  auto prober = std::unique_ptr<Prober>(new Prober(processor, fetcher, clock));
  for (ProbeTarget& config : targets) {
    auto t = std::make_unique<Target>();
    if (config.name.empty()) config.name = config.url;
    const std::string where = absl::StrCat("probe target \"", config.name, "\": ");
    if (!config.url.starts_with("http://") && !config.url.starts_with("https://")) {
      return absl::InvalidArgumentError(absl::StrCat(where, "url must be http(s)://…"));
    }
    if (config.model.empty()) return absl::InvalidArgumentError(absl::StrCat(where, "no model"));
    if (config.interval <= absl::ZeroDuration() || config.timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "interval and timeout must be positive"));
    }
    if (!config.expect_regex.empty()) {
      RE2::Options options;
      options.set_log_errors(false);
      t->regex = std::make_unique<RE2>(config.expect_regex, options);
      if (!t->regex->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "expect_regex does not compile: ", t->regex->error()));
      }
    }
    if (!config.expect_json_schema.empty() &&
        json::parse(config.expect_json_schema, nullptr, false).is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "expect_json_schema is not JSON"));
    }
    if (config.route.empty()) config.route = "synthetic-probe";
    std::string base = config.url;
    while (base.ends_with("/")) base.pop_back();
    t->endpoint =
        base.ends_with("/v1/chat/completions") ? base : absl::StrCat(base, "/v1/chat/completions");
    t->config = std::move(config);
    const std::vector<Label> labels = {{"target", t->config.name}};
    t->success = &metrics.GetGauge("candor_probe_success", "1 when the last probe passed.", labels);
    t->ttft = &metrics.GetGauge("candor_probe_ttft_seconds",
                                "Time to the first token of the last probe.", labels);
    t->duration =
        &metrics.GetGauge("candor_probe_duration_seconds", "Total time of the last probe.", labels);
    t->metrics = &metrics;
    prober->targets_.push_back(std::move(t));
  }
  return prober;
}

ProbeResult Prober::Probe(Target& t) {
  const ProbeTarget& c = t.config;
  ProbeResult result;
  candor::v1::InferenceEvent& e = result.event;
  const absl::Time wall_start = clock_.Now();
  const absl::Time start = clock_.MonotonicNow();
  e.set_request_id(absl::StrCat("probe-", c.name.substr(0, 80), "-", absl::ToUnixMillis(wall_start),
                                "-", ++sequence_));
  *e.mutable_timestamp() = ToProto(wall_start);
  e.set_provider(c.provider);
  e.set_region(c.region);
  e.set_zone(c.zone);
  e.set_node(c.node);
  e.set_replica(c.replica);
  e.set_route(c.route);
  e.set_model(c.model);
  e.set_model_version(c.model_version);
  e.set_priority("critical");
  e.set_synthetic(true);
  (*e.mutable_attributes())["probe"] = c.name.substr(0, 1024);

  json body = {{"model", c.model},
               {"stream", true},
               {"max_tokens", c.max_tokens},
               {"temperature", 0},
               {"stream_options", {{"include_usage", true}}},
               {"messages", json::array({{{"role", "user"}, {"content", c.prompt}}})}};
  FetchRequest req;
  req.method = "POST";
  req.url = t.endpoint;
  req.body = body.dump();
  req.timeout = c.timeout;
  req.max_body_bytes = 4u << 20;
  req.ca_file = c.ca_file;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!c.bearer_token.empty()) {
    req.headers.emplace_back("Authorization", absl::StrCat("Bearer ", c.bearer_token));
  }
  SseReader sse;
  std::optional<absl::Time> first_token;
  std::string error_body;
  absl::StatusOr<FetchResponse> resp = fetcher_.Fetch(req, [&](std::string_view chunk) {
    if (error_body.size() < 512) error_body.append(chunk.substr(0, 512 - error_body.size()));
    if (!sse.Feed(chunk)) return absl::DataLossError(sse.error());
    if (sse.saw_content() && !first_token) first_token = clock_.MonotonicNow();
    return absl::OkStatus();
  });
  const absl::Time end = clock_.MonotonicNow();
  e.set_latency_ms(absl::ToDoubleMilliseconds(end - start));
  if (first_token) e.set_ttft_ms(absl::ToDoubleMilliseconds(*first_token - start));

  std::string reason;  // Why the probe failed; empty when it passed.
  if (!resp.ok()) {
    const absl::StatusCode code = resp.status().code();
    e.set_status(code == absl::StatusCode::kDeadlineExceeded ? candor::v1::TIMEOUT
                                                             : candor::v1::ERROR);
    reason = code == absl::StatusCode::kDeadlineExceeded    ? "timeout"
             : code == absl::StatusCode::kDataLoss          ? "malformed_stream"
             : code == absl::StatusCode::kResourceExhausted ? "oversize"
                                                            : "unreachable";
    e.set_error_class(reason);
    e.set_validation_error(std::string(resp.status().message()).substr(0, 1024));
  } else {
    e.set_http_status(static_cast<uint32_t>(resp->status));
    if (resp->status == 429) {
      e.set_status(candor::v1::REJECTED);
      reason = "http_429";
    } else if (resp->status >= 400) {
      e.set_status(candor::v1::ERROR);
      reason = absl::StrCat("http_", resp->status / 100, "xx");
      e.set_validation_error(error_body.substr(0, 1024));
    } else if (!sse.Finish()) {
      e.set_status(candor::v1::ERROR);
      reason = "malformed_stream";
      e.set_validation_error(sse.error().substr(0, 1024));
    } else if (!sse.saw_content()) {
      e.set_status(candor::v1::ERROR);
      reason = "empty_answer";
      e.set_validation_error("the stream carried no content");
    } else {
      e.set_status(candor::v1::OK);
    }
    if (!reason.empty()) e.set_error_class(reason);
  }
  result.output = sse.output();
  if (sse.completion_tokens) {
    e.set_output_tokens(*sse.completion_tokens);
  } else if (sse.content_chunks > 0) {
    e.set_output_tokens(sse.content_chunks);
  }
  if (sse.prompt_tokens) e.set_input_tokens(*sse.prompt_tokens);
  if (e.status() == candor::v1::OK) {
    std::string mismatch;
    if (t.regex && !RE2::PartialMatch(result.output, *t.regex)) {
      mismatch = absl::StrCat("answer does not match /", c.expect_regex, "/");
    } else if (!c.expect_json_schema.empty()) {
      mismatch = CheckJsonSchema(c.expect_json_schema, result.output);
    }
    const bool checked = t.regex != nullptr || !c.expect_json_schema.empty();
    e.set_validation(!checked           ? candor::v1::NOT_CHECKED
                     : mismatch.empty() ? candor::v1::PASSED
                                        : candor::v1::FAILED);
    if (!mismatch.empty()) {
      reason = "validation";
      e.set_validation_error(mismatch.substr(0, 1024));
    }
  }
  t.success->Set(reason.empty() ? 1 : 0);
  t.duration->Set(e.latency_ms() / 1000.0);
  if (e.has_ttft_ms()) t.ttft->Set(e.ttft_ms() / 1000.0);
  if (!reason.empty()) t.Failures(reason)->Increment();
  return result;
}

ProbeResult Prober::ProbeNow(size_t index) {
  Target& t = *targets_.at(index);
  ProbeResult result = Probe(t);
  candor::v1::IngestBatch batch;
  *batch.add_items()->mutable_inference_event() = result.event;
  const candor::v1::IngestAck ack = processor_.Process(batch);
  if (ack.code() != 0 || ack.rejects_size() > 0) {
    CANDOR_LOG_WARN("probe", "probe result not stored",
                    {{"target", t.config.name},
                     {"error", ack.rejects_size() > 0 ? ack.rejects(0).reason() : ack.message()}});
  }
  return result;
}

int Prober::RunOnce() {
  int probed = 0;
  for (size_t i = 0; i < targets_.size(); ++i) {
    Target& t = *targets_[i];
    const absl::Time now = clock_.MonotonicNow();
    if (now < t.next_due) continue;
    t.next_due = t.next_due == absl::InfinitePast() || now - t.next_due > t.config.interval
                     ? now + t.config.interval
                     : t.next_due + t.config.interval;
    ProbeNow(i);
    ++probed;
  }
  return probed;
}

}  // namespace candor::collector
