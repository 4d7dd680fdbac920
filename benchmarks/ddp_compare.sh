#!/usr/bin/env bash
# Troupe's DDP against PyTorch's DDP (torch 1.13, Gloo, Debian's python3-torch)
# on the same MLP (4 x 1024, batch 64 per rank, world 2, 1 thread per rank),
# interleaved run by run: A B A B ...
#
#   bash benchmarks/ddp_compare.sh BUILD_DIR [REPEATS] [ITERS] [ANCHOR]
#
# ANCHOR defaults to ../shared/anchors/ddp_bench.py next to the repository.
# MODES="ddp_25 nosync ..." runs a subset; BACKEND=ucx runs Troupe's side over
# UCX (PyTorch's side is always Gloo); TROUPE_ARGS adds arguments to Troupe's
# ddp_bench (e.g. "--scheduler-threads 1"). Modes ending in v run Troupe with gradients as bucket views against PyTorch's
# default DDP (views off). Prints one line per run, a table of medians with the ratio troupe/pytorch,
# and one JSON object on the last line.
set -euo pipefail
build=${1:?usage: ddp_compare.sh BUILD_DIR [REPEATS] [ITERS] [ANCHOR]}
repeats=${2:-5}
iters=${3:-60}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
anchor=${4:-$root/../shared/anchors/ddp_bench.py}
[ -f "$anchor" ] || { echo "no PyTorch anchor at $anchor" >&2; exit 2; }
source "$root/benchmarks/ddp_env.sh"
ddp_check_prerequisites "$build" "$repeats" "$iters"
ddp_same_environment "$build" 2

results=$(mktemp)
trap 'rm -f "$results"' EXIT
port=29600
for rep in $(seq 1 "$repeats"); do
  for mode in ${MODES:-ddp_25 ddp_25v ddp_1 ddp_1v nosync allreduce_only local}; do
    case $mode in
      ddp_*v) cap=${mode#ddp_}; args="--mode ddp --bucket-mb ${cap%v} --bucket-views" ;;
      ddp_*) args="--mode ddp --bucket-mb ${mode#ddp_}" ;;
      *) args="--mode $mode" ;;
    esac
    if [ "$mode" = local ]; then
      troupe_line=$("$build/benchmarks/ddp_bench" $args ${TROUPE_ARGS:-} --iters "$iters" | tail -n 1)
    else
      troupe_line=$("$build/apps/troupe" train --nproc 2 --backend "${BACKEND:-gloo}" -- "$build/benchmarks/ddp_bench" \
                      $args ${TROUPE_ARGS:-} --iters "$iters" | tail -n 1)
    fi
    # PyTorch's side of a bucket-view run is its default DDP (views off).
    torch_mode=${mode%v}
    torch_line=$(/usr/bin/python3 "$anchor" --modes "$torch_mode" --iters "$iters" \
                   --port "$port" | tail -n 1)
    port=$((port + 3))
    echo "rep $rep $mode troupe  $troupe_line"
    echo "rep $rep $mode pytorch $torch_line"
    printf '%s\t%s\t%s\n' "$mode" troupe "$troupe_line" >> "$results"
    printf '%s\t%s\t%s\n' "$mode" pytorch "$torch_line" >> "$results"
  done
done

/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, impl, js = line.rstrip("\n").split("\t", 2)
    rows.setdefault(mode, {}).setdefault(impl, []).append(json.loads(js)["median_ms"])
summary = {}
# The paired ratio (each Troupe run over the PyTorch run right after it) is
# steadier than the ratio of medians on a machine whose speed drifts.
print(f"{'mode':<16}{'pytorch ms':>12}{'troupe ms':>12}{'troupe/pytorch':>16}{'paired ratio':>14}")
for mode, impls in rows.items():
    t = statistics.median(impls["troupe"]); p = statistics.median(impls["pytorch"])
    paired = statistics.median(a / b for a, b in zip(impls["troupe"], impls["pytorch"]))
    summary[mode] = {"pytorch_ms": round(p, 2), "troupe_ms": round(t, 2), "ratio": round(t / p, 3),
                     "paired_ratio": round(paired, 3)}
    print(f"{mode:<16}{p:>12.2f}{t:>12.2f}{t / p:>16.3f}{paired:>14.3f}")
for impl in ("troupe", "pytorch"):
    d = {m: statistics.median(v[impl]) for m, v in rows.items()}
    for ddp in ("ddp_25", "ddp_25v"):
        if impl == "pytorch" and ddp == "ddp_25v":
            continue  # the same PyTorch runs as ddp_25
        if ddp in d and "nosync" in d and "allreduce_only" in d:
            over = d[ddp] - d["nosync"]
            summary[f"{impl}_{ddp}_comm_overhead_vs_allreduce"] = round(over / d["allreduce_only"], 3)
            print(f"{impl} {ddp}: DDP minus no_sync = {over:.2f} ms, "
                  f"{over / d['allreduce_only']:.2f}x one allreduce of all gradients")
print(json.dumps({"bench": "ddp", "modes": summary}))
PY
