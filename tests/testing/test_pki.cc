#include "tests/testing/test_pki.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/subprocess.h"

namespace candor::testing {
namespace {

absl::Status Openssl(std::vector<std::string> args) {
  const std::string openssl = FindOnPath("openssl");
  if (openssl.empty()) return absl::UnavailableError("openssl is not on PATH");
  args.insert(args.begin(), openssl);
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(args);
  if (!p.ok()) return p.status();
  const std::string output = (*p)->WaitForOutputEnd();
  if ((*p)->Wait() != 0) {
    return absl::UnavailableError(absl::StrCat("openssl ", args[1], " failed: ", output));
  }
  return absl::OkStatus();
}

absl::Status MakeCa(const std::string& dir, const std::string& name) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-days", "2", "-subj", "/CN=" + name, "-keyout",
                  dir + "/" + name + ".key", "-out", dir + "/" + name + ".pem"});
}

absl::Status MakeLeaf(const std::string& dir, const std::string& ca, const std::string& name,
                      const std::string& ext) {
  const std::string base = dir + "/" + name;
  if (absl::Status s =
          Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-subj", "/CN=" + name, "-keyout", base + ".key", "-out", base + ".csr"});
      !s.ok()) {
    return s;
  }
  std::ofstream(base + ".ext") << ext << "\n";
  return Openssl({"x509", "-req", "-in", base + ".csr", "-CA", dir + "/" + ca + ".pem", "-CAkey",
                  dir + "/" + ca + ".key", "-CAcreateserial", "-days", "2", "-extfile",
                  base + ".ext", "-out", base + ".pem"});
}

}  // namespace

absl::StatusOr<TestPki> GenerateTestPki(const std::string& dir) {
  for (absl::Status s :
       {MakeCa(dir, "ca"), MakeCa(dir, "rogue-ca"),
        MakeLeaf(dir, "ca", "server",
                 "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
        MakeLeaf(dir, "ca", "client", "extendedKeyUsage=clientAuth"),
        MakeLeaf(dir, "rogue-ca", "rogue-client", "extendedKeyUsage=clientAuth")}) {
    if (!s.ok()) return s;
  }
  TestPki pki;
  pki.ca_cert = dir + "/ca.pem";
  pki.server_cert = dir + "/server.pem";
  pki.server_key = dir + "/server.key";
  pki.client_cert = dir + "/client.pem";
  pki.client_key = dir + "/client.key";
  pki.rogue_client_cert = dir + "/rogue-client.pem";
  pki.rogue_client_key = dir + "/rogue-client.key";
  return pki;
}

}  // namespace candor::testing
