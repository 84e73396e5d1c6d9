#include "common/bearer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>

#include "absl/strings/str_cat.h"

namespace candor {
namespace {

std::array<unsigned char, 32> Sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  // One-shot SHA-256 of a memory buffer cannot fail short of memory exhaustion.
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

bool HasSpace(std::string_view s) {
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<BearerAuthenticator> BearerAuthenticator::Create(
    const std::vector<BearerToken>& tokens) {
  BearerAuthenticator auth;
  for (const BearerToken& t : tokens) {
    if (t.client.empty()) return absl::InvalidArgumentError("a bearer token has no client name");
    for (const std::string& c : auth.clients_) {
      if (c == t.client) {
        return absl::InvalidArgumentError(
            absl::StrCat("client \"", t.client, "\" is listed twice"));
      }
    }
    if (t.token.size() < 16 || HasSpace(t.token)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the token of client \"", t.client, "\" must be at least 16 bytes with no whitespace"));
    }
    const std::array<unsigned char, 32> digest = Sha256(t.token);
    for (size_t i = 0; i < auth.digests_.size(); ++i) {
      if (auth.digests_[i] == digest) {
        return absl::InvalidArgumentError(absl::StrCat("clients \"", auth.clients_[i], "\" and \"",
                                                       t.client, "\" have the same token"));
      }
    }
    auth.clients_.push_back(t.client);
    auth.digests_.push_back(digest);
  }
  return auth;
}

int BearerAuthenticator::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return -1;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return -1;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.remove_suffix(1);
  if (token.empty()) return -1;
  const std::array<unsigned char, 32> presented = Sha256(token);
  int found = -1;
  for (size_t i = 0; i < digests_.size(); ++i) {
    const bool same = CRYPTO_memcmp(presented.data(), digests_[i].data(), presented.size()) == 0;
    // Branch-free select: every digest is compared whatever matched before.
    const int mask = -static_cast<int>(same);
    found = (found & ~mask) | (static_cast<int>(i) & mask);
  }
  return found;
}

HttpHandler RequireBearer(const BearerAuthenticator& auth, HttpHandler handler, Counter* failures) {
  return [&auth, handler = std::move(handler), failures](const HttpRequest& req) {
    if (auth.enabled() && auth.Authenticate(req.Header("authorization")) < 0) {
      if (failures != nullptr) failures->Increment();
      HttpResponse resp = HttpResponse::Json(
          401, "{\"status\":\"error\",\"error\":\"missing or invalid bearer token\"}");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"candor\"");
      return resp;
    }
    return handler(req);
  };
}

}  // namespace candor
