// Bearer-token authentication shared by candor's listeners (gRPC ingest, HTTP API).
//
// Each client has a name and a secret token. A request carries `authorization: Bearer
// <token>`; the authenticator hashes the presented token (SHA-256) and compares the digest
// with every configured token's digest in constant time, without stopping at a match, so
// neither the position nor a prefix of a valid token leaks through timing. With no tokens
// configured, authentication is off.
//
// Thread safety: immutable after construction; safe from any thread.

#ifndef CANDOR_COMMON_BEARER_AUTH_H_
#define CANDOR_COMMON_BEARER_AUTH_H_

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http.h"
#include "common/metrics.h"

namespace candor {

struct BearerToken {
  std::string client;  // Name of the client, for logs and metrics. Required, unique.
  std::string token;   // The secret. Required, at least 16 bytes, no whitespace.
};

class BearerAuthenticator {
 public:
  // Authentication off.
  BearerAuthenticator() = default;
  // InvalidArgumentError naming the client for an empty name, a duplicate name, or a token
  // shorter than 16 bytes or containing whitespace.
  static absl::StatusOr<BearerAuthenticator> Create(const std::vector<BearerToken>& tokens);

  bool enabled() const { return !clients_.empty(); }

  // The index of the client whose token `authorization` carries ("Bearer <token>", the
  // scheme case-insensitive), or -1 when it carries none or an unknown token.
  int Authenticate(std::string_view authorization) const;

  const std::string& client(int index) const { return clients_[static_cast<size_t>(index)]; }
  size_t size() const { return clients_.size(); }

 private:
  std::vector<std::string> clients_;
  std::vector<std::array<unsigned char, 32>> digests_;
};

// Wraps `handler` so that, with `auth` enabled, a request without a valid bearer token gets
// 401 with `WWW-Authenticate: Bearer` and never reaches `handler`. `failures` (may be null)
// counts refusals. `auth` must outlive the returned handler.
HttpHandler RequireBearer(const BearerAuthenticator& auth, HttpHandler handler, Counter* failures);

}  // namespace candor

#endif  // CANDOR_COMMON_BEARER_AUTH_H_
