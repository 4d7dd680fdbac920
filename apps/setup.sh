#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running Troupe:
#   bash apps/setup.sh demo    install what is missing, build, run `troupe demo`
#   bash apps/setup.sh test    install what is missing, build, run every test
#   bash apps/setup.sh build   install what is missing and build only
# Idempotent: a second run installs nothing and rebuilds only what changed.
# Environment: TROUPE_BUILD_DIR (default: build), TROUPE_BUILD_TYPE
# (default: RelWithDebInfo), TROUPE_CTEST_ARGS (extra ctest arguments).
set -euo pipefail

mode=${1:-demo}
case "$mode" in
  demo|test|build) ;;
  *) echo "usage: bash apps/setup.sh demo|test|build" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${TROUPE_BUILD_DIR:-$root/build}
build_type=${TROUPE_BUILD_TYPE:-RelWithDebInfo}

# Every Debian package the build and the tests need (see README, Dependencies).
packages=(
  cmake ninja-build ccache g++ git
  libcaf-dev capnproto libcapnp-dev
  libgloo-dev libucx-dev llvm-16-dev libxgboost-dev xgboost
  librocksdb-dev libzstd-dev libtorch-dev libopenblas-dev python3-sklearn python3-venv
  libfmt-dev libspdlog-dev libboost-dev libboost-test-dev
  prometheus-cpp-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libonnx-dev python3-onnx python3-torch python3-torchvision libdnnl-dev zlib1g-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${#missing[@]} Debian package(s): ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: run as root or install sudo" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "== all ${#packages[@]} Debian packages present"
fi

# Python model containers (apps/python) need pycapnp, which Debian lacks: a
# venv that still sees Debian's numpy, sklearn and torch, plus pycapnp.
venv=/opt/troupe/venv
if ! "$venv/bin/python" -c 'import capnp' 2>/dev/null; then
  echo "== creating $venv with pycapnp"
  venv_sudo=()
  if [ "$(id -u)" -ne 0 ] && [ ! -w /opt ]; then venv_sudo=(sudo); fi
  "${venv_sudo[@]}" mkdir -p /opt/troupe
  "${venv_sudo[@]}" /usr/bin/python3 -m venv --system-site-packages "$venv"
  "${venv_sudo[@]}" "$venv/bin/pip" install -q pycapnp
else
  echo "== $venv has pycapnp"
fi

echo "== configuring ($build_type) in $build_dir"
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
echo "== building"
cmake --build "$build_dir"

case "$mode" in
  demo)
    echo "== troupe demo"
    exec "$build_dir/apps/troupe" demo
    ;;
  test)
    echo "== running the test suite"
    cd "$build_dir"
    # Serial: the multi-process suites assert failure-detection bounds, which
    # a second suite competing for the 2 cores would only blur.
    # shellcheck disable=SC2086
    exec ctest --output-on-failure --timeout 600 ${TROUPE_CTEST_ARGS:-}
    ;;
esac
