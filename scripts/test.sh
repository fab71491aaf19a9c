#!/usr/bin/env bash
# All tests: installs the dependencies, builds, and runs ctest (unit tests in parallel, then the
# MPI, end-to-end and long tests one at a time, since each of those starts several ranks).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
. scripts/env.sh
configure_and_build
cd "$BUILD_DIR"
status=0
ctest --output-on-failure -L unit -j "$(nproc)" || status=1
ctest --output-on-failure -LE unit || status=1
exit $status
