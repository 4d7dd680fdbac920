#!/usr/bin/env bash
# TVM MetaSchedule against `troupe tune` on an fp32 matmul, in one command:
#
#   benchmarks/tvm_side_by_side.sh --size 1024 --trials 64 --troupe-bin /path/to/build/apps
#
# Makes a Python virtual environment with apache-tvm (outside the repository:
# $TVM_VENV, default /tmp/tvm-venv) when it is missing, then runs
# benchmarks/tvm_side_by_side.py with it; every argument goes to the script
# (--help lists them). Needs python3 with venv and network access to PyPI the
# first time.
#
# apache-tvm 0.27.0.post1 asks for apache-tvm-ffi>=0.1.14.post0, and pip picks
# 0.1.15.x, with which tvm.ir.save_json segfaults (in tvm::ffi::ToJSONGraph):
# MetaSchedule's MutateParallel and MutateComputeLocation call it when a tuning
# task starts, so tune_tir dies at once. 0.1.14.post1 works; it is pinned here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${TVM_VENV:-/tmp/tvm-venv}"
py="$venv/bin/python"

if [[ ! -x "$py" ]] || ! "$py" -c 'import tvm, xgboost, psutil, cloudpickle' 2>/dev/null; then
  echo "tvm_side_by_side.sh: installing apache-tvm into $venv" >&2
  [[ -x "$py" ]] || python3 -m venv "$venv"
  "$py" -m pip install -q --upgrade pip
  # xgboost-cpu: MetaSchedule's cost model without the CUDA/NCCL wheels of xgboost.
  "$py" -m pip install -q apache-tvm 'apache-tvm-ffi==0.1.14.post1' xgboost-cpu psutil \
    cloudpickle tornado
fi
if ! "$py" -c 'import tvm; tvm.ir.save_json(tvm.tirx.IntImm("int32", 1))' >/dev/null 2>&1; then
  echo "tvm_side_by_side.sh: tvm.ir.save_json fails in $venv; pinning apache-tvm-ffi==0.1.14.post1" >&2
  "$py" -m pip install -q 'apache-tvm-ffi==0.1.14.post1'
fi

exec "$py" "$here/tvm_side_by_side.py" "$@"
