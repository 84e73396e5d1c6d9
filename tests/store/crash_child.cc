// The child process of store_crash_test: appends a deterministic workload to a SeriesStore
// and prints "ACK <round>" after each commit returns (i.e. after the WAL fsync), until it is
// killed. Rounds continue from --start_round, so a restarted child re-sends the same values for
// rounds it may or may not have committed before its death (duplicates are accepted).
//
//   store_crash_child --path DIR --t0 MS --start_round R [--series 16] [--rounds N]
//
// Per round r at time t = t0 + r·1 s: gauges g<i> = ((i·1000 + r) mod 997) / 1000, counters
// c<i> = r·(i + 1), one cumulative exponential histogram gaining one observation per round,
// and a "late" gauge written 30 rounds behind (out of order, into sealed chunks). Maintenance
// (sealing, WAL truncation) runs every 50 rounds; chunks are small so everything is exercised.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "store/series_store.h"
#include "tests/store/crash_workload.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 1; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  const int64_t t0 = std::atoll(f["t0"].c_str());
  const int64_t start_round = std::atoll(f["start_round"].c_str());
  const int series = f.count("series") ? std::atoi(f["series"].c_str()) : 16;
  // --rounds N: commit N rounds, then wait to be killed (0: only reopen, replaying the WAL).
  const int64_t rounds = f.count("rounds") ? std::atoll(f["rounds"].c_str()) : -1;
  candor::RealClock clock;
  auto store = candor::store::SeriesStore::Open(candor::crashtest::Options(f["path"]), clock);
  if (!store.ok()) {
    std::printf("OPEN-FAILED %s\n", store.status().ToString().c_str());
    return 1;
  }
  candor::crashtest::Refs refs;
  if (!candor::crashtest::Resolve(**store, series, &refs).ok()) {
    std::printf("RESOLVE-FAILED\n");
    return 1;
  }
  std::printf("READY\n");
  std::fflush(stdout);
  for (int64_t r = start_round; rounds < 0 || r < start_round + rounds; ++r) {
    candor::store::SampleBatch batch;
    candor::crashtest::AddRound(refs, series, t0, r, &batch);
    auto result = (*store)->Commit(batch);
    if (!result.ok() || result->rejected != 0) {
      std::printf(
          "COMMIT-FAILED %lld %s\n", static_cast<long long>(r),
          result.ok() ? result->rejects[0].message.c_str() : result.status().ToString().c_str());
      std::fflush(stdout);
      return 1;
    }
    std::printf("ACK %lld\n", static_cast<long long>(r));
    std::fflush(stdout);
    if (r % 50 == 0) {
      absl::Status s = (*store)->RunOnce();
      if (!s.ok()) {
        std::printf("MAINTENANCE-FAILED %s\n", s.ToString().c_str());
        return 1;
      }
    }
  }
  for (;;) pause();
}
