// libFuzzer target: the streaming Prometheus text-format parser (collector/prom_text.h) and
// the engine mappings over whatever it parses (collector/engine_profiles.h). The input is
// fed in two chunks split at a position taken from its first byte, so chunk boundaries are
// exercised too; the result must not depend on where the split falls.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/engine_profiles.h"
#include "collector/prom_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t split = data[0] % size;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  candor::collector::PromParserOptions options;
  options.max_line_bytes = 4096;
  options.max_samples = 5000;
  std::vector<candor::collector::PromSample> chunked;
  candor::collector::PromTextParser parser(
      options, [&](const candor::collector::PromSample& s) { chunked.push_back(s); });
  absl::Status status = parser.Feed(text.substr(0, std::min(split, text.size())));
  if (status.ok() && split < text.size()) status = parser.Feed(text.substr(split));
  if (status.ok()) status = parser.Finish();
  absl::StatusOr<std::vector<candor::collector::PromSample>> whole =
      candor::collector::ParsePromText(text, options);
  if (status.ok() != whole.ok()) __builtin_trap();
  if (!whole.ok()) return 0;
  if (whole->size() != chunked.size()) __builtin_trap();
  candor::collector::CounterTracker counters;
  for (auto engine : {candor::collector::Engine::kVllm, candor::collector::Engine::kSglang,
                      candor::collector::Engine::kTgi, candor::collector::Engine::kTriton,
                      candor::collector::Engine::kDcgm}) {
    candor::collector::ScrapeContext ctx;
    ctx.engine = engine;
    counters.BeginScrape();
    (void)candor::collector::MapPage(ctx, *whole, &counters);
    counters.EndScrape();
  }
  return 0;
}
