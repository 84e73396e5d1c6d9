#include "common/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace candor {
namespace {

struct Sink {
  std::atomic<LogLevel> level{LogLevel::kInfo};
  std::atomic<LogFormat> format{LogFormat::kLogfmt};
  absl::Mutex mu;
};

Sink& GetSink() {
  static Sink* sink = new Sink();  // Never destroyed: logging works during shutdown.
  return *sink;
}

std::string_view LevelName(LogLevel level) {
  switch (level) {
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
}

void AppendLogfmtValue(std::string* out, std::string_view v) {
  const bool quote = v.empty() || v.find_first_of(" =\"\\\n\t") != std::string_view::npos;
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

LogValue::LogValue(int64_t v) : text(absl::StrCat(v)) {}
LogValue::LogValue(uint64_t v) : text(absl::StrCat(v)) {}
LogValue::LogValue(double v) : text(absl::StrCat(v)) {}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (LevelName(l) == text) return l;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("log level \"", Sv(text), "\" is not one of debug, info, warn, error"));
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log format \"", Sv(text), "\" is not one of logfmt, json"));
}

void ConfigureLogging(LogLevel level, LogFormat format) {
  GetSink().level.store(level);
  GetSink().format.store(format);
}

bool LogEnabled(LogLevel level) { return level >= GetSink().level.load(); }

void Log(LogLevel level, std::string_view component, std::string_view msg, LogFields fields) {
  Sink& sink = GetSink();
  if (level < sink.level.load()) return;
  const std::string ts = FormatRfc3339(absl::Now());
  std::string line;
  if (sink.format.load() == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"ts\":", JsonQuote(ts), ",\"level\":\"", Sv(LevelName(level)),
                    "\",\"component\":", JsonQuote(component), ",\"msg\":", JsonQuote(msg));
    for (const auto& [k, v] : fields)
      absl::StrAppend(&line, ",", JsonQuote(k), ":", JsonQuote(v.text));
    line.append("}\n");
  } else {
    absl::StrAppend(&line, "ts=", ts, " level=", Sv(LevelName(level)), " component=");
    AppendLogfmtValue(&line, component);
    line.append(" msg=");
    AppendLogfmtValue(&line, msg);
    for (const auto& [k, v] : fields) {
      absl::StrAppend(&line, " ", Sv(k), "=");
      AppendLogfmtValue(&line, v.text);
    }
    line.push_back('\n');
  }
  absl::MutexLock lock(&sink.mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace candor
