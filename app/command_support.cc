#include "app/command_support.h"

#include <csignal>
#include <cstdio>
#include <ctime>

#include "engine/core/printable.h"

namespace hpcnas {
namespace {

// Set by the signal handler, read at a run's safe points. A signal handler can only reach a
// global; it is the one in the program.
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void OnStopSignal(int signal_number) { stop_signal = signal_number; }

}  // namespace

void InstallStopSignalHandlers() {
  std::signal(SIGTERM, OnStopSignal);
  std::signal(SIGUSR1, OnStopSignal);
}

bool StopSignalReceived() { return stop_signal != 0; }

void LogError(const std::string& message) {
  std::fprintf(stderr, "hpcnas: error: %s\n", Printable(message).c_str());
  std::fflush(stderr);
}

Status RefuseFixedOptionsOnResume(const std::vector<std::string>& given, const std::string& allowed) {
  if (given.empty()) return Status::Ok();
  std::string names;
  for (const std::string& name : given) names += (names.empty() ? "" : ", ") + name;
  return Status::InvalidInput("--resume keeps the run's own config; these options cannot change it: " + names + " (only " +
                              allowed + " can)");
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace hpcnas
