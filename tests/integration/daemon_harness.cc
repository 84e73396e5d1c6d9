#include "tests/integration/daemon_harness.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace candor::testing {
namespace {

std::string FieldOf(const std::string& line, std::string_view key) {
  const std::string needle = absl::StrCat(" ", Sv(key), "=");
  const size_t at = line.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  const size_t end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

absl::StatusOr<RunningDaemon> StartDaemon(const std::string& data_dir,
                                          std::vector<std::string> extra) {
  std::vector<std::string> argv = {
      BuildPath("daemon/candor"), "serve", "--storage.path=" + data_dir,
      "--grpc.listen-address=127.0.0.1:0", "--http.listen-address=127.0.0.1:0"};
  for (std::string& e : extra) argv.push_back(std::move(e));
  auto process = Subprocess::Start(std::move(argv));
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> line = (*process)->WaitForLine("candor is serving");
  if (!line.ok()) return line.status();
  RunningDaemon d;
  d.grpc_address = FieldOf(*line, "grpc");
  const std::string http = FieldOf(*line, "http");
  if (d.grpc_address.empty() || !absl::SimpleAtoi(http.substr(http.rfind(':') + 1), &d.http_port)) {
    return absl::InternalError(absl::StrCat("cannot parse addresses from: ", *line));
  }
  d.process = *std::move(process);
  return d;
}

}  // namespace candor::testing
