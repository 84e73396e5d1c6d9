// Ingest load benchmark: N concurrent gRPC streams of realistic inference events (plus a
// share of server and GPU samples) against a real `candor serve` on loopback, with durable
// (fsync'd) acknowledgements. Reports sustained events/s and samples/s, P50/P99/max ack
// latency, the server's CPU per item and its resident memory over time, refusals
// (RESOURCE_EXHAUSTED), and — after a clean shutdown — whether every acknowledged event is in
// the event log.
//
//   ingest_load [--streams=8] [--seconds=30] [--batch=500] [--in-flight=4]
//               [--rate=0 (events/s offered; 0: as fast as acks allow)]
//               [--sample-share=0.05] [--serve-flag=--grpc.max-queued-batches=64 ...]
//               [--verify=true] [--timeline (per-second ack counts and latencies)]

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/sync_stream.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.pb.h"
#include "common/clock.h"
#include "store/event_log.h"
#include "tests/integration/daemon_harness.h"
#include "tests/testing/subprocess.h"

namespace candor::bench {
namespace {

struct Flags {
  int streams = 8;
  int seconds = 30;
  int batch = 500;
  int in_flight = 4;
  double rate = 0;
  double sample_share = 0.05;
  bool verify = true;
  bool timeline = false;
  std::vector<std::string> serve_flags;
};

constexpr int kIdDigits = 15;

// One pre-encoded batch whose request ids are rewritten in place before each send.
struct Template {
  std::string bytes;
  std::vector<size_t> id_offsets;  // Where each event's 15 id digits start.
  int samples = 0;                 // Replica and GPU samples in the batch.
  int klass = 1;                   // 0 low, 1 normal, 2 critical (its admission class).
};

constexpr const char* kClassNames[] = {"low", "normal", "critical"};

candor::v1::IngestItem MakeEvent(std::mt19937& rng, absl::Time now, const char* priority) {
  static const char* kProviders[] = {"aws", "gcp", "coreweave"};
  static const char* kModels[] = {"llama-3-70b", "llama-3-8b", "qwen-2.5-7b", "mixtral-8x7b",
                                  "gpt-oss-20b"};
  static const char* kRoutes[] = {"chat",    "search",   "summarise", "code",   "agent",
                                  "extract", "classify", "translate", "rerank", "embed"};
  static const char* kDeps[] = {"vector-db", "feature-store", "auth", "cache"};
  std::uniform_int_distribution<int> pick(0, 1 << 30);
  std::lognormal_distribution<double> latency(6.5, 0.6);
  candor::v1::IngestItem item;
  auto* e = item.mutable_inference_event();
  e->set_request_id(absl::StrCat("r", std::string(kIdDigits, '0')));
  e->set_trace_id(absl::StrCat("t", pick(rng), "-", pick(rng)));
  const absl::Time start = now - absl::Milliseconds(pick(rng) % 60'000);
  e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(start));
  e->mutable_timestamp()->set_nanos(static_cast<int32_t>(pick(rng) % 1'000'000'000));
  const int provider = pick(rng) % 3;
  const int node = pick(rng) % 50;
  e->set_provider(kProviders[provider]);
  e->set_region(provider == 0 ? "us-east-1" : provider == 1 ? "europe-west4" : "us-central");
  e->set_zone(absl::StrCat(e->region(), "a"));
  e->set_node(absl::StrCat("gpu-node-", node));
  e->set_gpu(absl::StrCat("GPU-", node, "-", pick(rng) % 8));
  e->set_replica(absl::StrCat("replica-", pick(rng) % 100));
  e->set_route(kRoutes[pick(rng) % 10]);
  e->set_tenant(absl::StrCat("tenant-", pick(rng) % 200));
  e->set_priority(priority);
  e->set_model(kModels[pick(rng) % 5]);
  e->set_model_version(absl::StrCat("v", 180 + pick(rng) % 5));
  e->set_release_track(pick(rng) % 20 == 0 ? "canary" : "stable");
  const int outcome = pick(rng) % 100;
  e->set_status(outcome < 96   ? candor::v1::OK
                : outcome < 98 ? candor::v1::ERROR
                               : candor::v1::TIMEOUT);
  e->set_http_status(outcome < 96 ? 200 : outcome < 98 ? 500 : 504);
  const double total = std::min(latency(rng), 600'000.0);
  e->set_latency_ms(total);
  e->set_ttft_ms(total * 0.15);
  e->set_queue_ms(total * 0.05);
  e->set_input_tokens(64 + pick(rng) % 4000);
  e->set_output_tokens(16 + pick(rng) % 800);
  e->set_max_output_tokens(1024);
  e->set_context_window(8192);
  e->set_queue_depth(pick(rng) % 20);
  e->set_running_requests(pick(rng) % 64);
  e->set_kv_cache_usage((pick(rng) % 1000) / 1000.0);
  e->set_batch_size(pick(rng) % 64);
  if (pick(rng) % 100 < 3) {
    e->set_fallback_tier(1);
    e->set_fallback_reason("timeout");
  }
  e->set_validation(candor::v1::PASSED);
  for (int d = pick(rng) % 3; d > 0; --d) {
    auto* dep = e->add_dependencies();
    dep->set_name(kDeps[pick(rng) % 4]);
    dep->set_latency_ms((pick(rng) % 5000) / 100.0);
    dep->set_status(candor::v1::OK);
  }
  if (pick(rng) % 2 == 0) (*e->mutable_attributes())["session"] = absl::StrCat(pick(rng));
  return item;
}

candor::v1::IngestItem MakeSample(std::mt19937& rng, absl::Time now) {
  std::uniform_int_distribution<int> pick(0, 1 << 30);
  candor::v1::IngestItem item;
  const int node = pick(rng) % 50;
  if (pick(rng) % 2 == 0) {
    auto* r = item.mutable_replica_sample();
    r->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(now));
    r->set_provider("aws");
    r->set_node(absl::StrCat("gpu-node-", node));
    r->set_replica(absl::StrCat("replica-", pick(rng) % 100));
    r->set_model("llama-3-70b");
    r->set_engine("vllm");
    r->set_queue_depth(pick(rng) % 20);
    r->set_running_requests(pick(rng) % 64);
    r->set_kv_cache_usage((pick(rng) % 1000) / 1000.0);
    r->set_preemptions_total(pick(rng) % 1000);
    r->set_generation_tokens_total(pick(rng));
  } else {
    auto* g = item.mutable_gpu_sample();
    g->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(now));
    g->set_node(absl::StrCat("gpu-node-", node));
    g->set_gpu(absl::StrCat("GPU-", node, "-", pick(rng) % 8));
    g->set_sm_clock_mhz(1410 + pick(rng) % 570);
    g->set_max_sm_clock_mhz(1980);
    g->set_temperature_c(50 + pick(rng) % 40);
    g->set_power_w(300 + pick(rng) % 400);
    g->set_utilization((pick(rng) % 100) / 100.0);
  }
  return item;
}

// Producers batch by priority: one batch in ten carries `critical` events and every server
// and GPU sample, one in ten `batch`-priority events, the rest `normal` events.
std::vector<Template> MakeTemplates(const Flags& f, absl::Time now) {
  std::mt19937 rng(42);
  std::vector<Template> out;
  for (int t = 0; t < 60; ++t) {
    candor::v1::IngestBatch batch;
    Template tmpl;
    tmpl.klass = t % 10 == 0 ? 2 : t % 10 == 9 ? 0 : 1;
    const char* priority = tmpl.klass == 2 ? "critical" : tmpl.klass == 0 ? "batch" : "normal";
    const double sample_share = tmpl.klass == 2 ? std::min(1.0, f.sample_share * 10) : 0;
    for (int i = 0; i < f.batch; ++i) {
      const bool sample = (rng() % 10'000) < static_cast<uint32_t>(sample_share * 10'000);
      *batch.add_items() = sample ? MakeSample(rng, now) : MakeEvent(rng, now, priority);
      tmpl.samples += sample ? 1 : 0;
    }
    tmpl.bytes = batch.SerializeAsString();
    const std::string placeholder = absl::StrCat("r", std::string(kIdDigits, '0'));
    for (size_t at = tmpl.bytes.find(placeholder); at != std::string::npos;
         at = tmpl.bytes.find(placeholder, at + 1)) {
      tmpl.id_offsets.push_back(at + 1);
    }
    out.push_back(std::move(tmpl));
  }
  return out;
}

void WriteId(std::string& bytes, size_t offset, uint64_t id) {
  for (int d = kIdDigits - 1; d >= 0; --d) {
    bytes[offset + static_cast<size_t>(d)] = static_cast<char>('0' + id % 10);
    id /= 10;
  }
}

struct Totals {
  absl::Mutex mu;
  std::vector<double> ack_ms ABSL_GUARDED_BY(mu);
  std::vector<absl::Time> ack_at ABSL_GUARDED_BY(mu);  // When each ack_ms arrived.
  std::vector<std::pair<uint64_t, uint64_t>> acked_ids ABSL_GUARDED_BY(mu);  // [first, end)
  int64_t events ABSL_GUARDED_BY(mu) = 0;
  int64_t samples ABSL_GUARDED_BY(mu) = 0;
  int64_t refused ABSL_GUARDED_BY(mu) = 0;
  std::array<int64_t, 3> sent_by_class ABSL_GUARDED_BY(mu) = {};
  std::array<int64_t, 3> refused_by_class ABSL_GUARDED_BY(mu) = {};
  int64_t rejected_items ABSL_GUARDED_BY(mu) = 0;
  int64_t other_errors ABSL_GUARDED_BY(mu) = 0;
};

struct Sent {
  absl::Time at;
  uint64_t first_id;
  int events;
  int samples;
  int klass;
};

// One stream: a writer keeping `in_flight` batches outstanding (paced when a rate is set) and
// a reader matching acks to sends in order.
void RunStream(const Flags& f, grpc::Channel& channel, const std::vector<Template>& pool, int index,
               std::atomic<uint64_t>& next_id, absl::Time end, Clock& clock, Totals& totals) {
  // Raw bytes both ways, so the client spends no CPU re-encoding batches.
  grpc::ClientContext context;
  const grpc::internal::RpcMethod method("/candor.v1.Ingest/Stream",
                                         grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
          &channel, method, &context));
  absl::Mutex mu;
  std::deque<Sent> pending;
  bool writer_done = false;
  std::thread reader([&] {
    candor::v1::IngestAck ack;
    grpc::ByteBuffer raw;
    while (stream->Read(&raw)) {
      std::vector<grpc::Slice> slices;
      std::string ack_bytes;
      if (raw.Dump(&slices).ok()) {
        for (const grpc::Slice& sl : slices) {
          ack_bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
        }
      }
      ack.ParseFromString(ack_bytes);
      Sent s;
      {
        absl::MutexLock lock(&mu);
        s = pending.front();
        pending.pop_front();
      }
      const absl::Time now = clock.MonotonicNow();
      absl::MutexLock lock(&totals.mu);
      ++totals.sent_by_class[static_cast<size_t>(s.klass)];
      if (ack.code() == 0) {
        totals.ack_ms.push_back(absl::ToDoubleMilliseconds(now - s.at));
        totals.ack_at.push_back(now);
        totals.events += ack.accepted() - static_cast<uint32_t>(s.samples);
        totals.samples += s.samples;
        totals.rejected_items += ack.rejects_size();
        if (ack.rejects_size() == 0)
          totals.acked_ids.emplace_back(s.first_id, s.first_id + static_cast<uint64_t>(s.events));
      } else if (ack.code() == static_cast<int>(absl::StatusCode::kResourceExhausted)) {
        ++totals.refused;
        ++totals.refused_by_class[static_cast<size_t>(s.klass)];
      } else {
        ++totals.other_errors;
      }
    }
  });
  std::string bytes;
  size_t turn = static_cast<size_t>(index);
  const double per_stream_rate = f.rate / f.streams;
  absl::Time next_send = clock.MonotonicNow();
  while (clock.MonotonicNow() < end) {
    {
      absl::MutexLock lock(&mu);
      auto room = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return pending.size() < static_cast<size_t>(f.in_flight);
      };
      clock.AwaitWithDeadline(&mu, absl::Condition(&room), end);
      if (!room()) break;
    }
    if (per_stream_rate > 0) {
      absl::Mutex wait_mu;
      absl::MutexLock lock(&wait_mu);
      bool never = false;
      clock.AwaitWithDeadline(&wait_mu, absl::Condition(&never), next_send);
      next_send += absl::Seconds(f.batch / per_stream_rate);
    }
    const Template& t = pool[turn++ % pool.size()];
    bytes = t.bytes;
    const uint64_t first = next_id.fetch_add(t.id_offsets.size());
    for (size_t i = 0; i < t.id_offsets.size(); ++i) WriteId(bytes, t.id_offsets[i], first + i);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    {
      absl::MutexLock lock(&mu);
      pending.push_back(
          {clock.MonotonicNow(), first, static_cast<int>(t.id_offsets.size()), t.samples, t.klass});
    }
    if (!stream->Write(buffer)) break;
  }
  {
    absl::MutexLock lock(&mu);
    writer_done = true;
  }
  stream->WritesDone();
  reader.join();
  (void)writer_done;
  (void)stream->Finish();
}

struct ProcStat {
  double cpu_seconds = 0;
  int64_t rss_kib = 0;
  int64_t hwm_kib = 0;
};

ProcStat ReadProc(pid_t pid) {
  ProcStat s;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) s.rss_kib = std::stoll(line.substr(6));
    if (line.starts_with("VmHWM:")) s.hwm_kib = std::stoll(line.substr(6));
  }
  return s;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    const std::string key = a.substr(0, eq);
    const std::string v = eq == std::string::npos ? "" : a.substr(eq + 1);
    bool ok = true;
    if (key == "--streams")
      ok = absl::SimpleAtoi(v, &f.streams);
    else if (key == "--seconds")
      ok = absl::SimpleAtoi(v, &f.seconds);
    else if (key == "--batch")
      ok = absl::SimpleAtoi(v, &f.batch);
    else if (key == "--in-flight")
      ok = absl::SimpleAtoi(v, &f.in_flight);
    else if (key == "--rate")
      ok = absl::SimpleAtod(v, &f.rate);
    else if (key == "--sample-share")
      ok = absl::SimpleAtod(v, &f.sample_share);
    else if (key == "--verify")
      f.verify = v != "false";
    else if (key == "--timeline")
      f.timeline = v != "false";
    else if (key == "--serve-flag")
      f.serve_flags.push_back(v);
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr, "ingest_load: bad argument %s\n", a.c_str());
      return 2;
    }
  }
  RealClock clock;
  testing::TempDir dir;
  std::vector<std::string> serve;
  for (const std::string& s : f.serve_flags) serve.push_back(s);
  auto daemon = testing::StartDaemon(dir.path() + "/data", serve);
  if (!daemon.ok()) {
    std::fprintf(stderr, "cannot start candor serve: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  const pid_t pid = daemon->process->pid();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < std::max(1, f.streams / 4); ++c) {
    args.SetInt("candor.bench.channel", c);  // Distinct channels get distinct connections.
    channels.push_back(
        grpc::CreateCustomChannel(daemon->grpc_address, grpc::InsecureChannelCredentials(), args));
  }
  const std::vector<Template> pool = MakeTemplates(f, clock.Now());
  std::printf(
      "ingest_load: %d streams x %d in flight, batches of %d items (%.0f%% samples), "
      "%ds, offered rate %s\n",
      f.streams, f.in_flight, f.batch, f.sample_share * 100, f.seconds,
      f.rate > 0 ? absl::StrCat(f.rate, " events/s").c_str() : "unbounded (closed loop)");

  Totals totals;
  std::atomic<uint64_t> next_id{1};
  const ProcStat before = ReadProc(pid);
  struct rusage self_before;
  getrusage(RUSAGE_SELF, &self_before);
  const absl::Time start = clock.MonotonicNow();
  const absl::Time end = start + absl::Seconds(f.seconds);
  std::vector<std::thread> threads;
  for (int s = 0; s < f.streams; ++s) {
    threads.emplace_back([&, s] {
      RunStream(f, *channels[static_cast<size_t>(s) % channels.size()], pool, s, next_id, end,
                clock, totals);
    });
  }
  std::vector<int64_t> rss_over_time;
  {
    absl::Mutex mu;
    absl::MutexLock lock(&mu);
    bool never = false;
    for (absl::Time t = start + absl::Seconds(1); t <= end; t += absl::Seconds(1)) {
      clock.AwaitWithDeadline(&mu, absl::Condition(&never), t);
      rss_over_time.push_back(ReadProc(pid).rss_kib);
    }
  }
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(clock.MonotonicNow() - start);
  const ProcStat after = ReadProc(pid);
  struct rusage self_after;
  getrusage(RUSAGE_SELF, &self_after);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  const double client_cpu = tv(self_after.ru_utime) + tv(self_after.ru_stime) -
                            tv(self_before.ru_utime) - tv(self_before.ru_stime);

  absl::MutexLock lock(&totals.mu);
  const double items = static_cast<double>(totals.events + totals.samples);
  std::printf("acked: %" PRId64 " events, %" PRId64 " samples in %.1fs\n", totals.events,
              totals.samples, elapsed);
  std::printf("sustained: %.0f events/s, %.0f samples/s, %.0f items/s\n",
              static_cast<double>(totals.events) / elapsed,
              static_cast<double>(totals.samples) / elapsed, items / elapsed);
  if (f.timeline) {
    // Per second of the run: acks received, their median and worst latency.
    std::vector<std::vector<double>> per_second(static_cast<size_t>(f.seconds) + 2);
    for (size_t i = 0; i < totals.ack_ms.size(); ++i) {
      const auto sec =
          static_cast<size_t>(std::max<int64_t>(0, absl::ToInt64Seconds(totals.ack_at[i] - start)));
      per_second[std::min(sec, per_second.size() - 1)].push_back(totals.ack_ms[i]);
    }
    for (size_t sec = 0; sec < per_second.size(); ++sec) {
      std::vector<double>& v = per_second[sec];
      if (v.empty()) continue;
      std::printf("timeline: second %zu acks %zu p50 %.1f ms max %.1f ms\n", sec, v.size(),
                  Percentile(v, 0.5), *std::max_element(v.begin(), v.end()));
    }
  }
  std::vector<double>& lat = totals.ack_ms;
  const size_t batches = lat.size();
  const double p50 = Percentile(lat, 0.50), p99 = Percentile(lat, 0.99),
               pmax = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  std::printf(
      "ack latency (per batch, durable): p50 %.1f ms, p99 %.1f ms, max %.1f ms over %zu "
      "batches\n",
      p50, p99, pmax, batches);
  std::printf("refused (RESOURCE_EXHAUSTED): %" PRId64 " batches; item rejects %" PRId64
              "; other errors %" PRId64 "\n",
              totals.refused, totals.rejected_items, totals.other_errors);
  std::printf("refused by class (refused/sent batches):");
  for (size_t c = 0; c < 3; ++c) {
    std::printf(" %s %" PRId64 "/%" PRId64, kClassNames[c], totals.refused_by_class[c],
                totals.sent_by_class[c]);
  }
  std::printf("\n");
  std::printf("server CPU: %.2f s (%.2f cores), %.2f us per item; client CPU %.2f s\n",
              after.cpu_seconds - before.cpu_seconds,
              (after.cpu_seconds - before.cpu_seconds) / elapsed,
              items > 0 ? (after.cpu_seconds - before.cpu_seconds) / items * 1e6 : 0, client_cpu);
  std::printf("server RSS: peak %.1f MiB; at 25/50/75/100%% of the run:",
              static_cast<double>(after.hwm_kib) / 1024.0);
  for (double q : {0.25, 0.5, 0.75, 1.0}) {
    if (rss_over_time.empty()) break;
    const size_t k = std::min(rss_over_time.size() - 1,
                              static_cast<size_t>(q * static_cast<double>(rss_over_time.size())));
    std::printf(" %.1f", static_cast<double>(rss_over_time[k]) / 1024.0);
  }
  std::printf(" MiB\n");

  daemon->process->Signal(SIGTERM);
  const int exit_code = daemon->process->Wait();
  if (!f.verify) return exit_code == 0 ? 0 : 1;
  store::EventLogOptions lo;
  lo.path = dir.path() + "/data/events";
  auto log = store::EventLog::Open(lo, clock);
  if (!log.ok()) {
    std::fprintf(stderr, "cannot reopen the event log: %s\n", log.status().ToString().c_str());
    return 1;
  }
  std::vector<bool> present(next_id.load() + 1, false);
  int64_t records = 0;
  (void)(*log)->ScanSince(0, [&](const store::StoredRecord& r) {
    ++records;
    candor::v1::IngestItem item;
    if (r.kind == candor::v1::IngestItem::kInferenceEvent && item.ParseFromString(r.payload)) {
      uint64_t id = 0;
      if (absl::SimpleAtoi(item.inference_event().request_id().substr(1), &id) &&
          id < present.size()) {
        present[id] = true;
      }
    }
    return true;
  });
  int64_t missing = 0, acked = 0;
  for (const auto& [first, last] : totals.acked_ids) {
    for (uint64_t id = first; id < last; ++id) {
      ++acked;
      if (!present[id]) ++missing;
    }
  }
  std::printf("durability: %" PRId64 " acknowledged events checked after shutdown, %" PRId64
              " missing; %" PRId64 " records in the log; server exit code %d\n",
              acked, missing, records, exit_code);
  return missing == 0 && exit_code == 0 ? 0 : 1;
}

}  // namespace
}  // namespace candor::bench

int main(int argc, char** argv) { return candor::bench::Main(argc, argv); }
