#!/usr/bin/env bash
# Installs everything hpcnas needs to build, run and test, from Debian 12's packages.
# Safe to re-run: does nothing when every package is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build
  libtorch-dev libopenblas0-openmp           # LibTorch 1.13 (CPU); OpenBLAS, or LibTorch falls back to reference BLAS
  libopenmpi-dev openmpi-bin
  libhdf5-dev libboost-serialization-dev
  libgtest-dev libcli11-dev libtomlplusplus-dev libspdlog-dev
  libturbojpeg0-dev zlib1g-dev        # the ImageNet data path: JPEG decode, CRC-32 of shards
  libjpeg-turbo-progs python3-pil python3-torchvision  # djpeg: the decode test's reference; Pillow, torchvision: the data-path benchmark's
  python3 python3-h5py python3-numpy python3-scipy python3-matplotlib hdf5-tools  # tests, experiments, plots
  python3-torch                              # the independent PyTorch reference of the epsilon test
  slurm-wlm                                  # a real single-node Slurm for the sbatch template test
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages are installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install_deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
