// HTTP handlers over the event log: the request-log search on-call uses, and the persisted
// state transitions.
//
//   GET /api/v1/events?request_id=… | trace_id=… | [entity=…][&type=…][&start=…][&end=…]
//       [&limit=…]
//     → {"status":"success","data":[{"seq":N,"time":RFC3339,"type":"inference_event",
//        "entities":[…],"item":{…the item in proto3 JSON…}}, …]}   newest first
//   GET /api/v1/transitions?[entity=…][&start=…][&end=…][&limit=…]
//     → {"status":"success","data":[{transition}, …]}             oldest first
//
// Times are RFC 3339 or Unix seconds (as in the Prometheus API). Bad parameters give 400 with
// {"status":"error","errorType":"bad_data","error":"…"} naming the parameter.
//
// Thread safety: handlers are safe to call concurrently.

#ifndef CANDOR_EXPORTERS_EVENTS_API_H_
#define CANDOR_EXPORTERS_EVENTS_API_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http.h"
#include "store/event_log.h"

namespace candor::exporters {

// `log` must outlive the handlers.
HttpHandler EventsHandler(const store::EventLog& log);
HttpHandler TransitionsHandler(const store::EventLog& log);

// Parses a time parameter: RFC 3339, or Unix seconds with an optional fraction.
absl::StatusOr<absl::Time> ParseApiTime(std::string_view text);

// {"status":"error","errorType":"bad_data","error":message} with status 400.
HttpResponse BadData(std::string_view message);

}  // namespace candor::exporters

#endif  // CANDOR_EXPORTERS_EVENTS_API_H_
