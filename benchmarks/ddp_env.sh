# Sourced by ddp_compare.sh and ddp_overhead.sh: gives PyTorch's side (and
# local runs) the settings `troupe train` gives its ranks, so that the
# comparison measures DDP, not BLAS kernels or thread counts:
# - OPENBLAS_CORETYPE, where OpenBLAS does not recognise the CPU
#   (runtime/blas_kernels.hpp);
# - OMP_NUM_THREADS, each rank's share of the cores (runtime/rank_threads.hpp;
#   torchrun sets it to 1), which Debian's OpenBLAS honours too: without it
#   each rank runs a second OpenBLAS thread although it asked for one.
# A value already in the environment is kept, on both sides.
# Usage: ddp_check_prerequisites BUILD_DIR REPEATS ITERS (exits 2 naming what
#        is missing or wrong);
#        ddp_same_environment BUILD_DIR RANKS
ddp_check_prerequisites() {
  [ -x "$1/apps/troupe" ] || { echo "no $1/apps/troupe: build first" >&2; exit 2; }
  [[ $2 =~ ^[1-9][0-9]*$ && $3 =~ ^[1-9][0-9]*$ ]] ||
    { echo "REPEATS and ITERS must be positive integers (got '$2', '$3')" >&2; exit 2; }
  /usr/bin/python3 -c "import torch" 2>/dev/null ||
    { echo "Debian's python3-torch is missing: apt-get install python3-torch" >&2; exit 2; }
}

ddp_same_environment() {
  local build=$1 ranks=$2 line
  line=$("$build/apps/troupe" train --nproc "$ranks" -- \
           sh -c 'if [ "$TROUPE_RANK" = 0 ]; then echo "core=${OPENBLAS_CORETYPE:-} omp=${OMP_NUM_THREADS:-}"; fi' \
           2>/dev/null | tail -n 1) || true
  [[ $line == core=*' omp='* ]] || { echo "ddp_env.sh: troupe train printed '$line'" >&2; return 0; }
  local core=${line#core=}; core=${core%% *}
  local omp=${line##*omp=}
  if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -n "$core" ]; then
    export OPENBLAS_CORETYPE=$core
    echo "OPENBLAS_CORETYPE=$core on both sides" >&2
  fi
  if [ -z "${OMP_NUM_THREADS:-}" ] && [ -n "$omp" ]; then
    export OMP_NUM_THREADS=$omp
    echo "OMP_NUM_THREADS=$omp on both sides" >&2
  fi
}
