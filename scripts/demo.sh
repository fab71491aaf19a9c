#!/usr/bin/env bash
# The main job on the embedded default data: installs the dependencies, builds, and runs a short
# search (epsilon + TNASP predictor + regularised evolution) under mpirun with 2 local ranks,
# then prints the best architecture found and its CIFAR-10 accuracy. Results land in
# out/demo_search (search.h5, generations.csv, queries.csv, checkpoints/).
# With HPCNAS=/path/to/hpcnas set, it skips the install and build and runs that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if [ -z "${HPCNAS:-}" ]; then
  scripts/install_deps.sh
  configure_and_build
  HPCNAS="$BUILD_DIR/app/hpcnas"
fi
OUT=${HPCNAS_DEMO_OUT:-out/demo_search}
rm -rf "$OUT"  # the demo's own output: a fresh search each time
mpirun -np 2 "$HPCNAS" search --config configs/nb201_tabular.toml --generations 5 --out "$OUT"
