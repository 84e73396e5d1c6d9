// Shared set-up for the collector's integration tests: an event log in a temp directory, a
// metrics registry and a BatchProcessor on a clock the test chooses.

#ifndef CANDOR_TESTS_COLLECTOR_COLLECTOR_FIXTURE_H_
#define CANDOR_TESTS_COLLECTOR_COLLECTOR_FIXTURE_H_

#include <memory>
#include <string>

#include "collector/batch_processor.h"
#include "exporters/prometheus_metrics.h"
#include "store/event_log.h"
#include "tests/testing/subprocess.h"

namespace candor::testing {

struct IngestStack {
  explicit IngestStack(Clock& clock, collector::BatchProcessorOptions options = {}) {
    store::EventLogOptions log_options;
    log_options.path = dir.path() + "/events";
    log_options.sync = false;
    log = *store::EventLog::Open(log_options, clock);
    processor = std::make_unique<collector::BatchProcessor>(options, *log, metrics, clock);
  }
  TempDir dir;
  exporters::PrometheusMetrics metrics;
  std::unique_ptr<store::EventLog> log;
  std::unique_ptr<collector::BatchProcessor> processor;
};

}  // namespace candor::testing

#endif  // CANDOR_TESTS_COLLECTOR_COLLECTOR_FIXTURE_H_
