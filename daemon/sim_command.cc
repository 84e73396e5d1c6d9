#include "daemon/sim_command.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "collector/ingest_client.h"
#include "collector/json_codec.h"
#include "common/clock.h"
#include "common/time_util.h"
#include "daemon/command.h"
#include "daemon/config.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

namespace candor::daemon {
namespace {

constexpr char kUsage[] =
    R"(usage: candor sim --scenario FILE [--out FILE.jsonl | --to HOST:PORT] [options]

Runs the fleet simulator: providers, zones, GPU nodes, replicas, models with a canary, routes
and their dependencies, diurnal traffic and the scenario's scripted faults and annotations
(see sim/scenario.h and sim/scenarios/). Items come out in arrival order, as JSONL
({"inference_event": {...}} per line) or streamed to a daemon's candor.v1.Ingest.

  --scenario FILE    scenario (YAML or JSON); required
  --out FILE.jsonl   write JSONL ("-" for stdout)
  --to HOST:PORT     stream to a candor daemon over gRPC instead
  --duration D       override the scenario's duration (e.g. 30m, 24h)
  --seed N           override the scenario's seed
  --start TIME       RFC 3339 start, or "now"; default: the scenario's start with --out,
                     and with --to the time that makes the stream end now
  --speed X          with --to: simulated seconds per real second (0: as fast as possible;
                     default 0)
  --batch N          with --to: items per batch (default 500)
)";

struct SimFlags {
  std::string scenario, out, to, duration, seed, start, speed = "0", batch = "500";
};

absl::Status ApplyOverrides(const SimFlags& f, bool streaming, sim::Scenario& s, Clock& clock,
                            double speed) {
  if (!f.duration.empty()) {
    absl::StatusOr<absl::Duration> d = ParseDuration(f.duration);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("bad --duration \"", f.duration, "\""));
    }
    s.duration = *d;
  }
  if (!f.seed.empty()) {
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(f.seed, &seed)) {
      return absl::InvalidArgumentError(absl::StrCat("bad --seed \"", f.seed, "\""));
    }
    s.seed = seed;
  }
  if (f.start == "now" || (f.start.empty() && streaming)) {
    // Streamed events must look recent to a live daemon: end the scenario about now.
    const absl::Duration ahead = speed > 0 ? s.duration / speed : absl::ZeroDuration();
    s.start = absl::FromUnixSeconds(absl::ToUnixSeconds(clock.Now() - s.duration + ahead));
  } else if (!f.start.empty()) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(f.start);
    if (!t.ok()) return t.status();
    s.start = *t;
  }
  return absl::OkStatus();
}

int WriteJsonl(sim::FleetSimulator& simulator, const std::string& path) {
  std::ofstream file;
  if (path != "-") {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "candor sim: cannot write " << path << "\n";
      return 1;
    }
  }
  std::ostream& out = path == "-" ? std::cout : file;
  std::string line;
  const absl::Status s = simulator.Run([&](const candor::v1::IngestItem& item) {
    line.clear();
    collector::EncodeIngestItemJson(item, line);
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    return out ? absl::OkStatus() : absl::DataLossError("write failed");
  });
  out.flush();
  if (!s.ok() || !out) {
    std::cerr << "candor sim: cannot write " << path << "\n";
    return 1;
  }
  std::cerr << "candor sim: wrote " << simulator.items_emitted() << " items to " << path << "\n";
  return 0;
}

void Wait(Clock& clock, absl::Duration d) {
  absl::Mutex mu;
  const bool never = false;
  absl::MutexLock lock(&mu);
  clock.AwaitWithDeadline(&mu, absl::Condition(&never), clock.MonotonicNow() + d);
}

// A stream to the daemon that resends batches refused for overload after the server's hint,
// and reconnects while the daemon is still starting (the demo starts both at once).
class BatchSender {
 public:
  BatchSender(std::unique_ptr<collector::IngestClient> client, Clock& clock)
      : client_(std::move(client)), clock_(clock) {}

  absl::StatusOr<candor::v1::IngestAck> Send(const candor::v1::IngestBatch& batch) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (stream_ == nullptr) stream_ = client_->OpenStream();
      candor::v1::IngestAck ack;
      if (!stream_->Write(batch) || !stream_->Read(&ack)) {
        const absl::Status why = stream_->Finish();
        stream_.reset();
        if (delivered_ > 0 || attempt >= 40) {
          return absl::UnavailableError(absl::StrCat("the ingest stream broke: ", why.message()));
        }
        Wait(clock_, absl::Milliseconds(250));  // Not up yet: try again shortly.
        continue;
      }
      if (ack.code() != static_cast<int>(absl::StatusCode::kResourceExhausted)) {
        ++delivered_;
        return ack;
      }
      absl::Duration hint = absl::Milliseconds(200);
      if (ack.has_retry_after()) {
        hint = absl::Seconds(ack.retry_after().seconds()) +
               absl::Nanoseconds(ack.retry_after().nanos());
      }
      Wait(clock_, hint);
    }
    return absl::ResourceExhaustedError("the daemon kept refusing a batch for overload");
  }

  absl::Status Close() {
    if (stream_ == nullptr) return absl::OkStatus();
    stream_->WritesDone();
    candor::v1::IngestAck ack;
    while (stream_->Read(&ack)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<collector::IngestClient> client_;
  Clock& clock_;
  std::unique_ptr<collector::IngestStream> stream_;
  uint64_t delivered_ = 0;
};

int Stream(sim::FleetSimulator& simulator, const std::string& address, double speed,
           size_t batch_items, Clock& clock) {
  collector::IngestClientOptions options;
  options.address = address;
  absl::StatusOr<std::unique_ptr<collector::IngestClient>> client =
      collector::IngestClient::Create(options);
  if (!client.ok()) {
    std::cerr << "candor sim: " << client.status().message() << "\n";
    return 1;
  }
  BatchSender sender(*std::move(client), clock);
  candor::v1::IngestBatch batch;
  uint64_t sent = 0, accepted = 0, rejected = 0, batches = 0;
  const auto flush = [&]() -> absl::Status {
    if (batch.items_size() == 0) return absl::OkStatus();
    batch.set_batch_id(++batches);
    absl::StatusOr<candor::v1::IngestAck> ack = sender.Send(batch);
    if (!ack.ok()) return ack.status();
    if (ack->code() != 0) {
      return absl::UnavailableError(absl::StrCat("batch refused: ", ack->message()));
    }
    sent += static_cast<uint64_t>(batch.items_size());
    accepted += ack->accepted();
    if (ack->rejects_size() > 0 && rejected == 0) {
      std::cerr << "candor sim: first reject: " << ack->rejects(0).field() << ": "
                << ack->rejects(0).reason() << "\n";
    }
    rejected += static_cast<uint64_t>(ack->rejects_size());
    batch.clear_items();
    return absl::OkStatus();
  };
  const auto sink = [&](const candor::v1::IngestItem& item) -> absl::Status {
    *batch.add_items() = item;
    if (static_cast<size_t>(batch.items_size()) >= batch_items) return flush();
    return absl::OkStatus();
  };
  const absl::Time wall_start = clock.MonotonicNow();
  const absl::Time sim_start = simulator.start();
  absl::Status failure;
  absl::Time until = sim_start;
  while (failure.ok() && until < simulator.end()) {
    if (speed > 0) {
      // Pace: simulate what real time allows, flush it, wait for the next step.
      Wait(clock, absl::Milliseconds(250));
      until = sim_start + (clock.MonotonicNow() - wall_start) * speed;
    } else {
      until = simulator.end();
    }
    failure = simulator.RunUntil(std::min(until, simulator.end()), sink);
    if (failure.ok()) failure = flush();
  }
  if (failure.ok()) failure = flush();
  const absl::Status closed = sender.Close();
  if (!failure.ok()) {
    std::cerr << "candor sim: " << failure.message() << "\n";
    return 1;
  }
  (void)closed;  // The daemon ends the stream its way; every batch was acknowledged above.
  std::cerr << absl::StrFormat(
      "candor sim: sent %d items in %d batches to %s: %d accepted, %d "
      "rejected\n",
      sent, batches, address, accepted, rejected);
  return rejected == 0 ? 0 : 1;
}

}  // namespace

int RunSimCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args);
  if (!parsed.ok()) {
    std::cerr << "candor sim: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  if (parsed->help) {
    std::cout << kUsage;
    return 0;
  }
  SimFlags f;
  f.scenario = TakeFlag(*parsed, "--scenario");
  f.out = TakeFlag(*parsed, "--out");
  f.to = TakeFlag(*parsed, "--to");
  f.duration = TakeFlag(*parsed, "--duration");
  f.seed = TakeFlag(*parsed, "--seed");
  f.start = TakeFlag(*parsed, "--start");
  if (std::string v = TakeFlag(*parsed, "--speed"); !v.empty()) f.speed = v;
  if (std::string v = TakeFlag(*parsed, "--batch"); !v.empty()) f.batch = v;
  if (!parsed->flags.empty() || !parsed->positional.empty()) {
    std::cerr << "candor sim: unexpected argument \""
              << (parsed->flags.empty() ? parsed->positional[0] : parsed->flags[0].first) << "\"\n"
              << kUsage;
    return 2;
  }
  double speed = 0;
  size_t batch = 0;
  if (f.scenario.empty() || f.out.empty() == f.to.empty() || !absl::SimpleAtod(f.speed, &speed) ||
      speed < 0 || !absl::SimpleAtoi(f.batch, &batch) || batch == 0 || batch > 10000) {
    std::cerr << "candor sim: give --scenario and exactly one of --out or --to (--speed ≥ 0, "
                 "--batch 1–10000)\n"
              << kUsage;
    return 2;
  }
  RealClock clock;
  absl::StatusOr<sim::Scenario> scenario = sim::LoadScenarioFile(f.scenario);
  absl::Status status = scenario.status();
  if (status.ok()) status = ApplyOverrides(f, !f.to.empty(), *scenario, clock, speed);
  if (!status.ok()) {
    std::cerr << "candor sim: " << status.message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<sim::FleetSimulator>> simulator =
      sim::FleetSimulator::Create(*scenario);
  if (!simulator.ok()) {
    std::cerr << "candor sim: " << f.scenario << ": " << simulator.status().message() << "\n";
    return 2;
  }
  if (!f.out.empty()) return WriteJsonl(**simulator, f.out);
  return Stream(**simulator, f.to, speed, batch, clock);
}

}  // namespace candor::daemon
