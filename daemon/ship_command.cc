#include "daemon/ship_command.h"

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/jsonl.h"
#include "daemon/command.h"

namespace candor::daemon {
namespace {

constexpr char kUsage[] =
    R"(usage: candor ship --events FILE.jsonl --to HOST:PORT [options]

Streams a JSONL file of ingest items ({"inference_event": {...}} per line, DESIGN §3) to a
candor daemon over gRPC, in batches, retrying refused batches with backoff. Rejected lines are
reported by line number. Exit code 0 when every line was accepted, 1 otherwise.

  --events FILE          the JSONL file ("-": standard input)
  --to HOST:PORT         candor's gRPC address
  --batch-size N         items per batch (default 500)
  --max-in-flight N      batches awaiting acknowledgement (1–8, default 4)
  --max-retries N        retries of one batch before giving up (default 8)
  --token T              bearer token; or --token-file FILE
  --tls                  connect with TLS; --ca-file, --cert-file, --key-file, --server-name
  --no-progress          no progress bar (there is none unless stderr is a terminal)
)";

struct Pending {
  candor::v1::IngestBatch batch;
  std::vector<int64_t> lines;
  int attempts = 0;
  absl::Time not_before = absl::InfinitePast();
};

bool Retryable(int code) {
  return code == static_cast<int>(absl::StatusCode::kResourceExhausted) ||
         code == static_cast<int>(absl::StatusCode::kUnavailable);
}

class Shipper {
 public:
  Shipper(const ShipOptions& options, std::istream& in, int64_t total_bytes, Clock& clock,
          std::ostream& err)
      : o_(options),
        in_(in),
        total_bytes_(total_bytes),
        clock_(clock),
        err_(err),
        random_(static_cast<uint32_t>(absl::ToUnixNanos(clock.Now()))) {}

  absl::StatusOr<ShipReport> Run() {
    absl::StatusOr<std::unique_ptr<collector::IngestClient>> client =
        collector::IngestClient::Create(o_.client);
    if (!client.ok()) return client.status();
    int failed_connections = 0;
    while (true) {
      std::unique_ptr<collector::IngestStream> stream = (*client)->OpenStream();
      std::deque<Pending> in_flight;
      const int64_t accepted_before = report_.accepted + report_.rejected;
      const bool finished = Pump(*stream, in_flight);
      if (finished) {
        stream->WritesDone();
        (void)stream->Finish();
        EndProgress();
        return report_;
      }
      // The stream broke: collect acks still readable, then see why it ended.
      candor::v1::IngestAck ack;
      while (!in_flight.empty() && stream->Read(&ack)) {
        HandleAck(std::move(in_flight.front()), ack);
        in_flight.pop_front();
      }
      const absl::Status why = stream->Finish();
      if (!Retryable(static_cast<int>(why.code())) && why.code() != absl::StatusCode::kCancelled &&
          why.code() != absl::StatusCode::kDeadlineExceeded &&
          why.code() != absl::StatusCode::kInternal && !why.ok()) {
        for (Pending& p : in_flight) report_.undelivered += p.batch.items_size();
        GiveUpOnTheRest();
        EndProgress();
        return absl::Status(why.code(), absl::StrCat("candor refused the stream: ", why.message()));
      }
      failed_connections =
          report_.accepted + report_.rejected > accepted_before ? 0 : failed_connections + 1;
      for (Pending& p : in_flight) Retry(std::move(p), absl::ZeroDuration());
      if (failed_connections > o_.max_retries) {
        err_ << "candor ship: giving up: " << why.ToString() << "\n";
        GiveUpOnTheRest();
        EndProgress();
        return report_;
      }
      Wait(Backoff(failed_connections, absl::ZeroDuration()));
    }
  }

 private:
  // Sends and acknowledges batches until everything is done (true) or the stream breaks.
  bool Pump(collector::IngestStream& stream, std::deque<Pending>& in_flight) {
    while (true) {
      while (in_flight.size() < o_.max_in_flight) {
        std::optional<Pending> next = NextBatch();
        if (!next) break;
        if (!stream.Write(next->batch)) {
          in_flight.push_back(*std::move(next));
          return false;
        }
        in_flight.push_back(*std::move(next));
      }
      if (in_flight.empty()) {
        if (retry_.empty() && eof_) return true;
        absl::Time earliest = absl::InfiniteFuture();
        for (const Pending& p : retry_) earliest = std::min(earliest, p.not_before);
        if (earliest != absl::InfiniteFuture()) Wait(earliest - clock_.MonotonicNow());
        continue;
      }
      candor::v1::IngestAck ack;
      if (!stream.Read(&ack)) return false;
      HandleAck(std::move(in_flight.front()), ack);
      in_flight.pop_front();
      DrawProgress(false);
    }
  }

  std::optional<Pending> NextBatch() {
    const absl::Time now = clock_.MonotonicNow();
    for (auto it = retry_.begin(); it != retry_.end(); ++it) {
      if (it->not_before <= now) {
        Pending p = std::move(*it);
        retry_.erase(it);
        ++report_.retries;
        return p;
      }
    }
    if (eof_) return std::nullopt;
    Pending p;
    p.batch.set_batch_id(++batch_ids_);
    std::string line;
    while (static_cast<size_t>(p.batch.items_size()) < o_.batch_size && std::getline(in_, line)) {
      ++line_number_;
      bytes_read_ += static_cast<int64_t>(line.size()) + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ++report_.lines;
      absl::StatusOr<candor::v1::IngestItem> item = collector::ParseIngestItemJson(line);
      if (!item.ok()) {
        Reject(line_number_, absl::StrCat("not a valid item: ", item.status().message()));
        continue;
      }
      *p.batch.add_items() = *std::move(item);
      p.lines.push_back(line_number_);
    }
    if (static_cast<size_t>(p.batch.items_size()) < o_.batch_size) eof_ = true;
    if (p.batch.items_size() == 0) return std::nullopt;
    return p;
  }

  void HandleAck(Pending p, const candor::v1::IngestAck& ack) {
    if (ack.code() == 0) {
      report_.accepted += ack.accepted();
      for (const candor::v1::ItemReject& r : ack.rejects()) {
        const int64_t line = r.index() < p.lines.size() ? p.lines[r.index()] : -1;
        Reject(line, absl::StrCat(r.field(), ": ", r.reason(), " (",
                                  candor::v1::RejectCode_Name(r.code()), ")"));
      }
      return;
    }
    if (Retryable(ack.code())) {
      const absl::Duration hint =
          absl::Seconds(ack.retry_after().seconds()) + absl::Nanoseconds(ack.retry_after().nanos());
      Retry(std::move(p), hint);
      return;
    }
    // Refused whole for good (malformed batch, too many items, not authenticated).
    for (int64_t line : p.lines) {
      Reject(line, absl::StrCat("batch refused (code ", ack.code(), "): ", ack.message()));
    }
  }

  void Retry(Pending p, absl::Duration hint) {
    if (p.attempts >= o_.max_retries) {
      report_.undelivered += p.batch.items_size();
      if (p.lines.empty()) return;
      err_ << "\rlines " << p.lines.front() << "–" << p.lines.back() << ": not delivered after "
           << p.attempts + 1 << " attempts\n";
      return;
    }
    ++p.attempts;
    p.not_before = clock_.MonotonicNow() + Backoff(p.attempts, hint);
    retry_.push_back(std::move(p));
  }

  absl::Duration Backoff(int attempt, absl::Duration hint) {
    absl::Duration d = o_.initial_backoff;
    for (int i = 1; i < attempt && d < o_.max_backoff; ++i) d *= 2;
    d = std::min(d, o_.max_backoff);
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    d = d * jitter(random_);
    return std::max(d, hint);
  }

  void Wait(absl::Duration d) {
    if (d <= absl::ZeroDuration()) return;
    absl::Mutex mu;
    absl::MutexLock lock(&mu);
    bool never = false;
    clock_.AwaitWithDeadline(&mu, absl::Condition(&never), clock_.MonotonicNow() + d);
  }

  void Reject(int64_t line, const std::string& why) {
    ++report_.rejected;
    if (reported_++ < o_.max_reported) {
      err_ << (o_.progress ? "\r\033[K" : "") << "line " << line << ": " << why << "\n";
    }
  }

  void GiveUpOnTheRest() {
    for (const Pending& p : retry_) report_.undelivered += p.batch.items_size();
    retry_.clear();
    std::string line;
    while (std::getline(in_, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ++report_.lines;
      ++report_.undelivered;
    }
    eof_ = true;
  }

  void DrawProgress(bool force) {
    if (!o_.progress) return;
    const absl::Time now = clock_.MonotonicNow();
    if (!force && now - last_draw_ < absl::Milliseconds(100)) return;
    last_draw_ = now;
    const double fraction =
        total_bytes_ > 0
            ? std::min(1.0, static_cast<double>(bytes_read_) / static_cast<double>(total_bytes_))
            : 0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    err_ << "\r[" << std::string(static_cast<size_t>(filled), '=')
         << std::string(static_cast<size_t>(kWidth - filled), ' ') << "] "
         << static_cast<int>(fraction * 100) << "% " << report_.accepted << " accepted, "
         << report_.rejected << " rejected, " << report_.retries << " retried" << std::flush;
  }

  void EndProgress() {
    if (!o_.progress) return;
    DrawProgress(true);
    err_ << "\n";
  }

  const ShipOptions& o_;
  std::istream& in_;
  const int64_t total_bytes_;
  Clock& clock_;
  std::ostream& err_;
  std::mt19937 random_;
  ShipReport report_;
  std::deque<Pending> retry_;
  bool eof_ = false;
  int64_t line_number_ = 0;
  int64_t bytes_read_ = 0;
  uint64_t batch_ids_ = 0;
  size_t reported_ = 0;
  absl::Time last_draw_ = absl::InfinitePast();
};

bool ParseCount(const std::string& text, int64_t lo, int64_t hi, int64_t* out) {
  return absl::SimpleAtoi(text, out) && *out >= lo && *out <= hi;
}

}  // namespace

absl::StatusOr<ShipReport> Ship(const ShipOptions& options, std::istream& in, int64_t total_bytes,
                                Clock& clock, std::ostream& err) {
  Shipper shipper(options, in, total_bytes, clock, err);
  return shipper.Run();
}

int RunShipCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, {"--tls", "--no-progress"});
  if (!parsed.ok()) {
    std::cerr << "candor ship: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  if (parsed->help) {
    std::cout << kUsage;
    return 0;
  }
  ShipOptions o;
  const std::string events = TakeFlag(*parsed, "--events");
  o.client.address = TakeFlag(*parsed, "--to");
  o.client.bearer_token = TakeFlag(*parsed, "--token");
  o.client.tls = !TakeFlag(*parsed, "--tls").empty();
  o.client.ca_file = TakeFlag(*parsed, "--ca-file");
  o.client.cert_file = TakeFlag(*parsed, "--cert-file");
  o.client.key_file = TakeFlag(*parsed, "--key-file");
  o.client.server_name = TakeFlag(*parsed, "--server-name");
  const bool no_progress = !TakeFlag(*parsed, "--no-progress").empty();
  const std::string token_file = TakeFlag(*parsed, "--token-file");
  int64_t n = 0;
  for (auto [flag, lo, hi, target] : {std::tuple{"--batch-size", 1, 10'000, &o.batch_size},
                                      std::tuple{"--max-in-flight", 1, 8, &o.max_in_flight}}) {
    const std::string v = TakeFlag(*parsed, flag);
    if (v.empty()) continue;
    if (!ParseCount(v, lo, hi, &n)) {
      std::cerr << "candor ship: " << flag << " must be an integer in " << lo << "–" << hi << "\n";
      return 2;
    }
    *target = static_cast<size_t>(n);
  }
  if (const std::string v = TakeFlag(*parsed, "--max-retries"); !v.empty()) {
    if (!ParseCount(v, 0, 1000, &n)) {
      std::cerr << "candor ship: --max-retries must be an integer in 0–1000\n";
      return 2;
    }
    o.max_retries = static_cast<int>(n);
  }
  if (!parsed->flags.empty() || !parsed->positional.empty()) {
    std::cerr << "candor ship: unknown argument \""
              << (parsed->flags.empty() ? parsed->positional[0] : parsed->flags[0].first) << "\"\n"
              << kUsage;
    return 2;
  }
  if (events.empty() || o.client.address.empty()) {
    std::cerr << "candor ship: --events and --to are required\n" << kUsage;
    return 2;
  }
  if (!token_file.empty()) {
    std::ifstream tf(token_file);
    if (!tf || !std::getline(tf, o.client.bearer_token)) {
      std::cerr << "candor ship: cannot read --token-file " << token_file << "\n";
      return 2;
    }
    while (!o.client.bearer_token.empty() &&
           std::isspace(static_cast<unsigned char>(o.client.bearer_token.back()))) {
      o.client.bearer_token.pop_back();
    }
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  int64_t total = 0;
  if (events != "-") {
    file.open(events);
    if (!file) {
      std::cerr << "candor ship: cannot read " << events << "\n";
      return 2;
    }
    std::error_code ec;
    total = static_cast<int64_t>(std::filesystem::file_size(events, ec));
    in = &file;
  }
  o.progress = !no_progress && ::isatty(STDERR_FILENO) == 1;
  RealClock clock;
  absl::StatusOr<ShipReport> report = Ship(o, *in, total, clock, std::cerr);
  if (!report.ok()) {
    std::cerr << "candor ship: " << report.status().message() << "\n";
    return 1;
  }
  std::cerr << "candor ship: " << report->lines << " lines: " << report->accepted << " accepted, "
            << report->rejected << " rejected, " << report->undelivered << " not delivered ("
            << report->retries << " batches retried)\n";
  return report->rejected == 0 && report->undelivered == 0 ? 0 : 1;
}

}  // namespace candor::daemon
