#include "collector/scraper.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/strings.h"

namespace candor::collector {

std::string UrlHostPort(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    rest = rest.substr(at + 1);
  }
  return std::string(rest);
}

namespace {

std::string HostOnly(std::string_view host_port) {
  if (!host_port.empty() && host_port.front() == '[') {
    return std::string(host_port.substr(1, host_port.find(']') - 1));
  }
  return std::string(host_port.substr(0, host_port.rfind(':')));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Scraper>> Scraper::Create(ScraperOptions options,
                                                         BatchProcessor& processor,
                                                         HttpFetcher& fetcher,
                                                         MetricsRegistry& metrics, Clock& clock) {
  auto scraper =
      std::unique_ptr<Scraper>(new Scraper(processor, fetcher, clock, std::move(options)));
  for (const ScrapeTarget& config : scraper->options_.targets) {
    auto t = std::make_unique<Target>();
    t->config = config;
    const std::string host_port = UrlHostPort(config.url);
    if (host_port.empty() ||
        !(config.url.starts_with("http://") || config.url.starts_with("https://"))) {
      return absl::InvalidArgumentError(
          absl::StrCat("scrape target \"", config.url, "\": url must be http(s)://host:port/path"));
    }
    if (t->config.name.empty()) t->config.name = config.url;
    if (t->config.replica.empty()) t->config.replica = host_port;
    if (t->config.node.empty()) t->config.node = HostOnly(host_port);
    if (!config.engine.empty()) {
      absl::StatusOr<Engine> engine = ParseEngine(config.engine);
      if (!engine.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("scrape target \"", t->config.name, "\": ", engine.status().message()));
      }
      t->engine = *engine;
    }
    if (config.interval <= absl::ZeroDuration() || config.timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat("scrape target \"", t->config.name,
                                                     "\": interval and timeout must be positive"));
    }
    const std::vector<Label> labels = {{"target", t->config.name}};
    t->up =
        &metrics.GetGauge("candor_scrape_up", "1 when the target's last scrape worked.", labels);
    t->duration = &metrics.GetGauge("candor_scrape_duration_seconds",
                                    "How long the target's last scrape took.", labels);
    t->samples =
        &metrics.GetGauge("candor_scrape_samples", "Samples on the target's last page.", labels);
    t->failures = &metrics.GetCounter("candor_scrape_failures_total",
                                      "Scrapes that produced nothing.", labels);
    t->resets = &metrics.GetCounter("candor_scrape_counter_resets_total",
                                    "Engine counter resets (restarts) seen.", labels);
    scraper->targets_.push_back(std::move(t));
  }
  return scraper;
}

absl::StatusOr<candor::v1::IngestAck> Scraper::Scrape(Target& t) {
  const absl::Time start = clock_.MonotonicNow();
  FetchRequest req;
  req.url = t.config.url;
  req.timeout = t.config.timeout;
  req.max_body_bytes = options_.max_page_bytes;
  req.ca_file = t.config.ca_file;
  req.headers.emplace_back(
      "Accept", "text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5,*/*;q=0.1");
  if (!t.config.bearer_token.empty()) {
    req.headers.emplace_back("Authorization", absl::StrCat("Bearer ", t.config.bearer_token));
  }
  std::vector<PromSample> samples;
  PromTextParser parser(options_.parser, [&](const PromSample& s) { samples.push_back(s); });
  absl::StatusOr<FetchResponse> resp =
      fetcher_.Fetch(req, [&](std::string_view chunk) { return parser.Feed(chunk); });
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return absl::UnavailableError(absl::StrCat(t.config.url, " answered HTTP ", resp->status));
  }
  absl::Status finished = parser.Finish();
  if (!finished.ok()) return finished;
  std::optional<Engine> engine = t.engine ? t.engine : DetectEngine(samples);
  if (!engine) {
    return absl::InvalidArgumentError(absl::StrCat(
        t.config.url, " serves no metrics of a known engine (", samples.size(), " samples)"));
  }
  ScrapeContext ctx{*engine,        clock_.Now(),          t.config.provider, t.config.region,
                    t.config.zone,  t.config.node,         t.config.replica,  t.config.gpu,
                    t.config.model, t.config.model_version};
  const uint64_t resets_before = t.counters.resets();
  t.counters.BeginScrape();
  MappedPage page = MapPage(ctx, samples, &t.counters);
  t.counters.EndScrape();
  t.resets->Increment(static_cast<double>(t.counters.resets() - resets_before));
  candor::v1::IngestBatch batch;
  for (auto& r : page.replicas) *batch.add_items()->mutable_replica_sample() = std::move(r);
  for (auto& g : page.gpus) *batch.add_items()->mutable_gpu_sample() = std::move(g);
  candor::v1::IngestAck ack = processor_.Process(batch);
  t.samples->Set(static_cast<double>(samples.size()));
  t.duration->Set(absl::ToDoubleSeconds(clock_.MonotonicNow() - start));
  if (ack.code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(ack.code()),
                        absl::StrCat("scraped samples not stored: ", ack.message()));
  }
  for (const auto& reject : ack.rejects()) {
    CANDOR_LOG_WARN(
        "scrape", "scraped sample refused",
        {{"target", t.config.name}, {"field", reject.field()}, {"reason", reject.reason()}});
  }
  return ack;
}

absl::StatusOr<candor::v1::IngestAck> Scraper::ScrapeNow(size_t index) {
  Target& t = *targets_.at(index);
  absl::StatusOr<candor::v1::IngestAck> result = Scrape(t);
  t.up->Set(result.ok() ? 1 : 0);
  if (!result.ok()) {
    t.failures->Increment();
    CANDOR_LOG_WARN("scrape", "scrape failed",
                    {{"target", t.config.name}, {"error", result.status().ToString()}});
  }
  return result;
}

int Scraper::RunOnce() {
  int scraped = 0;
  for (size_t i = 0; i < targets_.size(); ++i) {
    Target& t = *targets_[i];
    const absl::Time now = clock_.MonotonicNow();
    if (now < t.next_due) continue;
    // Scrapes keep their phase: the next one is due an interval after this one was due.
    t.next_due = t.next_due == absl::InfinitePast() || now - t.next_due > t.config.interval
                     ? now + t.config.interval
                     : t.next_due + t.config.interval;
    (void)ScrapeNow(i);
    ++scraped;
  }
  return scraped;
}

}  // namespace candor::collector
