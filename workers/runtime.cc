#include "workers/runtime.h"

#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <thread>

#include "engine/metric/epsilon.h"

namespace hpcnas {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long parsed = std::strtol(value, &end, 10);
  return end != value && parsed > 0 ? static_cast<int>(parsed) : fallback;
}

}  // namespace

int LocalRank() {
  if (const char* v = std::getenv("SLURM_LOCALID")) return std::atoi(v);
  if (const char* v = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) return std::atoi(v);
  return 0;
}

int LocalSize() { return EnvInt("OMPI_COMM_WORLD_LOCAL_SIZE", EnvInt("SLURM_TASKS_PER_NODE", 1)); }

torch::Device SelectDevice() {
  if (torch::cuda::is_available()) {
    const int count = static_cast<int>(torch::cuda::device_count());
    if (count > 0) return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(LocalRank() % count));
  }
  return torch::Device(torch::kCPU);
}

int ChooseThreadCount(int requested) {
  if (requested > 0) return requested;
  const int slurm_cpus = EnvInt("SLURM_CPUS_PER_TASK", 0);
  if (slurm_cpus > 0) return slurm_cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  const int allowed = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
  const int online = static_cast<int>(std::thread::hardware_concurrency());
  if (allowed > 0 && online > 0 && allowed < online) return allowed;  // bound by mpirun/srun
  return std::max(1, (online > 0 ? online : 1) / std::max(1, LocalSize()));
}

void InjectFault(const FaultInjection& fault) {
  if (fault.kind == "throw") throw std::runtime_error("injected fault (--fault " + fault.kind + ")");
  if (fault.kind == "exit") std::_Exit(42);
  if (fault.kind == "kill") std::raise(SIGKILL);
  if (fault.kind == "stop") std::raise(SIGSTOP);  // frozen until SIGCONT, as a rank on a hung node
  if (fault.kind == "signal") std::raise(SIGUSR1);
  if (fault.kind == "hang") {
    while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

ScoreAtPosition WithFaultInjection(ScoreAtPosition score, const FaultInjection& fault, int rank) {
  if (fault.rank != rank) return score;
  auto scored = std::make_shared<int64_t>(0);
  return [score = std::move(score), fault, scored](int64_t position) {
    if (*scored == fault.after) InjectFault(fault);
    ++*scored;
    return score(position);
  };
}

torch::Tensor ImageBytesToTensor(const ImageBytes& images) {
  return ImageBytesToTensor(images.pixels.data(), images.count, images.size, images.mean.data(), images.stddev.data());
}

}  // namespace hpcnas
