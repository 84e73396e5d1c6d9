// Certificates for TLS tests, generated at test time with the openssl command-line tool: a CA,
// a server certificate for 127.0.0.1/localhost signed by it, a client certificate signed by
// it, and a client certificate from an unrelated CA (which a mutual-TLS server must refuse).

#ifndef CANDOR_TESTS_TESTING_TEST_PKI_H_
#define CANDOR_TESTS_TESTING_TEST_PKI_H_

#include <string>

#include "absl/status/statusor.h"

namespace candor::testing {

struct TestPki {
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string rogue_client_cert, rogue_client_key;
};

// Writes the files into `dir`. UnavailableError with openssl's output if it fails.
absl::StatusOr<TestPki> GenerateTestPki(const std::string& dir);

}  // namespace candor::testing

#endif  // CANDOR_TESTS_TESTING_TEST_PKI_H_
