#include "collector/ingest_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "candor/v1/ingest.grpc.pb.h"
#include "common/status.h"

namespace candor::collector {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

class Stream final : public IngestStream {
 public:
  Stream(candor::v1::Ingest::Stub* stub, const std::string& token) {
    if (!token.empty()) context_.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    rw_ = stub->Stream(&context_);
  }
  bool Write(const candor::v1::IngestBatch& batch) override { return rw_->Write(batch); }
  bool Read(candor::v1::IngestAck* ack) override { return rw_->Read(ack); }
  void WritesDone() override { rw_->WritesDone(); }
  absl::Status Finish() override { return FromGrpc(rw_->Finish()); }
  void Cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<candor::v1::IngestBatch, candor::v1::IngestAck>> rw_;
};

class Client final : public IngestClient {
 public:
  Client(std::shared_ptr<grpc::Channel> channel, std::string token)
      : channel_(std::move(channel)),
        stub_(candor::v1::Ingest::NewStub(channel_)),
        token_(std::move(token)) {}

  std::unique_ptr<IngestStream> OpenStream() override {
    return std::make_unique<Stream>(stub_.get(), token_);
  }

  absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                              int64_t* retry_after_ms) override {
    grpc::ClientContext ctx;
    if (!token_.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    candor::v1::IngestAck ack;
    const grpc::Status st = stub_->Write(&ctx, batch, &ack);
    if (retry_after_ms != nullptr) {
      *retry_after_ms = 0;
      const auto& trailers = ctx.GetServerTrailingMetadata();
      if (auto it = trailers.find("retry-after-ms"); it != trailers.end()) {
        int64_t ms = 0;
        if (absl::SimpleAtoi(std::string(it->second.data(), it->second.size()), &ms)) {
          *retry_after_ms = ms;
        }
      }
    }
    if (!st.ok()) return FromGrpc(st);
    return ack;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<candor::v1::Ingest::Stub> stub_;
  std::string token_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<IngestClient>> IngestClient::Create(
    const IngestClientOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("no server address");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  args.SetMaxReceiveMessageSize(64 << 20);
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      CANDOR_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.ca_file));
    }
    if (!options.cert_file.empty()) {
      CANDOR_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(options.cert_file));
      CANDOR_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(options.key_file));
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.server_name.empty()) {
      args.SetSslTargetNameOverride(options.server_name);
    }
  }
  auto channel = grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<IngestClient>(new Client(std::move(channel), options.bearer_token));
}

}  // namespace candor::collector
