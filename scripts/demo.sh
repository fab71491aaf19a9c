#!/usr/bin/env bash
# The main job on the embedded default data: installs the dependencies, builds, and runs
# hpcnas under mpirun with 2 local ranks. Results land in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
. scripts/env.sh
configure_and_build
mkdir -p out
mpirun -np 2 "$BUILD_DIR/app/hpcnas" score --space nb201 --sample 24 --seed 1 --truth embedded \
  --out out/demo_scores.h5 --progress-interval 5
