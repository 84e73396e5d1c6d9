// Structured logging to stderr in logfmt (default) or JSON, with the fields Prometheus-family
// daemons use: ts, level, component, msg, then any key/value pairs.
//
//   CANDOR_LOG_INFO("store", "opened", {{"path", dir}, {"series", n}});
//
// The sink is process-wide (like LevelDB's Env::Default), configured once by `main`; every
// call is thread-safe and writes one whole line. Timestamps come from the wall clock through
// RealClock, because log lines are about the process, not about event time.

#ifndef CANDOR_COMMON_LOG_H_
#define CANDOR_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace candor {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };
enum class LogFormat : uint8_t { kLogfmt, kJson };

// "debug" | "info" | "warn" | "error".
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);
// "logfmt" | "json".
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text);

// A log field value: keeps a string (numbers are formatted on construction).
struct LogValue {
  LogValue(std::string_view v) : text(v) {}                     // NOLINT: implicit by design
  LogValue(const std::string& v) : text(v) {}                   // NOLINT
  LogValue(const char* v) : text(v) {}                          // NOLINT
  LogValue(int64_t v);                                          // NOLINT
  LogValue(uint64_t v);                                         // NOLINT
  LogValue(int v) : LogValue(static_cast<int64_t>(v)) {}        // NOLINT
  LogValue(unsigned v) : LogValue(static_cast<uint64_t>(v)) {}  // NOLINT
  LogValue(double v);                                           // NOLINT
  LogValue(bool v) : text(v ? "true" : "false") {}              // NOLINT
  std::string text;
};

using LogFields = std::initializer_list<std::pair<std::string_view, LogValue>>;

// Configures the process-wide sink. Lines below `level` are dropped.
void ConfigureLogging(LogLevel level, LogFormat format);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view component, std::string_view msg, LogFields fields = {});

}  // namespace candor

#define CANDOR_LOG_DEBUG(component, msg, ...) \
  ::candor::Log(::candor::LogLevel::kDebug, component, msg __VA_OPT__(, ) __VA_ARGS__)
#define CANDOR_LOG_INFO(component, msg, ...) \
  ::candor::Log(::candor::LogLevel::kInfo, component, msg __VA_OPT__(, ) __VA_ARGS__)
#define CANDOR_LOG_WARN(component, msg, ...) \
  ::candor::Log(::candor::LogLevel::kWarn, component, msg __VA_OPT__(, ) __VA_ARGS__)
#define CANDOR_LOG_ERROR(component, msg, ...) \
  ::candor::Log(::candor::LogLevel::kError, component, msg __VA_OPT__(, ) __VA_ARGS__)

#endif  // CANDOR_COMMON_LOG_H_
