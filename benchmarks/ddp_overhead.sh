#!/usr/bin/env bash
# DDP's communication overhead, (DDP step - no_sync step) / one allreduce of
# all gradients, measured round by round inside each run (ddp_bench --mode
# overhead_ab; benchmarks/ddp_overhead_torch.py for PyTorch), so that the
# three figures come from the same seconds of this drifting VM. Runs Troupe
# with copied gradients, Troupe with bucket views and PyTorch's DDP (Gloo,
# torch 1.13), interleaved run by run.
#
#   bash benchmarks/ddp_overhead.sh BUILD_DIR [REPEATS] [ITERS]
#
# BUCKET_MB sets the cap (25); BACKEND=ucx runs Troupe's side over UCX.
# Prints one line per run, the medians over runs, and one JSON object last.
set -euo pipefail
build=${1:?usage: ddp_overhead.sh BUILD_DIR [REPEATS] [ITERS]}
repeats=${2:-3}
iters=${3:-100}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cap=${BUCKET_MB:-25}
source "$root/benchmarks/ddp_env.sh"
ddp_check_prerequisites "$build" "$repeats" "$iters"
ddp_same_environment "$build" 2

results=$(mktemp)
trap 'rm -f "$results"' EXIT
port=29700
for rep in $(seq 1 "$repeats"); do
  for side in troupe_copies troupe_views pytorch; do
    case $side in
      troupe_copies) line=$("$build/apps/troupe" train --nproc 2 --backend "${BACKEND:-gloo}" -- \
                       "$build/benchmarks/ddp_bench" --mode overhead_ab --bucket-mb "$cap" \
                       --iters "$iters" | tail -n 1) ;;
      troupe_views) line=$("$build/apps/troupe" train --nproc 2 --backend "${BACKEND:-gloo}" -- \
                      "$build/benchmarks/ddp_bench" --mode overhead_ab --bucket-mb "$cap" \
                      --bucket-views --iters "$iters" | tail -n 1) ;;
      pytorch) line=$(/usr/bin/python3 "$root/benchmarks/ddp_overhead_torch.py" --bucket-mb "$cap" \
                 --iters "$iters" --port "$port" | tail -n 1)
               port=$((port + 1)) ;;
    esac
    echo "rep $rep $side $line"
    printf '%s\t%s\n' "$side" "$line" >> "$results"
  done
done

/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, js = line.rstrip("\n").split("\t", 1)
    rows.setdefault(side, []).append(json.loads(js))
summary = {}
print(f"{'side':<16}{'DDP ms':>9}{'no_sync ms':>12}{'allreduce ms':>14}{'overhead':>10}{'per round':>11}")
for side, runs in rows.items():
    m = {k: statistics.median(r[k] for r in runs)
         for k in ("ddp_ms", "nosync_ms", "allreduce_ms", "overhead", "overhead_per_round")}
    summary[side] = {k: round(v, 3) for k, v in m.items()}
    print(f"{side:<16}{m['ddp_ms']:>9.2f}{m['nosync_ms']:>12.2f}{m['allreduce_ms']:>14.2f}"
          f"{m['overhead']:>9.2f}x{m['overhead_per_round']:>10.2f}x")
print(json.dumps({"bench": "ddp_overhead", "sides": summary}))
PY
