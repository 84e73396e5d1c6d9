// `candor ship --events FILE.jsonl --to HOST:PORT [options]`: streams a JSONL file of ingest
// items (DESIGN §3) to a candor daemon over `candor.v1.Ingest`.
//
// Items are sent in batches over one stream with several batches in flight. A batch refused
// whole with RESOURCE_EXHAUSTED or UNAVAILABLE (or a broken stream) is sent again after a
// jittered exponential backoff that honours the server's retry hint; after `max_retries` it
// counts as not delivered. Lines that are not valid JSON items, and items the server rejects,
// are reported by line number. On a terminal, stderr shows a progress bar. Exit code: 0 when
// every line was delivered and accepted, 1 when anything was rejected or not delivered, 2 for
// bad usage or an unreadable file.
//
// Thread safety: Ship runs on the calling thread.

#ifndef CANDOR_DAEMON_SHIP_COMMAND_H_
#define CANDOR_DAEMON_SHIP_COMMAND_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/ingest_client.h"
#include "common/clock.h"

namespace candor::daemon {

struct ShipOptions {
  collector::IngestClientOptions client;
  // Items per batch, 1–10,000. Default: 500.
  size_t batch_size = 500;
  // Batches sent and not yet acknowledged, 1–8. Default: 4.
  size_t max_in_flight = 4;
  // Attempts after the first for one batch before it counts as not delivered. Default: 8.
  int max_retries = 8;
  // First backoff and its cap; each retry doubles it, ±50 % jitter, never below the server's
  // hint. Defaults: 100 ms, 10 s.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // Draw a progress bar on `err` (only when it is a terminal). Default: false.
  bool progress = false;
  // Most reject lines printed (all are counted). Default: 100.
  size_t max_reported = 100;
};

struct ShipReport {
  int64_t lines = 0;        // Non-blank lines read.
  int64_t accepted = 0;     // Items the server made durable.
  int64_t rejected = 0;     // Malformed lines plus items the server refused.
  int64_t undelivered = 0;  // Items given up on after retries (or a fatal refusal).
  int64_t retries = 0;      // Batches sent again.
};

// Streams the JSONL in `in` (`total_bytes` long, 0 if unknown, for the progress bar) and
// writes rejects and progress to `err`. Returns the report; an error only when the server
// refuses the connection for good (UNAUTHENTICATED, bad TLS) — then nothing more is sent.
absl::StatusOr<ShipReport> Ship(const ShipOptions& options, std::istream& in, int64_t total_bytes,
                                Clock& clock, std::ostream& err);

int RunShipCommand(const std::vector<std::string>& args);

}  // namespace candor::daemon

#endif  // CANDOR_DAEMON_SHIP_COMMAND_H_
