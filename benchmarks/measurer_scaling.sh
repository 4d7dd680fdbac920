#!/usr/bin/env bash
# Trials per minute of `troupe tune --cluster` with one measurer node, then
# with two: the autotuner's "two measurer nodes against one: trials per
# minute scale accordingly".
#
# Each run starts a fresh cluster on 127.0.0.1 (a seed node that measures
# nothing, plus N nodes with a tuning_measurer service; ports picked by the
# nodes themselves, --port 0, and read from their ready files), runs random
# search (no cost model, so the tuner's own work is the same in both runs)
# with the same seed (so both runs measure the same configs), and stops the
# nodes by pid. It checks that every trial was measured (no "measurer did
# not answer" errors, the same configs and valid/invalid split in both runs)
# and that with two nodes both measurers did work (the CPU time of each
# node's troupe-measure workers: the records name only host and CPU, the
# same for both nodes here). "Other load" is the machine's busy time during
# a run less this benchmark's own processes: on a shared 2-core machine it
# is what most often spoils the speedup.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: benchmarks/measurer_scaling.sh [OPTIONS]

Runs `troupe tune --cluster --random --threads 1` against one measurer node,
then against two, and prints trials per minute and the speedup.

Options:
  --bin DIR        directory of troupe and troupe-measure
                   (default: $TROUPE_BIN_DIR, else build/apps under the repo root)
  --trials N       trials per run (default 320)
  --shape M,N,K    matmul shape (default 512,512,512: ~0.1 s per valid trial)
  --batch N        configs per round, each measurer taking the next when free (default 8)
  --seed N         explorer seed, the same for both runs (default 1)
  --timeout S      bound on each wait: node start-up, registration (default 30);
                   a tune run is bounded by 20 x S
  --wait-idle S    before each run, wait up to S s for the machine to go idle
                   (under 0.2 busy cores; default 0: do not wait)
  --keep           keep the work directory (logs, exported records)
  -h, --help       this text

Prints a table (measurer nodes, trials, valid, seconds, trials per minute,
the load of other processes during the run, in cores, and each node's
worker CPU time) and, last, one JSON line with the figures. The seconds are
troupe tune's own (its summary line: connecting to the cluster excluded);
the wall seconds include the tune process's start.
EOF
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${TROUPE_BIN_DIR:-$repo_root/build/apps}"
trials=320
shape=512,512,512
batch=8
seed=1
timeout_s=30
keep=0
wait_idle=0

while (($#)); do
  case "$1" in
    --bin) bin_dir="$2"; shift 2 ;;
    --trials) trials="$2"; shift 2 ;;
    --shape) shape="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --wait-idle) wait_idle="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "measurer_scaling.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

troupe="$bin_dir/troupe"
for program in "$troupe" "$bin_dir/troupe-measure"; do
  if [[ ! -x "$program" ]]; then
    echo "measurer_scaling.sh: no executable $program (build it, or pass --bin DIR)" >&2
    exit 2
  fi
done
command -v python3 >/dev/null || { echo "measurer_scaling.sh: needs python3" >&2; exit 2; }

hz="$(getconf CLK_TCK)"
work="$(mktemp -d "${TMPDIR:-/tmp}/measurer-scaling.XXXXXX")"
node_pids=()
tune_pid=""

# -- processes ---------------------------------------------------------------

# SIGTERM each pid, wait up to 5 s for it, then SIGKILL. Measurer workers
# (troupe-measure) die with their node (PR_SET_PDEATHSIG).
stop_pids() {
  local pid
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local status=$?
  if [[ -n "$tune_pid" ]]; then
    stop_pids "$tune_pid"
  fi
  if ((${#node_pids[@]})); then
    stop_pids "${node_pids[@]}"
  fi
  if ((keep)) || ((status != 0)); then
    echo "work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "measurer_scaling.sh: $*" >&2
  exit 1
}

json_field() {  # FILE KEY
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# Starts node NAME in DIR with extra args; waits for its ready file.
# Sets started_pid and started_port.
start_node() {
  local dir="$1" name="$2"
  shift 2
  local ready="$dir/$name.ready"
  (cd "$dir" && exec "$troupe" node --name "$name" --host 127.0.0.1 --port 0 \
     --ready-file "$ready" --metrics-port -1 --parent-pid $$ --log-level warn "$@") \
    >"$dir/$name.log" 2>&1 &
  started_pid=$!
  node_pids+=("$started_pid")
  local deadline=$((SECONDS + timeout_s))
  until [[ -s "$ready" ]]; do
    if ! kill -0 "$started_pid" 2>/dev/null; then
      tail -n 20 "$dir/$name.log" >&2 || true
      fail "node $name exited before serving (log above)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$dir/$name.log" >&2 || true
      fail "node $name did not serve within ${timeout_s} s (log above)"
    fi
    sleep 0.1
  done
  started_port="$(json_field "$ready" port)"
}

# CPU ticks (getconf CLK_TCK a second) from /proc. Fields of /proc/PID/stat:
# utime 14, stime 15, cutime 16, cstime 17 (the name, field 2, has no spaces
# here).
own_ticks() {  # PID: its own user + system time
  local stat
  read -r -a stat <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
  echo $((stat[13] + stat[14]))
}
reaped_ticks() {  # PID: the time of its children it has waited for
  local stat
  read -r -a stat <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
  echo $((stat[15] + stat[16]))
}
busy_ticks() {  # the machine: user + nice + system + irq + softirq, all cores
  local cpu
  read -r -a cpu </proc/stat
  echo $((cpu[1] + cpu[2] + cpu[3] + cpu[6] + cpu[7]))
}

# The measurement workers under node PID: live troupe-measure children plus
# children already reaped (a worker restarted after a crash).
worker_ticks() {
  local ticks child
  ticks="$(reaped_ticks "$1")"
  for child in $(pgrep -P "$1" || true); do
    ticks=$((ticks + $(own_ticks "$child")))
  done
  echo "$ticks"
}

# Blocks until the machine's busy cores, over 1 s, fall below 0.2, for at
# most $wait_idle s.
wait_until_idle() {
  ((wait_idle > 0)) || return 0
  local deadline=$((SECONDS + wait_idle)) before after
  while ((SECONDS < deadline)); do
    before="$(busy_ticks)"
    sleep 1
    after="$(busy_ticks)"
    (((after - before) * 5 < hz)) && return 0
  done
  echo "   the machine stayed busy for ${wait_idle} s: going on" >&2
}

# -- one run -----------------------------------------------------------------

# run_with N: a seed node, N measurer nodes, one tune run. Appends a line
# "N trials valid errors wall_s tune_s cpu1 cpu2 ..." to $work/results.
run_with() {
  local count="$1"
  local dir="$work/nodes-$count"
  mkdir -p "$dir"
  node_pids=()
  echo "== $count measurer node(s)" >&2
  start_node "$dir" seed
  local seed_address="127.0.0.1:$started_port"
  local measurer_pids=()
  local i
  for ((i = 1; i <= count; ++i)); do
    start_node "$dir" "m$i" --seed "$seed_address" --service "tuning_measurer=tuning.measurer.m$i"
    measurer_pids+=("$started_pid")
  done
  # The tuner finds measurers in the cluster directory: wait until all are there.
  local deadline=$((SECONDS + timeout_s)) found=0
  while :; do
    found="$("$troupe" cluster --seed "$seed_address" --timeout-ms 2000 2>/dev/null \
               | grep -o 'tuning\.measurer\.m[0-9]*' | sort -u | wc -l || true)"
    ((found == count)) && break
    ((SECONDS >= deadline)) && fail "only $found of $count measurers registered within ${timeout_s} s (logs in $dir)"
    sleep 0.2
  done

  local log="$dir/tune.log" records="$dir/records.jsonl"
  local start end status=0
  wait_until_idle
  # Everything this benchmark runs: the tuner (a child of this shell once
  # reaped), the nodes, their workers. The rest of the machine's busy time
  # during the run is someone else's load.
  local pid ours_before=0 ours_after=0 busy_before busy_after
  for pid in "${node_pids[@]}"; do
    ours_before=$((ours_before + $(own_ticks "$pid") + $(worker_ticks "$pid")))
  done
  ours_before=$((ours_before + $(reaped_ticks $$)))
  busy_before="$(busy_ticks)"
  start="$(date +%s.%N)"
  timeout $((timeout_s * 20)) "$troupe" tune --cluster "$seed_address" --op matmul \
    --shape "$shape" --trials "$trials" --batch "$batch" --seed "$seed" --random --threads 1 \
    --confirm 0 --store "$dir/store" --export "$records" >"$log" 2>&1 &
  tune_pid=$!
  wait "$tune_pid" || status=$?
  tune_pid=""
  end="$(date +%s.%N)"
  busy_after="$(busy_ticks)"
  if ((status != 0)); then
    tail -n 20 "$log" >&2 || true
    ((status == 124)) && fail "troupe tune ran past $((timeout_s * 20)) s with $count measurer(s)"
    fail "troupe tune failed (status $status) with $count measurer(s) (log above)"
  fi
  grep -q "$count measurer(s)" "$log" \
    || fail "troupe tune did not use $count measurer(s): $(grep 'measurer(s)' "$log" || true)"

  for pid in "${node_pids[@]}"; do
    ours_after=$((ours_after + $(own_ticks "$pid") + $(worker_ticks "$pid")))
  done
  ours_after=$((ours_after + $(reaped_ticks $$)))
  local other_ticks=$((busy_after - busy_before - (ours_after - ours_before)))
  local workers=()
  for pid in "${measurer_pids[@]}"; do
    workers+=("$(worker_ticks "$pid")")
  done
  stop_pids "${node_pids[@]}"
  node_pids=()

  # "matmul_512x512x512: 320 records (0 resumed, 320 measured now), 210 errors, 31.2 s"
  local summary
  summary="$(grep -E '^[a-z0-9_]+: [0-9]+ records \(' "$log" | tail -n 1)" \
    || fail "no summary line in $log"
  local tune_s
  tune_s="$(sed -E 's/.*, ([0-9.]+) s$/\1/' <<<"$summary")"
  # Counts from the exported records: all of them new, none lost by a measurer.
  local counts
  counts="$(python3 - "$records" <<'EOF'
import json, os, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
lost = sum("did not answer" in r["error"] for r in rows)
valid = sum(r["error"] == "" and r["gflops"] > 0 for r in rows)
print(len(rows), valid, len(rows) - valid, lost)
EOF
)"
  local total valid errors lost
  read -r total valid errors lost <<<"$counts"
  ((total == trials)) || fail "$count measurer(s): $total records exported, $trials asked"
  ((lost == 0)) || fail "$count measurer(s): $lost trials lost (a measurer did not answer)"
  ((valid > 0)) || fail "$count measurer(s): no valid trial measured"
  local wall_s
  wall_s="$(python3 -c "print(f'{$end - $start:.1f}')")"
  echo "$count $total $valid $errors $wall_s $tune_s $other_ticks ${workers[*]}" >>"$work/results"
  echo "   $summary; worker CPU ticks per node: ${workers[*]}" >&2
}

# -- main --------------------------------------------------------------------

echo "matmul $shape, $trials trials, batch $batch, random search, seed $seed, 1 thread;" \
     "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run_with 1
run_with 2

python3 - "$work/results" "$shape" "$batch" "$hz" "$work" <<'EOF'
import json, os, sys
hz = int(sys.argv[4])
configs = [sorted(json.dumps(json.loads(line)["config"])
                  for line in open(f"{sys.argv[5]}/nodes-{n}/records.jsonl") if line.strip())
           for n in (1, 2)]
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    wall = float(f[4])
    rows.append({"measurer_nodes": int(f[0]), "trials": int(f[1]), "valid": int(f[2]),
                 "errors": int(f[3]), "wall_s": wall, "tune_s": float(f[5]),
                 "other_load_cores": round(max(0, int(f[6])) / hz / wall, 2),
                 "worker_cpu_s": [round(int(x) / hz, 1) for x in f[7:]]})
for r in rows:
    r["trials_per_min"] = round(60 * r["trials"] / r["tune_s"], 1)
    r["valid_per_min"] = round(60 * r["valid"] / r["tune_s"], 1)
one, two = rows
problems = []
if configs[0] != configs[1]:
    problems.append("the runs measured different configs")
if (one["valid"], one["errors"]) != (two["valid"], two["errors"]):
    problems.append(f"the runs measured different work: {one['valid']}/{one['errors']} valid/errors "
                    f"against {two['valid']}/{two['errors']}")
cpu = two["worker_cpu_s"]
share = min(cpu) / sum(cpu) if sum(cpu) > 0 else 0.0
if min(cpu) <= 0:
    problems.append(f"a measurer node did no work (worker CPU s {cpu})")
print(f"{'measurer nodes':>14}  {'trials':>6}  {'valid':>5}  {'wall s':>6}  {'tune s':>6}  "
      f"{'trials/min':>10}  {'valid/min':>9}  {'other load':>10}  worker CPU s per node")
for r in rows:
    print(f"{r['measurer_nodes']:>14}  {r['trials']:>6}  {r['valid']:>5}  {r['wall_s']:>6.1f}  "
          f"{r['tune_s']:>6.1f}  {r['trials_per_min']:>10.1f}  {r['valid_per_min']:>9.1f}  "
          f"{r['other_load_cores']:>10.2f}  " + " / ".join(f"{c:.1f}" for c in r["worker_cpu_s"]))
speedup = one["tune_s"] / two["tune_s"]
wall_speedup = one["wall_s"] / two["wall_s"]
print(f"speedup two nodes against one: {speedup:.2f}x (tune time), {wall_speedup:.2f}x (wall time); "
      f"the lesser node did {100 * share:.0f} % of the worker CPU")
busy = max(r["other_load_cores"] for r in rows)
if busy > 0.2:
    print(f"warning: other processes kept {busy:.2f} cores busy during a run "
          "(other load, in cores): the speedup understates what idle cores give")
for p in problems:
    print("problem: " + p)
print(json.dumps({"benchmark": "measurer_scaling", "op": "matmul",
                  "shape": [int(x) for x in sys.argv[2].split(",")], "batch": int(sys.argv[3]),
                  "runs": rows, "speedup": round(speedup, 2), "wall_speedup": round(wall_speedup, 2),
                  "lesser_node_cpu_share": round(share, 2),
                  "cores": os.cpu_count()}))
sys.exit(1 if problems else 0)
EOF
