// The `candor` binary: dispatches to its subcommands.

#include <iostream>
#include <string>
#include <vector>

#include "daemon/detect_command.h"
#include "daemon/replay_command.h"
#include "daemon/serve_command.h"
#include "daemon/ship_command.h"
#include "daemon/sim_command.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const Command kCommands[] = {
    {"serve", "run the daemon: gRPC ingest, store, HTTP API and /metrics",
     candor::daemon::RunServeCommand},
    {"detect", "score one series online (NAB results format)", candor::daemon::RunDetectCommand},
    {"ship", "stream a JSONL file of ingest items to a candor daemon",
     candor::daemon::RunShipCommand},
    {"replay", "run the detection pipeline over a recorded JSONL stream, write transitions",
     candor::daemon::RunReplayCommand},
    {"sim", "simulate a fleet with scripted faults: write JSONL or stream to a daemon",
     candor::daemon::RunSimCommand},
};

void PrintUsage(std::ostream& out) {
  out << "usage: candor <command> [options]\n\n"
         "candor tells the truth about the health of an AI inference fleet: it ingests\n"
         "per-request context, server state and GPU traces, detects what is abnormal and names\n"
         "the state of every provider, node, replica, model and route.\n\ncommands:\n";
  for (const Command& c : kCommands) {
    out << "  " << c.name << std::string(10 - std::string(c.name).size(), ' ') << c.summary << "\n";
  }
  out << "\n`candor <command> --help` describes a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::cout << "candor " << CANDOR_VERSION << "\n";
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
  }
  std::cerr << "candor: unknown command \"" << name << "\"\n\n";
  PrintUsage(std::cerr);
  return 2;
}
