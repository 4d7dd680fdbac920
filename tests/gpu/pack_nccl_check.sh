#!/usr/bin/env bash
# pack_nccl_check.sh BUILD_DIR OUT_DIR: a self-contained NCCL check for a GPU
# host that lacks Debian's libraries (../shared/deps.md: Ubuntu 24.04, CUDA
# 13, NCCL 2.28, no CAF/RocksDB/Gloo/UCX). Copies the stripped
# nccl_collectives_test and every library it needs except glibc, libstdc++,
# the CUDA driver and NCCL (the GPU host has newer ones), plus run.sh.
#
# On the GPU host (e.g. through the `device` tool, carrying OUT_DIR):
#   bash OUT_DIR/run.sh
# runs the in-process single-rank conformance case (host buffers staged
# through the device, a device buffer in place, every collective) and the
# make_process_group checks; exit 0 only if all pass. The `troupe train`
# cases need the 200 MB `troupe` program and are not packed.
set -euo pipefail
build=${1:?usage: pack_nccl_check.sh BUILD_DIR OUT_DIR}
out=${2:?usage: pack_nccl_check.sh BUILD_DIR OUT_DIR}
test_bin=$build/tests/nccl_collectives_test
[[ -x $test_bin ]] || { echo "pack_nccl_check: $test_bin is missing (a build with NCCL)" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out/lib"
strip -o "$out/nccl_collectives_test" "$test_bin"
ldd "$test_bin" | awk '/=>/ {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+)\.so|ld-linux|libcuda\.so|libnccl\.so' |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the packed NCCL checks with the packed libraries first on the path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
export LD_LIBRARY_PATH=$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec timeout 300 "$here/nccl_collectives_test" --log_level=message \
  --run_test=nccl_is_a_backend_of_this_build,make_process_group_answers_at_once_on_a_host_without_a_gpu,a_single_nccl_rank_in_process_reduces_host_and_device_buffers
RUN
chmod +x "$out/run.sh"
echo "pack_nccl_check: $(du -sh "$out" | cut -f1) in $out; run: bash $out/run.sh"
