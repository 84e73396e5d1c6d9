#include "daemon/replay_command.h"

#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/json_codec.h"
#include "collector/pipeline.h"
#include "collector/validate.h"
#include "common/clock.h"
#include "common/strings.h"
#include "daemon/command.h"
#include "daemon/config.h"
#include "detectors/fleet_types.h"

namespace candor::daemon {
namespace {

constexpr char kUsage[] =
    R"(usage: candor replay --events FILE.jsonl --transitions-out OUT.jsonl [--config FILE]
                     [--OPTION=VALUE ...] [--quiet]

Runs the whole detection pipeline over a recorded stream in event time, as fast as it can:
every line of FILE.jsonl is one ingest item ({"inference_event": {...}}, in arrival order);
items are validated (timestamps are not compared with the wall clock), aggregated per entity
in event-time windows, judged by the detectors and the fleet state machine, and every state
transition is written to OUT.jsonl as one JSON object per line:

  {"time": ..., "entity": "provider:aws", "from": "healthy", "to": "hardware-degraded",
   "conditions": [...], "evidence": {...}}

The same input and configuration always give byte-identical output. Replay ends at the last
input event's time. Invalid lines are counted, the first few reported on stderr, and skipped.
"-" reads stdin or writes stdout.

  --events FILE.jsonl          the recorded stream
  --transitions-out OUT.jsonl  where transitions go
  --config FILE                candor.yaml; its ingest.* and detection.* options apply
  --quiet                      no summary on stderr
Every configuration option is also a flag, e.g. --detection.window=10s.
)";

// Writes transitions as JSON lines.
class JsonlTransitionWriter final : public collector::TransitionSink {
 public:
  explicit JsonlTransitionWriter(std::ostream& out) : out_(out) {}
  void OnTransition(const detectors::Transition& t) override {
    out_ << detectors::TransitionToJson(t) << '\n';
    ++count_;
  }
  uint64_t count() const { return count_; }

 private:
  std::ostream& out_;
  uint64_t count_ = 0;
};

struct ReplayCounts {
  uint64_t lines = 0;
  uint64_t items = 0;
  uint64_t malformed = 0;
  uint64_t invalid = 0;
};

constexpr int kMaxReported = 5;

void Report(ReplayCounts& c, int64_t line, std::string_view why) {
  if (c.malformed + c.invalid <= kMaxReported) {
    std::cerr << "candor replay: line " << line << ": " << why << " (skipped)\n";
  }
}

// Reads every line of `in` into the pipeline. Returns false on a read error.
bool Feed(std::istream& in, const collector::Validator& validator, collector::Pipeline& pipeline,
          ReplayCounts& c) {
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++c.lines;
    absl::StatusOr<candor::v1::IngestItem> item = collector::DecodeIngestItemJson(line);
    if (!item.ok()) {
      ++c.malformed;
      Report(c, number, StdSv(item.status().message()));
      continue;
    }
    const std::optional<candor::v1::ItemReject> reject =
        validator.Validate(*item, 0, absl::UnixEpoch());
    if (reject.has_value()) {
      ++c.invalid;
      Report(c, number, absl::StrCat(reject->field(), ": ", reject->reason()));
      continue;
    }
    ++c.items;
    pipeline.Observe(*item);
  }
  return !in.bad();
}

}  // namespace

int RunReplayCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, {"--quiet"});
  if (!parsed.ok()) {
    std::cerr << "candor replay: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  if (parsed->help) {
    std::cout << kUsage;
    return 0;
  }
  const std::string events = TakeFlag(*parsed, "--events");
  const std::string out_path = TakeFlag(*parsed, "--transitions-out");
  const std::string config_path = TakeFlag(*parsed, "--config");
  const bool quiet = !TakeFlag(*parsed, "--quiet").empty();
  if (events.empty() || out_path.empty() || !parsed->positional.empty()) {
    std::cerr << "candor replay: --events and --transitions-out are required\n" << kUsage;
    return 2;
  }
  absl::StatusOr<Config> config = LoadConfig(config_path, parsed->flags);
  if (!config.ok()) {
    std::cerr << "candor replay: " << config.status().message() << "\n";
    return 2;
  }
  std::ifstream file_in;
  if (events != "-") {
    file_in.open(events, std::ios::binary);
    if (!file_in) {
      std::cerr << "candor replay: cannot read " << events << "\n";
      return 1;
    }
  }
  std::ofstream file_out;
  if (out_path != "-") {
    file_out.open(out_path, std::ios::binary | std::ios::trunc);
    if (!file_out) {
      std::cerr << "candor replay: cannot write " << out_path << "\n";
      return 1;
    }
  }
  std::istream& in = events == "-" ? std::cin : file_in;
  std::ostream& out = out_path == "-" ? std::cout : file_out;

  collector::ValidationOptions validation = config->ingest.validation;
  validation.check_time_window = false;
  const collector::Validator validator(validation);
  JsonlTransitionWriter writer(out);
  collector::Pipeline pipeline(config->pipeline, &writer);
  RealClock clock;
  const absl::Time started = clock.MonotonicNow();
  ReplayCounts counts;
  const bool read_ok = Feed(in, validator, pipeline, counts);
  pipeline.Finish();
  out.flush();
  const double secs = absl::ToDoubleSeconds(clock.MonotonicNow() - started);
  if (!read_ok) {
    std::cerr << "candor replay: read error in " << events << "\n";
    return 1;
  }
  if (!out) {
    std::cerr << "candor replay: write error on " << out_path << "\n";
    return 1;
  }
  if (!quiet) {
    const collector::PipelineStats s = pipeline.Stats();
    std::cerr << absl::StrFormat(
        "candor replay: %d items (%d malformed, %d invalid lines skipped; %d late items folded, "
        "%d too late), %d entities, %d windows, %d transitions in %.2f s (%.0f items/s)\n",
        counts.items, counts.malformed, counts.invalid, s.signals.late_folded,
        s.signals.too_late + s.signals.too_new, s.entities, s.windows, writer.count(), secs,
        secs > 0 ? static_cast<double>(counts.lines) / secs : 0.0);
  }
  return 0;
}

}  // namespace candor::daemon
