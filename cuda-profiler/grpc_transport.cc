#include "cuda-profiler/grpc_transport.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.grpc.pb.h"

namespace candor::cuda_profiler {
namespace {

class GrpcIngestTransport final : public IngestTransport {
 public:
  GrpcIngestTransport(Clock& clock, const std::string& target) : clock_(clock) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 10000);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);  // The Shipper owns retries.
    args.SetMaxSendMessageSize(16 << 20);
    channel_ = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    stub_ = candor::v1::Ingest::NewStub(channel_);
  }

  absl::StatusOr<candor::v1::IngestAck> Write(const candor::v1::IngestBatch& batch,
                                              absl::Duration timeout) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(clock_.Now() + timeout));
    {
      absl::MutexLock lock(&mu_);
      active_ = &context;
    }
    candor::v1::IngestAck ack;
    const grpc::Status status = stub_->Write(&context, batch, &ack);
    {
      absl::MutexLock lock(&mu_);
      active_ = nullptr;
    }
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      // candor refuses an overloaded unary call with a `retry-after-ms` trailer; hand it to
      // the shipper as the ack form of the same refusal, which carries the hint.
      return OverloadAck(context, status);
    }
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return ack;
  }

  static candor::v1::IngestAck OverloadAck(const grpc::ClientContext& context,
                                           const grpc::Status& status) {
    candor::v1::IngestAck ack;
    ack.set_code(static_cast<int32_t>(grpc::StatusCode::RESOURCE_EXHAUSTED));
    ack.set_message(status.error_message());
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto it = trailers.find("retry-after-ms"); it != trailers.end()) {
      int64_t ms = 0;
      if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms) &&
          ms > 0 && ms <= 3'600'000) {
        ack.mutable_retry_after()->set_seconds(ms / 1000);
        ack.mutable_retry_after()->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
      }
    }
    return ack;
  }

  void CancelInFlight() override {
    absl::MutexLock lock(&mu_);
    if (active_ != nullptr) active_->TryCancel();
  }

 private:
  Clock& clock_;
  absl::Mutex mu_;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<candor::v1::Ingest::Stub> stub_;
};

}  // namespace

std::unique_ptr<IngestTransport> MakeGrpcIngestTransport(Clock& clock, const std::string& target) {
  return std::make_unique<GrpcIngestTransport>(clock, target);
}

}  // namespace candor::cuda_profiler
