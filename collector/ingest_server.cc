#include "collector/ingest_server.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.grpc.pb.h"
#include "common/log.h"
#include "common/strings.h"

namespace candor::collector {
namespace {

using candor::v1::IngestAck;
using RawService = candor::v1::Ingest::WithRawCallbackMethod_Stream<
    candor::v1::Ingest::WithRawCallbackMethod_Write<candor::v1::Ingest::Service>>;

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

grpc::ByteBuffer ToBuffer(const IngestAck& ack) {
  const std::string bytes = ack.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

IngestAck Refusal(absl::StatusCode code, std::string message, absl::Duration retry_after) {
  IngestAck ack;
  ack.set_code(static_cast<int32_t>(code));
  ack.set_message(std::move(message));
  if (retry_after > absl::ZeroDuration()) {
    ack.mutable_retry_after()->set_seconds(absl::ToInt64Seconds(retry_after));
    ack.mutable_retry_after()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(retry_after % absl::Seconds(1))));
  }
  return ack;
}

struct Job {
  std::string bytes;
  std::function<void(IngestAck)> done;
};

// The server's shared state, seen by the reactors and the workers.
struct Core {
  IngestServerOptions options;
  BatchProcessor* processor = nullptr;
  Clock* clock = nullptr;
  Counter* refused_overloaded = nullptr;
  Counter* refused_unavailable = nullptr;
  Gauge* queue_batches = nullptr;
  Gauge* queue_bytes = nullptr;
  Gauge* streams = nullptr;

  absl::Mutex mu;
  std::deque<Job> queue ABSL_GUARDED_BY(mu);
  size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;
  int running ABSL_GUARDED_BY(mu) = 0;
  bool draining ABSL_GUARDED_BY(mu) = false;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::vector<std::thread> workers;

  std::unique_ptr<RawService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string host;
  bool shut_down = false;

  // Queues `job`, or returns the refusal to send instead.
  std::optional<IngestAck> TryEnqueue(Job job) {
    absl::MutexLock lock(&mu);
    if (draining) {
      refused_unavailable->Increment();
      return Refusal(absl::StatusCode::kUnavailable, "candor is shutting down; retry elsewhere",
                     absl::ZeroDuration());
    }
    if (queue.size() >= options.max_queued_batches ||
        queued_bytes + job.bytes.size() > options.max_queued_bytes) {
      refused_overloaded->Increment();
      return Refusal(
          absl::StatusCode::kResourceExhausted,
          absl::StrCat("ingest queue is full (", queue.size(), " batches, ", queued_bytes,
                       " bytes); retry after ", absl::FormatDuration(options.retry_after)),
          options.retry_after);
    }
    queued_bytes += job.bytes.size();
    queue.push_back(std::move(job));
    queue_batches->Set(static_cast<double>(queue.size()));
    queue_bytes->Set(static_cast<double>(queued_bytes));
    return std::nullopt;
  }

  void WorkerLoop() {
    while (true) {
      Job job;
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(
            +[](Core* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->stop || !s->queue.empty(); },
            this));
        if (queue.empty()) return;  // Stopping and nothing left.
        job = std::move(queue.front());
        queue.pop_front();
        queued_bytes -= job.bytes.size();
        queue_batches->Set(static_cast<double>(queue.size()));
        queue_bytes->Set(static_cast<double>(queued_bytes));
        ++running;
      }
      IngestAck ack = processor->ProcessSerialized(job.bytes);
      job.done(std::move(ack));
      absl::MutexLock lock(&mu);
      --running;
    }
  }

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return queue.empty() && running == 0; }
};

// One bidirectional Stream call: reads batches, keeps several in flight, writes acks in order.
class StreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit StreamReactor(Core* server) : server_(server) {
    server_->streams->Increment();
    Act([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return Plan(); });
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Act([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        reading_ = false;
        read_closed_ = true;
        return Plan();
      });
      return;
    }
    auto slot = std::make_shared<Slot>();
    std::string bytes = Flatten(read_buf_);
    {
      absl::MutexLock lock(&mu_);
      pending_.push_back(slot);
    }
    std::optional<IngestAck> refusal =
        server_->TryEnqueue({std::move(bytes), [this, slot](IngestAck ack) {
                               Act([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                                 slot->ack = std::move(ack);
                                 return Plan();
                               });
                             }});
    Act([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      reading_ = false;
      if (refusal) slot->ack = *std::move(refusal);
      return Plan();
    });
  }

  void OnWriteDone(bool ok) override {
    Act([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      writing_ = false;
      if (!ok) broken_ = true;
      return Plan();
    });
  }

  void OnCancel() override {
    Act([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      broken_ = true;
      return Plan();
    });
  }

  void OnDone() override {
    server_->streams->Decrement();
    delete this;
  }

 private:
  struct Slot {
    std::optional<IngestAck> ack;
  };

  // What to ask of gRPC after releasing mu_: gRPC may run reactions inline on the calling
  // thread, so Start*/Finish are never called with the lock held.
  struct Actions {
    bool write = false;
    bool read = false;
    bool finish = false;
    grpc::Status status;
  };

  template <typename F>
  void Act(F&& update) {
    Actions a;
    {
      absl::MutexLock lock(&mu_);
      a = update();
    }
    if (a.write) StartWrite(&write_buf_);
    if (a.read) StartRead(&read_buf_);
    if (a.finish) Finish(a.status);  // May delete this: nothing may follow.
  }

  // Decides the next steps: write the next ready ack, resume reading, or finish.
  Actions Plan() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions a;
    if (finished_) return a;
    while (broken_ && !pending_.empty() && pending_.front()->ack.has_value()) {
      pending_.pop_front();  // The client is gone: acks of finished batches are dropped.
    }
    if (!broken_ && !writing_ && !pending_.empty() && pending_.front()->ack.has_value()) {
      write_buf_ = ToBuffer(*pending_.front()->ack);
      pending_.pop_front();
      writing_ = true;
      a.write = true;
    }
    if (!broken_ && !read_closed_ && !reading_ &&
        pending_.size() < server_->options.max_in_flight_per_stream) {
      reading_ = true;
      a.read = true;
    }
    const bool reads_over = read_closed_ || (broken_ && !reading_);
    if (reads_over && pending_.empty() && !writing_ && !a.write) {
      finished_ = true;
      a.finish = true;
      a.status = broken_ ? grpc::Status::CANCELLED : grpc::Status::OK;
    }
    return a;
  }

  Core* server_;
  absl::Mutex mu_;
  grpc::ByteBuffer read_buf_;
  grpc::ByteBuffer write_buf_;
  std::deque<std::shared_ptr<Slot>> pending_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class Service final : public RawService {
 public:
  explicit Service(Core* server) : server_(server) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Stream(
      grpc::CallbackServerContext*) override {
    return new StreamReactor(server_);
  }

  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto finish = [reactor, context, response](IngestAck ack) {
      if (ack.code() != 0) {
        if (ack.has_retry_after()) {
          const int64_t ms =
              ack.retry_after().seconds() * 1000 + ack.retry_after().nanos() / 1000000;
          context->AddTrailingMetadata("retry-after-ms", std::to_string(ms));
        }
        reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(ack.code()), ack.message()));
        return;
      }
      *response = ToBuffer(ack);
      reactor->Finish(grpc::Status::OK);
    };
    std::optional<IngestAck> refusal = server_->TryEnqueue({Flatten(*request), finish});
    if (refusal) finish(*std::move(refusal));
    return reactor;
  }

 private:
  Core* server_;
};

}  // namespace

struct IngestServer::Impl : Core {};

IngestServer::IngestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

IngestServer::~IngestServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<IngestServer>> IngestServer::Start(
    const IngestServerOptions& options, BatchProcessor& processor, MetricsRegistry& metrics,
    Clock& clock) {
  if (options.workers < 1 || options.workers > 64) {
    return absl::InvalidArgumentError("ingest workers must be 1–64");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->processor = &processor;
  impl->clock = &clock;
  constexpr std::string_view kRefusedHelp = "Ingest batches refused whole, by reason.";
  impl->refused_overloaded = &metrics.GetCounter("candor_ingest_refused_batches_total",
                                                 kRefusedHelp, {{"reason", "overloaded"}});
  impl->refused_unavailable = &metrics.GetCounter("candor_ingest_refused_batches_total",
                                                  kRefusedHelp, {{"reason", "shutting_down"}});
  impl->queue_batches =
      &metrics.GetGauge("candor_ingest_queue_batches", "Batches waiting for an ingest worker.");
  impl->queue_bytes =
      &metrics.GetGauge("candor_ingest_queue_bytes", "Bytes of batches waiting for a worker.");
  impl->streams = &metrics.GetGauge("candor_ingest_streams", "Open ingest streams.");

  impl->service = std::make_unique<Service>(impl.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &impl->port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", options.listen_address));
  }
  impl->host = options.listen_address.substr(0, options.listen_address.rfind(':'));
  for (int i = 0; i < options.workers; ++i) {
    impl->workers.emplace_back([raw = impl.get()] { raw->WorkerLoop(); });
  }
  return std::unique_ptr<IngestServer>(new IngestServer(std::move(impl)));
}

int IngestServer::port() const { return impl_->port; }

std::string IngestServer::address() const { return absl::StrCat(impl_->host, ":", impl_->port); }

void IngestServer::Shutdown(absl::Duration grace) {
  Impl& s = *impl_;
  if (s.shut_down) return;
  s.shut_down = true;
  {
    absl::MutexLock lock(&s.mu);
    s.draining = true;
    s.clock->AwaitWithDeadline(
        &s.mu,
        absl::Condition(
            +[](Impl* impl) ABSL_NO_THREAD_SAFETY_ANALYSIS { return impl->Idle(); }, &s),
        s.clock->MonotonicNow() + grace);
  }
  // Everything accepted so far is durable and acknowledged; close the listener and cancel
  // whatever calls remain open.
  s.server->Shutdown(absl::ToChronoTime(s.clock->Now()));
  {
    absl::MutexLock lock(&s.mu);
    s.stop = true;
  }
  for (std::thread& t : s.workers) t.join();
  s.workers.clear();
  s.server->Wait();
}

}  // namespace candor::collector
