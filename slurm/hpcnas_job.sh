# Sourced by the sbatch templates: the signal and requeue contract of an hpcnas job.
#
#   hpcnas_run_search CONFIG OUT_DIR [more hpcnas search options]
#   hpcnas_run_supernet CONFIG OUT_DIR [more hpcnas supernet options]
#
# - Starts the run, or resumes it when OUT_DIR already holds a checkpoint (a requeued job).
# - Runs the ranks in the background and traps SIGUSR1/SIGTERM in the batch shell
#   (--signal=B:USR1@N reaches only this shell): the signal is forwarded to the ranks, which
#   checkpoint at their next safe point and exit with 75.
# - Exit 75 -> `scontrol requeue $SLURM_JOB_ID`: the job goes back to the queue and resumes.
# - GPU binding: every rank uses device SLURM_LOCALID modulo the GPUs it sees (hpcnas does this
#   itself; with --gpus-per-task each rank sees exactly its own GPU).
# Environment: HPCNAS (the executable; default build/app/hpcnas under the submit directory, else
# hpcnas on PATH),
# HPCNAS_LAUNCHER (mpirun, the default, or srun), HPCNAS_NO_REQUEUE=1 to leave a stopped job stopped,
# HPCNAS_STAGE_SHARDS=DIR to copy `hpcnas pack` shards to node-local disk first (below) and read
# them there (--epsilon.images, --supernet.data; a requeued job keeps its copy: same job id; a
# job resumed under another id reads its own copy: hpcnas checks the data's fingerprint).
HPCNAS_STOPPED=75

# hpcnas_stage_shards SHARDS_DIR: copies the shards of `hpcnas pack` to node-local disk
# ($SLURM_TMPDIR, else /tmp), one copy per node (srun --ntasks-per-node=1), and prints the local
# directory. The index is copied last and renamed into place, so a node holds a usable copy or
# none; a requeued job (same job id) finds its copy and only tops it up (cp -u).
hpcnas_stage_shards() {
  local src=$1
  local dst=${SLURM_TMPDIR:-/tmp}/hpcnas_shards_${SLURM_JOB_ID:-local}
  if [ ! -f "$src/index.h5" ]; then
    echo "hpcnas job: $src has no index.h5 (not the output of hpcnas pack)" >&2
    return 2
  fi
  local copy="mkdir -p '$dst' && cp -u '$src'/*.tar '$dst'/ && cp '$src/index.h5' '$dst/index.h5.tmp' && mv '$dst/index.h5.tmp' '$dst/index.h5'"
  if [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null 2>&1; then
    srun --nodes="${SLURM_NNODES:-1}" --ntasks="${SLURM_NNODES:-1}" --ntasks-per-node=1 bash -c "$copy" >&2 || return 3
  else
    bash -c "$copy" >&2 || return 3
  fi
  echo "hpcnas job: shards staged to $dst on ${SLURM_NNODES:-1} node(s)" >&2
  echo "$dst"
}

hpcnas_run_search() { hpcnas_run_job search checkpoint_g "$@"; }
hpcnas_run_supernet() { hpcnas_run_job supernet checkpoint_s "$@"; }

# hpcnas_run_job SUBCOMMAND CHECKPOINT_PREFIX CONFIG OUT_DIR [options]: what both of the above do.
hpcnas_run_job() {
  local command=$1 checkpoint_prefix=$2 config=$3 out=$4
  shift 4
  local exe=${HPCNAS:-${SLURM_SUBMIT_DIR:-.}/build/app/hpcnas}
  # An installed hpcnas (cmake --install) when there is no build tree here.
  if [ -z "${HPCNAS:-}" ] && [ ! -x "$exe" ] && command -v hpcnas >/dev/null 2>&1; then exe=$(command -v hpcnas); fi
  # Where the data are: given on a first start and on every resume (a staged copy may sit
  # elsewhere under another job id; hpcnas checks that it holds the same data).
  local args data_options=()
  if [ -n "${HPCNAS_STAGE_SHARDS:-}" ]; then
    local staged
    staged=$(hpcnas_stage_shards "$HPCNAS_STAGE_SHARDS") || return $?
    # Epsilon's batch and the supernet's images (a search that trains one, or hpcnas supernet).
    if [ "$command" = search ]; then data_options+=(--epsilon.images "shards:$staged"); fi
    data_options+=(--supernet.data "shards:$staged")
  fi
  if ls "$out"/checkpoints/"$checkpoint_prefix"*.h5 >/dev/null 2>&1; then
    echo "hpcnas job: resuming $out (restart ${SLURM_RESTART_COUNT:-0})"
    args=("$command" --resume "$out" ${data_options[@]+"${data_options[@]}"})
  else
    args=("$command" --config "$config" --out "$out" "$@" ${data_options[@]+"${data_options[@]}"})
  fi
  if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  if [ "${HPCNAS_LAUNCHER:-mpirun}" = srun ]; then
    srun --mpi=pmix --kill-on-bad-exit=1 "$exe" "${args[@]}" &
  else
    mpirun -np "${SLURM_NTASKS:-1}" "$exe" "${args[@]}" &
  fi
  local launcher=$!
  # Forward the stop request to the ranks' launcher (both forward SIGUSR1 to every rank).
  trap 'echo "hpcnas job: stop requested, checkpointing"; kill -USR1 "$launcher" 2>/dev/null' USR1 TERM
  local status
  while true; do
    wait "$launcher"
    status=$?
    # wait returns >128 when a trapped signal interrupted it; the launcher still runs.
    if kill -0 "$launcher" 2>/dev/null; then continue; fi
    break
  done
  trap - USR1 TERM
  if [ "$status" -eq "$HPCNAS_STOPPED" ] && [ -z "${HPCNAS_NO_REQUEUE:-}" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    echo "hpcnas job: stopped at a checkpoint; requeueing $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
  fi
  return "$status"
}
