#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/strings.h"

namespace candor::daemon {
namespace {

// One configurable option: its dotted key, documentation, and how to set it from text and
// print its current value.
struct Option {
  std::string key;
  std::string doc;
  std::function<absl::Status(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
  // Set for options whose value is a list of mappings.
  std::function<absl::Status(Config&, const YAML::Node&)> set_list = nullptr;
};

// One key of a list item.
template <typename T>
struct ItemField {
  std::string name;
  std::function<absl::Status(T&, const std::string&)> set;
};

template <typename T>
ItemField<T> StrField(std::string name, std::string T::*member) {
  return {name, [member](T& t, const std::string& v) {
            t.*member = v;
            return absl::OkStatus();
          }};
}

template <typename T>
ItemField<T> DurField(std::string name, absl::Duration T::*member) {
  return {name, [member](T& t, const std::string& v) -> absl::Status {
            CANDOR_ASSIGN_OR_RETURN(absl::Duration d, ParseDuration(v));
            if (d <= absl::ZeroDuration()) return absl::InvalidArgumentError("must be positive");
            t.*member = d;
            return absl::OkStatus();
          }};
}

// A secret read from a file: surrounding whitespace (a trailing newline) is dropped.
template <typename T>
ItemField<T> FileField(std::string name, std::string T::*member) {
  return {name, [member](T& t, const std::string& path) -> absl::Status {
            std::ifstream in(path);
            if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
            std::stringstream buffer;
            buffer << in.rdbuf();
            std::string text = buffer.str();
            const size_t b = text.find_first_not_of(" \t\r\n");
            const size_t e = text.find_last_not_of(" \t\r\n");
            t.*member = b == std::string::npos ? "" : text.substr(b, e - b + 1);
            return absl::OkStatus();
          }};
}

template <typename T>
Option ListOpt(std::string key, std::string doc, std::vector<ItemField<T>> fields,
               std::vector<std::string> required, std::function<std::vector<T>&(Config&)> member,
               std::function<std::string(const T&)> describe) {
  Option o;
  o.key = key;
  o.doc = doc;
  o.set = [key](Config&, const std::string&) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is a list; set it in the configuration file"));
  };
  o.get = [member, describe](const Config& c) {
    std::vector<std::string> parts;
    for (const T& t : member(const_cast<Config&>(c))) parts.push_back(describe(t));
    return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
  };
  o.set_list = [key, fields, required, member](Config& c, const YAML::Node& node) -> absl::Status {
    const std::string list_where = absl::StrCat("line ", node.Mark().line + 1, ": ");
    if (!node.IsSequence()) {
      return absl::InvalidArgumentError(
          absl::StrCat(list_where, "option \"", key, "\" takes a list of mappings"));
    }
    std::vector<T> items;
    for (const YAML::Node& element : node) {
      const std::string where = absl::StrCat("line ", element.Mark().line + 1, ": ");
      if (!element.IsMap()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "each item of \"", key, "\" must be a mapping"));
      }
      T item;
      std::vector<std::string> seen;
      for (const auto& entry : element) {
        const std::string name = entry.first.as<std::string>();
        const std::string at = absl::StrCat("line ", entry.first.Mark().line + 1, ": ");
        const ItemField<T>* field = nullptr;
        for (const ItemField<T>& f : fields) {
          if (f.name == name) field = &f;
        }
        if (field == nullptr) {
          std::vector<std::string> known;
          for (const ItemField<T>& f : fields) known.push_back(f.name);
          return absl::InvalidArgumentError(
              absl::StrCat(at, "unknown key \"", name, "\" in an item of \"", key,
                           "\" (known: ", absl::StrJoin(known, ", "), ")"));
        }
        if (!entry.second.IsScalar()) {
          return absl::InvalidArgumentError(
              absl::StrCat(at, "\"", key, "\" item key \"", name, "\" takes a single value"));
        }
        absl::Status st = field->set(item, entry.second.Scalar());
        if (!st.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(at, "\"", key, "\" item key \"", name, "\": ", st.message()));
        }
        seen.push_back(name);
      }
      for (const std::string& r : required) {
        if (std::find(seen.begin(), seen.end(), r) == seen.end()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, "an item of \"", key, "\" lacks \"", r, "\""));
        }
      }
      items.push_back(std::move(item));
    }
    member(c) = std::move(items);
    return absl::OkStatus();
  };
  return o;
}

template <typename Get>
Option FloatOpt(std::string key, std::string doc, double lo, double hi, Get get) {
  return {key, doc,
          [get, lo, hi](Config& c, const std::string& v) -> absl::Status {
            double d = 0;
            if (!absl::SimpleAtod(v, &d) || !(d >= lo && d <= hi)) {
              return absl::InvalidArgumentError(
                  absl::StrCat("\"", v, "\" is not a number in ", lo, "–", hi));
            }
            get(c) = d;
            return absl::OkStatus();
          },
          [get](const Config& c) { return absl::StrCat(get(const_cast<Config&>(c))); }};
}

std::vector<ItemField<collector::ScrapeTarget>> ScrapeFields() {
  using T = collector::ScrapeTarget;
  return {StrField<T>("name", &T::name),
          StrField<T>("url", &T::url),
          {"engine",
           [](T& t, const std::string& v) -> absl::Status {
             CANDOR_RETURN_IF_ERROR(collector::ParseEngine(v).status());
             t.engine = v;
             return absl::OkStatus();
           }},
          DurField<T>("interval", &T::interval),
          DurField<T>("timeout", &T::timeout),
          StrField<T>("provider", &T::provider),
          StrField<T>("region", &T::region),
          StrField<T>("zone", &T::zone),
          StrField<T>("node", &T::node),
          StrField<T>("replica", &T::replica),
          StrField<T>("gpu", &T::gpu),
          StrField<T>("model", &T::model),
          StrField<T>("model_version", &T::model_version),
          StrField<T>("bearer_token", &T::bearer_token),
          FileField<T>("bearer_token_file", &T::bearer_token),
          StrField<T>("ca_file", &T::ca_file)};
}

std::vector<ItemField<collector::ProbeTarget>> ProbeFields() {
  using T = collector::ProbeTarget;
  return {
      StrField<T>("name", &T::name),
      StrField<T>("url", &T::url),
      StrField<T>("model", &T::model),
      StrField<T>("prompt", &T::prompt),
      StrField<T>("expect_regex", &T::expect_regex),
      StrField<T>("expect_json_schema", &T::expect_json_schema),
      DurField<T>("interval", &T::interval),
      DurField<T>("timeout", &T::timeout),
      {"max_tokens",
       [](T& t, const std::string& v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &t.max_tokens) || t.max_tokens < 1 || t.max_tokens > 100'000) {
           return absl::InvalidArgumentError(
               absl::StrCat("\"", v, "\" is not an integer in 1–100000"));
         }
         return absl::OkStatus();
       }},
      StrField<T>("provider", &T::provider),
      StrField<T>("region", &T::region),
      StrField<T>("zone", &T::zone),
      StrField<T>("node", &T::node),
      StrField<T>("replica", &T::replica),
      StrField<T>("route", &T::route),
      StrField<T>("model_version", &T::model_version),
      StrField<T>("bearer_token", &T::bearer_token),
      FileField<T>("bearer_token_file", &T::bearer_token),
      StrField<T>("ca_file", &T::ca_file)};
}

std::string FormatDurationYaml(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "0s";
  const int64_t ms = absl::ToInt64Milliseconds(d);
  for (auto [unit, size] : {std::pair{"w", 7 * 86400000LL},
                            {"d", 86400000LL},
                            {"h", 3600000LL},
                            {"m", 60000LL},
                            {"s", 1000LL}}) {
    if (ms % size == 0) return absl::StrCat(ms / size, unit);
  }
  return absl::StrCat(ms, "ms");
}

template <typename Get>
Option StringOpt(std::string key, std::string doc, Get get) {
  return {key, doc,
          [get](Config& c, const std::string& v) {
            get(c) = v;
            return absl::OkStatus();
          },
          [get](const Config& c) { return get(const_cast<Config&>(c)); }};
}

template <typename T, typename Get>
Option IntOpt(std::string key, std::string doc, int64_t lo, int64_t hi, Get get) {
  return {key, doc,
          [get, lo, hi, key](Config& c, const std::string& v) -> absl::Status {
            int64_t n = 0;
            if (!absl::SimpleAtoi(v, &n) || n < lo || n > hi) {
              return absl::InvalidArgumentError(
                  absl::StrCat("\"", v, "\" is not an integer in ", lo, "–", hi));
            }
            get(c) = static_cast<T>(n);
            return absl::OkStatus();
          },
          [get](const Config& c) { return absl::StrCat(get(const_cast<Config&>(c))); }};
}

template <typename Get>
Option SizeOpt(std::string key, std::string doc, Get get) {
  return {key, doc,
          [get](Config& c, const std::string& v) -> absl::Status {
            CANDOR_ASSIGN_OR_RETURN(size_t n, ParseByteSize(v));
            get(c) = n;
            return absl::OkStatus();
          },
          [get](const Config& c) { return absl::StrCat(get(const_cast<Config&>(c))); }};
}

template <typename Get>
Option DurationOpt(std::string key, std::string doc, Get get) {
  return {key, doc,
          [get](Config& c, const std::string& v) -> absl::Status {
            CANDOR_ASSIGN_OR_RETURN(absl::Duration d, ParseDuration(v));
            get(c) = d;
            return absl::OkStatus();
          },
          [get](const Config& c) { return FormatDurationYaml(get(const_cast<Config&>(c))); }};
}

template <typename Get>
Option BoolOpt(std::string key, std::string doc, Get get) {
  return {key, doc,
          [get](Config& c, const std::string& v) -> absl::Status {
            if (v == "true") {
              get(c) = true;
            } else if (v == "false") {
              get(c) = false;
            } else {
              return absl::InvalidArgumentError(absl::StrCat("\"", v, "\" is not true or false"));
            }
            return absl::OkStatus();
          },
          [get](const Config& c) { return get(const_cast<Config&>(c)) ? "true" : "false"; }};
}

const std::vector<Option>& Options() {
  static const std::vector<Option>* options = new std::vector<Option>{
      StringOpt("storage.path", "Directory for candor's data (created if missing).",
                [](Config& c) -> std::string& { return c.storage_path; }),
      DurationOpt("storage.events.retention",
                  "How long the request log keeps raw items; whole days are dropped.",
                  [](Config& c) -> absl::Duration& { return c.events.retention; }),
      DurationOpt("storage.events.transition_retention", "How long state transitions are kept.",
                  [](Config& c) -> absl::Duration& { return c.events.transition_retention; }),
      BoolOpt("storage.events.sync",
              "fsync before acknowledging. Turning this off loses acknowledged data on a crash.",
              [](Config& c) -> bool& { return c.events.sync; }),
      SizeOpt("storage.events.write_buffer_bytes", "Memtable size per request-log partition.",
              [](Config& c) -> size_t& { return c.events.write_buffer_bytes; }),
      Option{"storage.events.id_index_memtable",
             "append-only (cheapest ingest; a lookup by id among the newest records sorts the "
             "live memtable, ~0.1 s) or hashed (fast lookups, ~6 us more CPU per request).",
             [](Config& c, const std::string& v) -> absl::Status {
               using Kind = store::EventLogOptions::IdMemtable;
               if (v == "append-only") {
                 c.events.id_memtable = Kind::kAppendOnly;
               } else if (v == "hashed") {
                 c.events.id_memtable = Kind::kHashed;
               } else {
                 return absl::InvalidArgumentError(
                     absl::StrCat("\"", v, "\" is not append-only or hashed"));
               }
               return absl::OkStatus();
             },
             [](const Config& c) -> std::string {
               return c.events.id_memtable == store::EventLogOptions::IdMemtable::kHashed
                          ? "hashed"
                          : "append-only";
             }},
      DurationOpt("storage.retention_interval", "How often retention runs.",
                  [](Config& c) -> absl::Duration& { return c.retention_interval; }),
      DurationOpt("storage.series.retention",
                  "How long the series store keeps raw samples; whole days are dropped.",
                  [](Config& c) -> absl::Duration& { return c.series.raw_retention; }),
      DurationOpt("storage.series.rollup_5m_retention", "How long 5-minute rollups are kept.",
                  [](Config& c) -> absl::Duration& { return c.series.rollup_5m_retention; }),
      DurationOpt("storage.series.rollup_1h_retention", "How long 1-hour rollups are kept.",
                  [](Config& c) -> absl::Duration& { return c.series.rollup_1h_retention; }),
      DurationOpt("storage.series.out_of_order_window",
                  "Samples this much older than their series' newest are still accepted.",
                  [](Config& c) -> absl::Duration& { return c.series.out_of_order_window; }),
      IntOpt<int64_t>("storage.series.max_series_per_metric",
                      "New series of one metric past this count are rejected.", 1, int64_t{1} << 40,
                      [](Config& c) -> int64_t& { return c.series.max_series_per_metric; }),
      DurationOpt("storage.series.maintenance_interval",
                  "How often the series store seals chunks, builds rollups and expires data.",
                  [](Config& c) -> absl::Duration& { return c.series_maintenance_interval; }),
      StringOpt("grpc.listen_address", "host:port of the gRPC Ingest service (port 0: any).",
                [](Config& c) -> std::string& { return c.grpc.listen_address; }),
      SizeOpt("grpc.max_message_bytes", "Largest accepted gRPC message.",
              [](Config& c) -> size_t& { return c.grpc.max_message_bytes; }),
      IntOpt<int>("grpc.workers", "Threads that validate and commit batches.", 1, 64,
                  [](Config& c) -> int& { return c.grpc.workers; }),
      IntOpt<size_t>("grpc.max_queued_batches",
                     "Batches waiting for a worker before RESOURCE_EXHAUSTED.", 0, 1 << 20,
                     [](Config& c) -> size_t& { return c.grpc.max_queued_batches; }),
      SizeOpt("grpc.max_queued_bytes", "Bytes waiting for a worker before RESOURCE_EXHAUSTED.",
              [](Config& c) -> size_t& { return c.grpc.max_queued_bytes; }),
      FloatOpt("grpc.low_watermark",
               "Share of the queue that low-priority batches (batch/shadow events) may fill.", 0, 1,
               [](Config& c) -> double& { return c.grpc.low_watermark; }),
      FloatOpt("grpc.normal_watermark",
               "Share of the queue that normal batches may fill; critical ones fill the rest.", 0,
               1, [](Config& c) -> double& { return c.grpc.normal_watermark; }),
      SizeOpt("grpc.max_transport_bytes",
              "Memory gRPC may use for connections and read buffers (its resource quota).",
              [](Config& c) -> size_t& { return c.grpc.max_transport_bytes; }),
      IntOpt<size_t>("grpc.max_streams", "Open ingest streams at once.", 1, 1 << 20,
                     [](Config& c) -> size_t& { return c.grpc.max_streams; }),
      StringOpt("grpc.tls.cert_file", "PEM certificate chain; set to serve gRPC over TLS.",
                [](Config& c) -> std::string& { return c.grpc.tls.cert_file; }),
      StringOpt("grpc.tls.key_file", "PEM private key of grpc.tls.cert_file.",
                [](Config& c) -> std::string& { return c.grpc.tls.key_file; }),
      StringOpt("grpc.tls.client_ca_file",
                "PEM CA bundle; set to require client certificates (mutual TLS).",
                [](Config& c) -> std::string& { return c.grpc.tls.client_ca_file; }),
      IntOpt<size_t>("grpc.max_in_flight_per_stream",
                     "Batches in flight per stream before the server stops reading it.", 1, 1024,
                     [](Config& c) -> size_t& { return c.grpc.max_in_flight_per_stream; }),
      DurationOpt("grpc.retry_after", "Retry hint sent with RESOURCE_EXHAUSTED.",
                  [](Config& c) -> absl::Duration& { return c.grpc.retry_after; }),
      DurationOpt("grpc.shutdown_grace",
                  "How long shutdown waits for in-flight batches to be acknowledged.",
                  [](Config& c) -> absl::Duration& { return c.shutdown_grace; }),
      StringOpt("http.listen_address", "host:port of the HTTP API and /metrics (port 0: any).",
                [](Config& c) -> std::string& { return c.http.listen_address; }),
      IntOpt<int>("http.threads", "HTTP worker threads.", 1, 256,
                  [](Config& c) -> int& { return c.http.num_threads; }),
      SizeOpt("http.max_body_bytes", "Largest accepted HTTP request body.",
              [](Config& c) -> size_t& { return c.http.max_body_bytes; }),
      StringOpt("http.tls.cert_file", "PEM certificate chain; set to serve HTTPS.",
                [](Config& c) -> std::string& { return c.http.tls.cert_file; }),
      StringOpt("http.tls.key_file", "PEM private key of http.tls.cert_file.",
                [](Config& c) -> std::string& { return c.http.tls.key_file; }),
      StringOpt("http.tls.client_ca_file",
                "PEM CA bundle; set to require client certificates (mutual TLS).",
                [](Config& c) -> std::string& { return c.http.tls.client_ca_file; }),
      IntOpt<size_t>("ingest.max_batch_items", "Most items in one batch.", 1, 1'000'000,
                     [](Config& c) -> size_t& { return c.ingest.max_batch_items; }),
      DurationOpt("ingest.max_age",
                  "Oldest accepted item timestamp; must not exceed storage.events.retention.",
                  [](Config& c) -> absl::Duration& { return c.ingest.validation.max_age; }),
      DurationOpt("ingest.max_future", "Furthest accepted timestamp in the future.",
                  [](Config& c) -> absl::Duration& { return c.ingest.validation.max_future; }),
      IntOpt<size_t>("ingest.max_name_bytes", "Longest identifier or name string.", 1, 65536,
                     [](Config& c) -> size_t& { return c.ingest.validation.max_name_bytes; }),
      IntOpt<size_t>("ingest.max_text_bytes", "Longest free-text string.", 1, 1 << 20,
                     [](Config& c) -> size_t& { return c.ingest.validation.max_text_bytes; }),
      IntOpt<size_t>("ingest.max_attributes", "Attribute entries per event.", 0, 4096,
                     [](Config& c) -> size_t& { return c.ingest.validation.max_attributes; }),
      IntOpt<size_t>("ingest.max_dependencies", "Dependency calls per event.", 0, 4096,
                     [](Config& c) -> size_t& { return c.ingest.validation.max_dependencies; }),
      IntOpt<size_t>(
          "ingest.max_entities_per_kind",
          "Distinct entities per kind (nodes, GPUs, routes, …); 0: no limit.", 0, 100'000'000,
          [](Config& c) -> size_t& { return c.ingest.cardinality.max_entities_per_kind; }),
      DurationOpt("ingest.entity_idle_ttl",
                  "An entity unseen this long may be forgotten when its kind is full.",
                  [](Config& c) -> absl::Duration& { return c.ingest.cardinality.idle_ttl; }),
      ListOpt<BearerToken>(
          "auth.tokens",
          "Clients allowed in: each item has client and token (or token_file). Empty: no "
          "authentication.",
          {StrField<BearerToken>("client", &BearerToken::client),
           StrField<BearerToken>("token", &BearerToken::token),
           FileField<BearerToken>("token_file", &BearerToken::token)},
          {"client"}, [](Config& c) -> std::vector<BearerToken>& { return c.auth_tokens; },
          [](const BearerToken& t) { return absl::StrCat("{client: ", t.client, "}"); }),
      BoolOpt("auth.http", "With tokens configured, require one on the HTTP API too.",
              [](Config& c) -> bool& { return c.auth_http; }),
      FloatOpt("health.availability_objective",
               "Fraction of requests that must succeed (/api/v1/health's SLO check).", 0.0, 1.0,
               [](Config& c) -> double& { return c.health.availability; }),
      FloatOpt("health.latency_p95_objective_ms",
               "Highest acceptable P95 latency in ms (/api/v1/health); 0: none.", 0.0, 1e9,
               [](Config& c) -> double& { return c.health.latency_p95_ms; }),
      BoolOpt("gpu.nvml.enabled", "Sample this host's GPUs through NVML into GpuSample items.",
              [](Config& c) -> bool& { return c.nvml_enabled; }),
      DurationOpt("gpu.nvml.interval", "How often the GPUs are sampled.",
                  [](Config& c) -> absl::Duration& { return c.nvml_interval; }),
      StringOpt("gpu.nvml.library", "The NVML library to load (a name or a path).",
                [](Config& c) -> std::string& { return c.nvml_library; }),
      StringOpt("gpu.nvml.node", "Node name stamped on the samples (default: the host name).",
                [](Config& c) -> std::string& { return c.nvml.node; }),
      StringOpt("gpu.nvml.provider", "Provider stamped on the samples.",
                [](Config& c) -> std::string& { return c.nvml.provider; }),
      StringOpt("gpu.nvml.region", "Region stamped on the samples.",
                [](Config& c) -> std::string& { return c.nvml.region; }),
      StringOpt("gpu.nvml.zone", "Zone stamped on the samples.",
                [](Config& c) -> std::string& { return c.nvml.zone; }),
      ListOpt<collector::ScrapeTarget>(
          "scrape.targets",
          "Engine /metrics pages to scrape: url (required), engine, interval, timeout, name, "
          "provider, region, zone, node, replica, gpu, model, model_version, bearer_token, "
          "bearer_token_file, ca_file.",
          ScrapeFields(), {"url"},
          [](Config& c) -> std::vector<collector::ScrapeTarget>& { return c.scrape.targets; },
          [](const collector::ScrapeTarget& t) { return t.url; }),
      SizeOpt("scrape.max_page_bytes", "Largest /metrics page accepted.",
              [](Config& c) -> size_t& { return c.scrape.max_page_bytes; }),
      ListOpt<collector::ProbeTarget>(
          "probe.targets",
          "OpenAI-compatible endpoints to probe: url and model (required), prompt, "
          "expect_regex, expect_json_schema, interval, timeout, max_tokens, name, provider, "
          "region, zone, node, replica, route, model_version, bearer_token, bearer_token_file, "
          "ca_file.",
          ProbeFields(), {"url", "model"},
          [](Config& c) -> std::vector<collector::ProbeTarget>& { return c.probes; },
          [](const collector::ProbeTarget& t) { return t.url; }),
      DurationOpt("detection.window",
                  "Event-time window of the per-entity signals (1s–5m); states change at "
                  "window ends.",
                  [](Config& c) -> absl::Duration& { return c.pipeline.signals.window; }),
      DurationOpt("detection.watermark_delay",
                  "How far window closing trails the newest event time.",
                  [](Config& c) -> absl::Duration& { return c.pipeline.signals.watermark_delay; }),
      DurationOpt("detection.allowed_lateness",
                  "Oldest accepted arrival disorder (at least 5m); older items are counted, "
                  "not aggregated.",
                  [](Config& c) -> absl::Duration& { return c.pipeline.signals.allowed_lateness; }),
      DurationOpt(
          "detection.min_dwell", "Shortest time a condition stays active once entered.",
          [](Config& c) -> absl::Duration& { return c.pipeline.analyzer.machine.min_dwell; }),
      {"log.level", "Lowest level logged: debug, info, warn, error.",
       [](Config& c, const std::string& v) -> absl::Status {
         CANDOR_ASSIGN_OR_RETURN(c.log_level, ParseLogLevel(v));
         return absl::OkStatus();
       },
       [](const Config& c) -> std::string {
         switch (c.log_level) {
           case LogLevel::kDebug:
             return "debug";
           case LogLevel::kInfo:
             return "info";
           case LogLevel::kWarn:
             return "warn";
           case LogLevel::kError:
             return "error";
         }
         return "info";
       }},
      {"log.format", "Log line format: logfmt or json.",
       [](Config& c, const std::string& v) -> absl::Status {
         CANDOR_ASSIGN_OR_RETURN(c.log_format, ParseLogFormat(v));
         return absl::OkStatus();
       },
       [](const Config& c) -> std::string {
         return c.log_format == LogFormat::kJson ? "json" : "logfmt";
       }},
  };
  return *options;
}

const Option* FindOption(std::string_view key) {
  for (const Option& o : Options()) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

absl::Status SetOption(Config& config, const std::string& key, const std::string& value,
                       const std::string& where) {
  const Option* option = FindOption(key);
  if (option == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, "unknown option \"", key, "\""));
  }
  absl::Status s = option->set(config, value);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, "option \"", key, "\": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status ApplyYaml(Config& config, const YAML::Node& node, const std::string& prefix) {
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    const std::string key = prefix.empty() ? name : absl::StrCat(prefix, ".", name);
    const YAML::Node& value = entry.second;
    const std::string where = absl::StrCat("line ", entry.first.Mark().line + 1, ": ");
    if (value.IsMap()) {
      if (FindOption(key) != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "option \"", key, "\" takes a value, not a mapping"));
      }
      CANDOR_RETURN_IF_ERROR(ApplyYaml(config, value, key));
    } else if (const Option* scalar_list = FindOption(key);
               value.IsScalar() && scalar_list != nullptr && scalar_list->set_list) {
      CANDOR_RETURN_IF_ERROR(scalar_list->set_list(config, value));
    } else if (value.IsScalar()) {
      CANDOR_RETURN_IF_ERROR(SetOption(config, key, value.Scalar(), where));
    } else if (value.IsNull()) {
      if (FindOption(key) == nullptr) {
        // An empty section ("grpc:") is harmless; an unknown empty key is still unknown.
        bool is_section = false;
        for (const Option& o : Options()) is_section |= o.key.starts_with(key + ".");
        if (!is_section) {
          return absl::InvalidArgumentError(absl::StrCat(where, "unknown option \"", key, "\""));
        }
      }
    } else if (const Option* list = FindOption(key); list != nullptr && list->set_list) {
      CANDOR_RETURN_IF_ERROR(list->set_list(config, value));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "option \"", key, "\" takes a single value, not a list"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(Config& config) {
  if (config.storage_path.empty()) {
    return absl::InvalidArgumentError("option \"storage.path\" must not be empty");
  }
  config.events.path = absl::StrCat(config.storage_path, "/events");
  config.series.path = absl::StrCat(config.storage_path, "/tsdb");
  if (config.series.rollup_5m_retention < config.series.raw_retention ||
      config.series.rollup_1h_retention < config.series.rollup_5m_retention) {
    return absl::InvalidArgumentError(
        "option \"storage.series.rollup_5m_retention\" must be at least "
        "\"storage.series.retention\", and \"storage.series.rollup_1h_retention\" at least "
        "the 5-minute one");
  }
  if (config.nvml_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("option \"gpu.nvml.interval\" must be at least 1s");
  }
  if (config.series_maintenance_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "option \"storage.series.maintenance_interval\" must be at least 1s");
  }
  if (config.ingest.validation.max_age > config.events.retention) {
    return absl::InvalidArgumentError(absl::StrCat(
        "option \"ingest.max_age\" (", FormatDurationYaml(config.ingest.validation.max_age),
        ") exceeds \"storage.events.retention\" (", FormatDurationYaml(config.events.retention),
        "): items older than the retention could not be stored"));
  }
  const collector::SignalOptions& sig = config.pipeline.signals;
  if (sig.window < absl::Seconds(1) || sig.window > absl::Minutes(5)) {
    return absl::InvalidArgumentError("option \"detection.window\" must be in 1s–5m");
  }
  if (sig.allowed_lateness < absl::Minutes(5)) {
    return absl::InvalidArgumentError(
        "option \"detection.allowed_lateness\" must be at least 5m (DESIGN §3)");
  }
  if (sig.watermark_delay < absl::ZeroDuration() || sig.watermark_delay > sig.allowed_lateness) {
    return absl::InvalidArgumentError(
        "option \"detection.watermark_delay\" must be in 0–detection.allowed_lateness");
  }
  for (const char* key : {"grpc.listen_address", "http.listen_address"}) {
    const std::string value = FindOption(key)->get(config);
    absl::StatusOr<std::pair<std::string, int>> host_port = exporters::SplitHostPort(value);
    if (!host_port.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("option \"", key, "\": ", host_port.status().message()));
    }
  }
  if (config.grpc.tls.cert_file.empty() != config.grpc.tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "options \"grpc.tls.cert_file\" and \"grpc.tls.key_file\" must be set together");
  }
  if (!config.grpc.tls.client_ca_file.empty() && config.grpc.tls.cert_file.empty()) {
    return absl::InvalidArgumentError(
        "option \"grpc.tls.client_ca_file\" (mutual TLS) needs \"grpc.tls.cert_file\"");
  }
  if (config.grpc.low_watermark <= 0 || config.grpc.low_watermark > config.grpc.normal_watermark) {
    return absl::InvalidArgumentError(
        "options \"grpc.low_watermark\" and \"grpc.normal_watermark\" must satisfy "
        "0 < low ≤ normal ≤ 1");
  }
  if (absl::StatusOr<BearerAuthenticator> auth = BearerAuthenticator::Create(config.auth_tokens);
      !auth.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("option \"auth.tokens\": ", auth.status().message()));
  }
  if (config.http.tls.cert_file.empty() != config.http.tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "options \"http.tls.cert_file\" and \"http.tls.key_file\" must be set together");
  }
  return absl::OkStatus();
}

// "--grpc.listen-address" → "grpc.listen_address".
std::string FlagToKey(std::string_view flag) {
  std::string key(flag.substr(flag.starts_with("--") ? 2 : 0));
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

absl::StatusOr<Config> Load(const std::string& yaml_text,
                            const std::vector<std::pair<std::string, std::string>>& flags) {
  Config config;
  if (!yaml_text.empty()) {
    YAML::Node root;
    try {
      root = YAML::Load(yaml_text);
      if (!root.IsNull() && !root.IsMap()) {
        return absl::InvalidArgumentError("the configuration must be a YAML mapping");
      }
      CANDOR_RETURN_IF_ERROR(ApplyYaml(config, root, ""));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", e.mark.line + 1, ": invalid YAML: ", e.msg));
    }
  }
  for (const auto& [flag, value] : flags) {
    CANDOR_RETURN_IF_ERROR(
        SetOption(config, FlagToKey(flag), value, absl::StrCat("flag ", flag, ": ")));
  }
  CANDOR_RETURN_IF_ERROR(Validate(config));
  return config;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  std::string_view rest = text;
  absl::Duration total = absl::ZeroDuration();
  if (rest.empty()) return absl::InvalidArgumentError("empty duration");
  if (rest == "0") return absl::ZeroDuration();
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    int64_t n = 0;
    if (digits == 0 || !absl::SimpleAtoi(Sv(rest.substr(0, digits)), &n)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", Sv(text), "\" is not a duration (examples: 250ms, 30s, 5m, 2h, 7d, 1w)"));
    }
    rest.remove_prefix(digits);
    size_t unit_len = 0;
    while (unit_len < rest.size() && !(rest[unit_len] >= '0' && rest[unit_len] <= '9')) {
      ++unit_len;
    }
    const std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    static const std::map<std::string_view, absl::Duration>* units =
        new std::map<std::string_view, absl::Duration>{
            {"ms", absl::Milliseconds(1)}, {"s", absl::Seconds(1)}, {"m", absl::Minutes(1)},
            {"h", absl::Hours(1)},         {"d", absl::Hours(24)},  {"w", absl::Hours(24 * 7)},
            {"y", absl::Hours(24 * 365)}};
    auto it = units->find(unit);
    if (it == units->end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", Sv(text), "\" is not a duration (examples: 250ms, 30s, 5m, 2h, 7d, 1w)"));
    }
    total += n * it->second;
  }
  return total;
}

absl::StatusOr<size_t> ParseByteSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (digits == 0 || !absl::SimpleAtoi(Sv(text.substr(0, digits)), &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Sv(text), "\" is not a byte size (examples: 1048576, 64KiB, 16MiB)"));
  }
  const std::string_view unit = text.substr(digits);
  uint64_t mult = 1;
  if (unit == "KiB") {
    mult = 1ull << 10;
  } else if (unit == "MiB") {
    mult = 1ull << 20;
  } else if (unit == "GiB") {
    mult = 1ull << 30;
  } else if (!unit.empty() && unit != "B") {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Sv(text), "\" has an unknown unit (use B, KiB, MiB or GiB)"));
  }
  if (n > (uint64_t{1} << 50) / mult) {
    return absl::InvalidArgumentError(absl::StrCat("\"", Sv(text), "\" is too large"));
  }
  return static_cast<size_t>(n * mult);
}

absl::StatusOr<Config> LoadConfigFromString(
    const std::string& yaml_text, const std::vector<std::pair<std::string, std::string>>& flags) {
  return Load(yaml_text, flags);
}

absl::StatusOr<Config> LoadConfig(const std::string& yaml_path,
                                  const std::vector<std::pair<std::string, std::string>>& flags) {
  std::string text;
  if (!yaml_path.empty()) {
    std::ifstream in(yaml_path);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", yaml_path));
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  absl::StatusOr<Config> config = Load(text, flags);
  if (!config.ok() && !yaml_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(yaml_path, ": ", config.status().message()));
  }
  return config;
}

std::string DescribeConfig() {
  const Config defaults;
  std::string out = "# candor serve configuration: every option with its default value.\n";
  std::string section;
  for (const Option& o : Options()) {
    const std::string top = o.key.substr(0, o.key.find('.'));
    if (top != section) {
      section = top;
      absl::StrAppend(&out, "\n");
    }
    std::string value = o.get(defaults);
    if (value.empty()) value = "\"\"";
    absl::StrAppend(&out, "# ", o.doc, "\n", o.key, ": ", value, "\n");
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ConfigValues(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Option& o : Options()) out.emplace_back(o.key, o.get(config));
  return out;
}

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> keys;
  for (const Option& o : Options()) keys.push_back(o.key);
  return keys;
}

}  // namespace candor::daemon
