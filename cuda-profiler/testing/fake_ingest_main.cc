// candor_fake_ingest: a FakeIngestServer in its own process, for tests that load
// libcandor_cupti.so (which carries its own copy of candor's protobuf descriptors, so the test
// process must not link them too).
//
//   candor_fake_ingest [--fail-first N]
//
// Prints "PORT <n>" once listening on 127.0.0.1, refuses the first N batches with
// UNAVAILABLE, and when its stdin reaches end of file prints every accepted KernelSummary as
// one JSON line, then "END", and exits.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda-profiler/testing/fake_ingest_server.h"
#include "google/protobuf/util/json_util.h"

int main(int argc, char** argv) {
  int fail_first = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--fail-first") == 0) fail_first = std::atoi(argv[i + 1]);
  }
  auto server = candor::cuda_profiler::testing::FakeIngestServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  for (int i = 0; i < fail_first; ++i) {
    (*server)->ScriptStatus(absl::UnavailableError("scripted failure"));
  }
  std::printf("PORT %d\n", (*server)->port());
  std::fflush(stdout);
  char buf[256];
  while (std::fgets(buf, sizeof(buf), stdin) != nullptr) {
  }
  (*server)->Shutdown();
  for (const auto& s : (*server)->accepted_summaries()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(s, &json, options).ok()) return 1;
    std::printf("%s\n", json.c_str());
  }
  std::printf("END\n");
  std::fflush(stdout);
  return 0;
}
