#include "cuda-profiler/testing/fake_ingest_server.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.grpc.pb.h"

namespace candor::cuda_profiler::testing {
namespace {

struct Reply {
  std::optional<absl::Status> status;
  candor::v1::IngestAck ack;
  std::optional<absl::Duration> retry_after = std::nullopt;  // Sent as a trailer.
};

class Service final : public candor::v1::Ingest::Service {
 public:
  grpc::Status Write(grpc::ServerContext* context, const candor::v1::IngestBatch* batch,
                     candor::v1::IngestAck* ack) override {
    const Reply reply = Handle(*batch);
    if (reply.retry_after) {
      context->AddTrailingMetadata("retry-after-ms",
                                   std::to_string(absl::ToInt64Milliseconds(*reply.retry_after)));
    }
    if (reply.status) {
      return grpc::Status(static_cast<grpc::StatusCode>(reply.status->code()),
                          std::string(reply.status->message()));
    }
    *ack = reply.ack;
    return grpc::Status::OK;
  }

  grpc::Status Stream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<candor::v1::IngestAck, candor::v1::IngestBatch>* stream) override {
    candor::v1::IngestBatch batch;
    while (stream->Read(&batch)) {
      const Reply reply = Handle(batch);
      candor::v1::IngestAck ack = reply.ack;
      if (reply.status) {
        ack.set_code(static_cast<int32_t>(reply.status->code()));
        ack.set_message(std::string(reply.status->message()));
      }
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }

  void Script(Reply r) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(r));
  }

  std::vector<candor::v1::IngestBatch> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  std::vector<candor::v1::KernelSummary> accepted() const {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }

  bool WaitFor(size_t n, Clock& clock, absl::Time deadline) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return accepted_.size() >= n; };
    return clock.AwaitWithDeadline(&mu_, absl::Condition(&enough), deadline);
  }

 private:
  Reply Handle(const candor::v1::IngestBatch& batch) {
    absl::MutexLock lock(&mu_);
    batches_.push_back(batch);
    Reply reply;
    if (!script_.empty()) {
      reply = std::move(script_.front());
      script_.pop_front();
    }
    reply.ack.set_batch_id(batch.batch_id());
    const bool accepted = !reply.status && reply.ack.code() == 0;
    if (accepted) {
      if (reply.ack.accepted() == 0 && reply.ack.rejects_size() == 0) {
        reply.ack.set_accepted(static_cast<uint32_t>(batch.items_size()));
      }
      for (const auto& item : batch.items()) {
        if (item.has_kernel_summary()) accepted_.push_back(item.kernel_summary());
      }
    }
    return reply;
  }

  mutable absl::Mutex mu_;
  std::deque<Reply> script_ ABSL_GUARDED_BY(mu_);
  std::vector<candor::v1::IngestBatch> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<candor::v1::KernelSummary> accepted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

struct FakeIngestServer::Impl {
  Service service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  absl::Mutex mu;
  bool shut_down ABSL_GUARDED_BY(mu) = false;
};

absl::StatusOr<std::unique_ptr<FakeIngestServer>> FakeIngestServer::Start(int port) {
  auto impl = std::make_unique<Impl>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                           &impl->port);
  builder.RegisterService(&impl->service);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on 127.0.0.1:", port));
  }
  return std::unique_ptr<FakeIngestServer>(new FakeIngestServer(std::move(impl)));
}

FakeIngestServer::FakeIngestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FakeIngestServer::~FakeIngestServer() { Shutdown(); }

int FakeIngestServer::port() const { return impl_->port; }

std::string FakeIngestServer::target() const { return absl::StrCat("127.0.0.1:", impl_->port); }

void FakeIngestServer::ScriptStatus(absl::Status status) {
  impl_->service.Script(Reply{std::move(status), {}, std::nullopt});
}

void FakeIngestServer::ScriptOverload(absl::Duration retry_after) {
  impl_->service.Script(Reply{absl::ResourceExhaustedError("overloaded"), {}, retry_after});
}

void FakeIngestServer::ScriptAck(candor::v1::IngestAck ack) {
  impl_->service.Script(Reply{std::nullopt, std::move(ack), std::nullopt});
}

std::vector<candor::v1::IngestBatch> FakeIngestServer::batches() const {
  return impl_->service.batches();
}

std::vector<candor::v1::KernelSummary> FakeIngestServer::accepted_summaries() const {
  return impl_->service.accepted();
}

bool FakeIngestServer::WaitForAcceptedSummaries(size_t n, Clock& clock, absl::Time deadline) const {
  return impl_->service.WaitFor(n, clock, deadline);
}

void FakeIngestServer::Shutdown() {
  {
    absl::MutexLock lock(&impl_->mu);
    if (impl_->shut_down) return;
    impl_->shut_down = true;
  }
  impl_->server->Shutdown();
  impl_->server->Wait();
}

}  // namespace candor::cuda_profiler::testing
