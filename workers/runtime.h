#pragma once
// Where a rank runs: its device (GPU from the local rank, else CPU), its intra-op thread
// count, and the testing-only fault injection.

#include <torch/torch.h>

#include <string>

#include "engine/config/config.h"
#include "io/image_bytes.h"
#include "scheduler/score_coordinator.h"

namespace hpcnas {

// The local rank on this node: SLURM_LOCALID, else OMPI_COMM_WORLD_LOCAL_RANK, else 0.
int LocalRank();
// Ranks on this node: SLURM_NTASKS_PER_NODE-style variables are unreliable, so
// OMPI_COMM_WORLD_LOCAL_SIZE, else SLURM_TASKS_PER_NODE's first number, else 1.
int LocalSize();

// CUDA device (local rank modulo visible devices) when LibTorch has CUDA and a GPU is
// visible, otherwise the CPU.
torch::Device SelectDevice();

// `requested` if > 0; else SLURM_CPUS_PER_TASK; else the CPUs this process may run on,
// shared among the local ranks unless MPI already bound each rank to its own CPUs.
int ChooseThreadCount(int requested);

// The epsilon batch as a normalised float32 [count, 3, size, size] tensor on the CPU.
torch::Tensor ImageBytesToTensor(const ImageBytes& images);

// Does what `fault.kind` says, now (testing only).
void InjectFault(const FaultInjection& fault);
// Wraps `score` so that on `rank` the configured fault happens once `after` architectures
// have been scored there. Returns `score` unchanged when the fault is for another rank.
ScoreAtPosition WithFaultInjection(ScoreAtPosition score, const FaultInjection& fault, int rank);

}  // namespace hpcnas
