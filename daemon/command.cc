#include "daemon/command.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace candor::daemon {

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<std::string>& boolean_flags) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (!a.starts_with("--")) {
      out.positional.push_back(a);
      continue;
    }
    if (a.size() == 2) return absl::InvalidArgumentError("\"--\" without a flag name");
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      out.flags.emplace_back(a.substr(0, eq), a.substr(eq + 1));
      continue;
    }
    const bool boolean =
        std::find(boolean_flags.begin(), boolean_flags.end(), a) != boolean_flags.end();
    if (!boolean && i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      out.flags.emplace_back(a, args[i + 1]);
      ++i;
    } else {
      out.flags.emplace_back(a, "true");
    }
  }
  return out;
}

std::string TakeFlag(ParsedArgs& args, std::string_view name) {
  std::string value;
  std::erase_if(args.flags, [&](const std::pair<std::string, std::string>& f) {
    if (f.first != name) return false;
    value = f.second;
    return true;
  });
  return value;
}

}  // namespace candor::daemon
