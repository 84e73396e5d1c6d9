#include "collector/ingest_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.grpc.pb.h"

namespace candor::collector {

struct IngestStreamClient::Impl {
  Clock* clock = nullptr;
  IngestClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<candor::v1::Ingest::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<candor::v1::IngestBatch, candor::v1::IngestAck>> stream;
  bool closed = false;
};

IngestStreamClient::IngestStreamClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

IngestStreamClient::~IngestStreamClient() {
  if (impl_ != nullptr && !impl_->closed) (void)Close();
}

absl::StatusOr<std::unique_ptr<IngestStreamClient>> IngestStreamClient::Connect(
    const std::string& address, Clock& clock, IngestClientOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->clock = &clock;
  impl->options = options;
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  impl->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  const absl::Time deadline = clock.Now() + options.connect_timeout;
  if (!impl->channel->WaitForConnected(absl::ToChronoTime(deadline))) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
  }
  impl->stub = candor::v1::Ingest::NewStub(impl->channel);
  impl->stream = impl->stub->Stream(&impl->context);
  if (impl->stream == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot open a stream to ", address));
  }
  return std::unique_ptr<IngestStreamClient>(new IngestStreamClient(std::move(impl)));
}

absl::StatusOr<candor::v1::IngestAck> IngestStreamClient::Send(
    const candor::v1::IngestBatch& batch) {
  if (impl_->closed) return absl::FailedPreconditionError("the stream is closed");
  for (int attempt = 0;; ++attempt) {
    candor::v1::IngestAck ack;
    if (!impl_->stream->Write(batch) || !impl_->stream->Read(&ack)) {
      return absl::UnavailableError("the ingest stream broke");
    }
    if (ack.code() != static_cast<int>(absl::StatusCode::kResourceExhausted)) return ack;
    if (attempt >= impl_->options.max_retries) {
      return absl::ResourceExhaustedError(
          absl::StrCat("batch refused ", attempt + 1, " times: ", ack.message()));
    }
    absl::Duration wait = absl::Milliseconds(200);
    if (ack.has_retry_after()) {
      wait =
          absl::Seconds(ack.retry_after().seconds()) + absl::Nanoseconds(ack.retry_after().nanos());
    }
    absl::Mutex mu;
    const bool never = false;
    absl::MutexLock lock(&mu);
    impl_->clock->AwaitWithDeadline(&mu, absl::Condition(&never),
                                    impl_->clock->MonotonicNow() + wait);
  }
}

absl::Status IngestStreamClient::Close() {
  if (impl_->closed) return absl::OkStatus();
  impl_->closed = true;
  impl_->stream->WritesDone();
  const grpc::Status s = impl_->stream->Finish();
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace candor::collector
