#include "app/command_support.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <unistd.h>

#include "engine/core/printable.h"
#include "hpcnas/build_config.h"

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

std::string HostName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

Provenance RunProvenance(const std::string& command_line, int world_size) {
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  Provenance p;
  p.text = {{"command_line", command_line},
            {"hpcnas_version", HPCNAS_VERSION},
            {"git_commit", HPCNAS_GIT_COMMIT},
            {"created_utc", UtcNow()},
            {"host", HostName()},
            {"slurm_job_id", env("SLURM_JOB_ID")},
            {"slurm_array_job_id", env("SLURM_ARRAY_JOB_ID")},
            {"slurm_array_task_id", env("SLURM_ARRAY_TASK_ID")}};
  p.world_size = world_size;
  return p;
}

}  // namespace hpcnas
