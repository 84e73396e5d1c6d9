#include "collector/ingest_server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "candor/v1/ingest.grpc.pb.h"
#include "collector/admission.h"
#include "common/log.h"
#include "common/status.h"
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

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read gRPC TLS ", Sv(what), " ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The server's shared state, seen by the reactors and the workers.
struct Core {
  explicit Core(const IngestServerOptions& o)
      : options(o),
        queue(AdmissionOptions{o.max_queued_batches, o.max_queued_bytes, o.low_watermark,
                               o.normal_watermark}) {}

  IngestServerOptions options;
  BatchProcessor* processor = nullptr;
  Clock* clock = nullptr;
  std::array<Counter*, kNumPriorities> refused_overloaded{};
  std::array<Counter*, kNumPriorities> admitted{};
  Counter* refused_unavailable = nullptr;
  Counter* refused_unauthenticated = nullptr;
  Counter* refused_streams = nullptr;
  std::vector<Counter*> client_batches;
  Gauge* queue_batches = nullptr;
  Gauge* queue_bytes = nullptr;
  Gauge* streams = nullptr;
  std::atomic<size_t> open_streams{0};

  AdmissionQueue<Job> queue;
  std::vector<std::thread> workers;

  std::unique_ptr<RawService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string host;
  bool shut_down = false;

  void UpdateGauges() {
    queue_batches->Set(static_cast<double>(queue.queued_batches()));
    queue_bytes->Set(static_cast<double>(queue.charged_bytes()));
  }

  // Queues `job`, or returns the refusal to send instead.
  std::optional<IngestAck> TryEnqueue(Job job) {
    const Priority p = ClassifyBatch(job.bytes).priority;
    const size_t size = job.bytes.size();
    switch (queue.Push(p, size, std::move(job))) {
      case AdmissionQueue<Job>::Verdict::kAdmitted:
        admitted[static_cast<size_t>(p)]->Increment();
        UpdateGauges();
        return std::nullopt;
      case AdmissionQueue<Job>::Verdict::kClosed:
        refused_unavailable->Increment();
        return Refusal(absl::StatusCode::kUnavailable, "candor is shutting down; retry elsewhere",
                       absl::ZeroDuration());
      case AdmissionQueue<Job>::Verdict::kOverloaded:
        break;
    }
    refused_overloaded[static_cast<size_t>(p)]->Increment();
    return Refusal(absl::StatusCode::kResourceExhausted,
                   absl::StrCat("candor is overloaded: the ingest queue is at its limit for ",
                                Sv(PriorityName(p)), "-priority batches (", queue.queued_batches(),
                                " batches, ", queue.charged_bytes(), " bytes); retry after ",
                                absl::FormatDuration(options.retry_after)),
                   options.retry_after);
  }

  void WorkerLoop() {
    while (true) {
      std::optional<std::pair<size_t, Job>> next = queue.Pop();
      if (!next) return;  // Stopping and nothing left.
      UpdateGauges();
      IngestAck ack = processor->ProcessSerialized(next->second.bytes);
      next->second.done(std::move(ack));
      queue.Release(next->first);
      UpdateGauges();
    }
  }

  // The client index of an authenticated call, -1 when authentication is off, or nullopt
  // when the call must be refused (and is counted).
  std::optional<int> Authenticate(const grpc::CallbackServerContext* context) {
    if (options.auth == nullptr || !options.auth->enabled()) return -1;
    const auto& md = context->client_metadata();
    auto it = md.find("authorization");
    const int client =
        it == md.end()
            ? -1
            : options.auth->Authenticate(std::string_view(it->second.data(), it->second.size()));
    if (client < 0) {
      refused_unauthenticated->Increment();
      return std::nullopt;
    }
    return client;
  }
};

grpc::Status Unauthenticated() {
  return grpc::Status(
      grpc::StatusCode::UNAUTHENTICATED,
      "missing or invalid bearer token (metadata \"authorization: Bearer <token>\")");
}

// Answers a Stream call with a final status without reading anything.
class RefusedStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// One bidirectional Stream call: reads batches, keeps several in flight, writes acks in order.
class StreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamReactor(Core* server, Counter* client_batches)
      : server_(server), client_batches_(client_batches) {
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
    if (client_batches_ != nullptr) client_batches_->Increment();
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
    server_->open_streams.fetch_sub(1);
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
  Counter* client_batches_;
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
      grpc::CallbackServerContext* context) override {
    const std::optional<int> client = server_->Authenticate(context);
    if (!client) return new RefusedStream(Unauthenticated());
    if (server_->open_streams.fetch_add(1) >= server_->options.max_streams) {
      server_->open_streams.fetch_sub(1);
      server_->refused_streams->Increment();
      return new RefusedStream(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("candor has ", server_->options.max_streams,
                       " ingest streams open, its limit; retry later or use fewer streams")));
    }
    return new StreamReactor(
        server_, *client >= 0 ? server_->client_batches[static_cast<size_t>(*client)] : nullptr);
  }

  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const std::optional<int> client = server_->Authenticate(context);
    if (!client) {
      reactor->Finish(Unauthenticated());
      return reactor;
    }
    if (*client >= 0) server_->client_batches[static_cast<size_t>(*client)]->Increment();
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

struct IngestServer::Impl : Core {
  using Core::Core;
};

IngestServer::IngestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

IngestServer::~IngestServer() { Shutdown(absl::ZeroDuration()); }

static absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const IngestTlsOptions& tls) {
  if (tls.cert_file.empty()) {
    if (!tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError("gRPC client_ca_file (mutual TLS) needs cert_file");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.key_file.empty()) {
    return absl::InvalidArgumentError("gRPC TLS cert_file is set but key_file is empty");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  CANDOR_ASSIGN_OR_RETURN(pair.cert_chain, ReadFile(tls.cert_file, "certificate"));
  CANDOR_ASSIGN_OR_RETURN(pair.private_key, ReadFile(tls.key_file, "key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file.empty()) {
    CANDOR_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(tls.client_ca_file, "client CA"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::unique_ptr<IngestServer>> IngestServer::Start(
    const IngestServerOptions& options, BatchProcessor& processor, MetricsRegistry& metrics,
    Clock& clock) {
  if (options.workers < 1 || options.workers > 64) {
    return absl::InvalidArgumentError("ingest workers must be 1–64");
  }
  if (options.max_streams < 1 ||
      !(options.low_watermark > 0 && options.low_watermark <= options.normal_watermark &&
        options.normal_watermark <= 1)) {
    return absl::InvalidArgumentError(
        "ingest admission needs max_streams ≥ 1 and "
        "0 < low_watermark ≤ normal_watermark ≤ 1");
  }
  CANDOR_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                          Credentials(options.tls));
  auto impl = std::make_unique<Impl>(options);
  impl->processor = &processor;
  impl->clock = &clock;
  constexpr std::string_view kRefusedHelp = "Ingest batches refused whole, by reason.";
  for (int p = 0; p < kNumPriorities; ++p) {
    const std::string name(PriorityName(static_cast<Priority>(p)));
    impl->refused_overloaded[static_cast<size_t>(p)] =
        &metrics.GetCounter("candor_ingest_refused_batches_total", kRefusedHelp,
                            {{"reason", "overloaded"}, {"priority", name}});
    impl->admitted[static_cast<size_t>(p)] = &metrics.GetCounter(
        "candor_ingest_admitted_batches_total",
        "Ingest batches admitted to the queue, by priority class.", {{"priority", name}});
  }
  impl->refused_unavailable =
      &metrics.GetCounter("candor_ingest_refused_batches_total", kRefusedHelp,
                          {{"reason", "shutting_down"}, {"priority", "any"}});
  impl->refused_unauthenticated =
      &metrics.GetCounter("candor_ingest_refused_batches_total", kRefusedHelp,
                          {{"reason", "unauthenticated"}, {"priority", "any"}});
  impl->refused_streams =
      &metrics.GetCounter("candor_ingest_refused_batches_total", kRefusedHelp,
                          {{"reason", "too_many_streams"}, {"priority", "any"}});
  if (options.auth != nullptr) {
    for (size_t i = 0; i < options.auth->size(); ++i) {
      impl->client_batches.push_back(&metrics.GetCounter(
          "candor_ingest_client_batches_total", "Ingest batches received, by authenticated client.",
          {{"client", options.auth->client(static_cast<int>(i))}}));
    }
  }
  impl->queue_batches =
      &metrics.GetGauge("candor_ingest_queue_batches", "Batches waiting for an ingest worker.");
  impl->queue_bytes = &metrics.GetGauge(
      "candor_ingest_queue_bytes", "Bytes of batches waiting for a worker or being processed.");
  impl->streams = &metrics.GetGauge("candor_ingest_streams", "Open ingest streams.");

  impl->service = std::make_unique<Service>(impl.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, credentials, &impl->port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  grpc::ResourceQuota quota("candor-ingest");
  quota.Resize(options.max_transport_bytes);
  builder.SetResourceQuota(quota);
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
  s.queue.Close(/*stop=*/false);
  {
    absl::Mutex* mu = s.queue.mutex();
    absl::MutexLock lock(mu);
    s.clock->AwaitWithDeadline(
        mu,
        absl::Condition(
            +[](Impl* impl) ABSL_NO_THREAD_SAFETY_ANALYSIS { return impl->queue.IdleLocked(); },
            &s),
        s.clock->MonotonicNow() + grace);
  }
  // Everything accepted so far is durable and acknowledged; close the listener and cancel
  // whatever calls remain open.
  s.server->Shutdown(absl::ToChronoTime(s.clock->Now()));
  s.queue.Close(/*stop=*/true);
  for (std::thread& t : s.workers) t.join();
  s.workers.clear();
  s.server->Wait();
}

}  // namespace candor::collector
