#!/usr/bin/env bash
# Two sweeps on this machine, world 2 over loopback:
#  1. allreduce of float32 messages from 4 KiB to 64 MiB on every backend
#     (Gloo is the baseline): median time and algorithm bandwidth;
#  2. DDP iteration time of the 4 x 1024 MLP against the bucket cap.
#
#   bash benchmarks/collectives_sweep.sh BUILD_DIR [ITERS]
#
# Prints tables, then one JSON object on the last line.
set -euo pipefail
build=${1:?usage: collectives_sweep.sh BUILD_DIR [ITERS]}
iters=${2:-30}
bench="$build/benchmarks/ddp_bench"
troupe="$build/apps/troupe"
[ -x "$bench" ] && [ -x "$troupe" ] || { echo "build ddp_bench and troupe first" >&2; exit 2; }
median_of() { tail -n 1 | sed -E 's/.*"median_ms":([0-9.e+-]+).*/\1/'; }

declare -A allreduce
echo "allreduce, world 2 (median ms; bandwidth = 2 x size / time)"
printf '%10s %12s %12s %10s\n' "MiB" "gloo ms" "ucx ms" "ucx/gloo"
for size in 0.00390625 0.0625 1 4 16 64; do
  for backend in gloo ucx; do
    allreduce[$backend,$size]=$("$troupe" train --nproc 2 --backend "$backend" -- "$bench" \
      --mode allreduce --size-mib "$size" --iters "$iters" | median_of)
  done
  g=${allreduce[gloo,$size]}; u=${allreduce[ucx,$size]}
  printf '%10s %12.3f %12.3f %10.2f\n' "$size" "$g" "$u" "$(echo "$u / $g" | bc -l)"
done

declare -A sweep
echo "DDP iteration time against the bucket cap (gloo, median ms)"
for cap in 0.25 1 5 10 25 50 100; do
  sweep[$cap]=$("$troupe" train --nproc 2 -- "$bench" --mode ddp --bucket-mb "$cap" \
    --iters "$iters" | median_of)
  printf '%8s MiB %10.2f ms\n' "$cap" "${sweep[$cap]}"
done

json='{"bench":"collectives_sweep","allreduce_ms":{'
first=1
for size in 0.00390625 0.0625 1 4 16 64; do
  [ $first = 1 ] || json+=','; first=0
  json+="\"$size\":{\"gloo\":${allreduce[gloo,$size]},\"ucx\":${allreduce[ucx,$size]}}"
done
json+='},"ddp_ms_by_bucket_mib":{'
first=1
for cap in 0.25 1 5 10 25 50 100; do
  [ $first = 1 ] || json+=','; first=0
  json+="\"$cap\":${sweep[$cap]}"
done
echo "$json}}"
