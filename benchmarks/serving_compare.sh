#!/usr/bin/env bash
# serving_compare.sh [BUILD_DIR]: the serving scenarios of
# /work/shared/benchmarks.md ("Serving"), each against its baseline, on one
# machine. Builds nothing: BUILD_DIR (default /tmp/b0) must hold apps/troupe,
# apps/troupe-container, apps/troupe-make-models and benchmarks/serving_bench.
#
#   (a) noop model, closed loop            vs the load generator's ceiling (echo-server)
#   (b) XGBoost bench model, 20 ms SLO     vs the model's raw batched throughput (>= 80 %)
#   (c) the same with max_batch_size 1     (b)/(c): what adaptive batching buys (>= 10x);
#                                          (c''): (b'')'s 512-row requests, max batch 1
#   (d) open-loop Poisson at 90 % of (b)   p99 within the SLO (also at 90 % of (d'),
#                                          the capacity under the open-loop generator); (d') offered 150 %:
#       the throughput that survives overload
#   (e) 8-container ensemble, one straggler (100 ms), exp4, 20 ms SLO vs an SLO of 1 s (waits)
#   (f) prediction cache, one input repeated vs echo-server (>= 50K qps)
#   (g) TorchScript MLP 784-256-256-10     vs the model's raw throughput; (g'')/(g-c''):
#                                          64-row requests batched adaptively vs max batch 1
#   (r) Ray Serve (ray_serve_xgb.py) on bench_xgb.json, same load: Troupe/Ray;
#       only when RAY_PYTHON names a python with ray[serve] and xgboost
#
# The baselines of (b), (b'), (b'') and (c) are the model's raw throughput
# measured right before and right after each run (their mean).
#
# Every scenario runs its own `troupe serve start` (fresh store), killed by
# pid afterwards and on exit. Environment: SECONDS_PER_RUN (5), CONNECTIONS
# (64), FRONTEND_THREADS (1), BATCHES_IN_FLIGHT (2, per model replica),
# SCENARIOS ("a b c d e f g"), RESULTS (a file to keep every JSON result in),
# PACING_US (100: the open-loop generator's least time between timer wake-ups),
# KEEP=1 keeps the work folder.
set -euo pipefail

build=${1:-/tmp/b0}
dur=${SECONDS_PER_RUN:-5}
conns=${CONNECTIONS:-64}
fe_threads=${FRONTEND_THREADS:-1}
in_flight=${BATCHES_IN_FLIGHT:-2}
pacing=${PACING_US:-100}
default_scenarios="a b c d e f g"
[[ -n ${RAY_PYTHON:-} ]] && default_scenarios="$default_scenarios r"
scenarios=${SCENARIOS:-$default_scenarios}
troupe=$build/apps/troupe
container=$build/apps/troupe-container
make_models=$build/apps/troupe-make-models
bench=$build/benchmarks/serving_bench
for f in "$troupe" "$container" "$make_models" "$bench"; do
  [[ -x $f ]] || { echo "serving_compare: $f is missing (build it first)" >&2; exit 2; }
done
for tool in jq curl; do
  command -v $tool >/dev/null || { echo "serving_compare: needs $tool" >&2; exit 2; }
done

work=$(mktemp -d /tmp/serving_compare.XXXXXX)
fe_pid=""
ray_pid=""
port=""
admin_port=""

log() { echo "[serving_compare] $*" >&2; }

stop_frontend() {
  if [[ -n $fe_pid ]]; then
    kill "$fe_pid" 2>/dev/null || true
    wait "$fe_pid" 2>/dev/null || true
    fe_pid=""
  fi
}

# Ray Serve runs in its own session (setsid): its raylet, GCS and workers
# are stopped with it, by its process group.
stop_ray() {
  if [[ -n $ray_pid ]]; then
    kill -TERM -- "-$ray_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$ray_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$ray_pid" 2>/dev/null || true
    ray_pid=""
  fi
}

cleanup() {
  stop_frontend
  stop_ray
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_frontend NAME [extra options of `troupe serve start`]
start_frontend() {
  local name=$1
  shift
  "$troupe" serve start --port 0 --admin-port 0 --store "$work/store-$name" \
    --ready-file "$work/$name.ready" --threads "$fe_threads" --log-level warn "$@" \
    > "$work/$name.log" 2>&1 &
  fe_pid=$!
  for _ in $(seq 200); do
    if [[ -s $work/$name.ready ]] && jq -e .port "$work/$name.ready" >/dev/null 2>&1; then
      port=$(jq -r .port "$work/$name.ready")
      admin_port=$(jq -r .admin_port "$work/$name.ready")
      return 0
    fi
    kill -0 "$fe_pid" 2>/dev/null || { cat "$work/$name.log" >&2; log "frontend died"; exit 1; }
    sleep 0.05
  done
  log "frontend wrote no ready file within 10 s"
  exit 1
}

# admin ENDPOINT JSON: POST to the admin API; fails loudly unless {"ok":true}.
admin() {
  local out
  out=$(curl -sS -X POST "http://127.0.0.1:$admin_port/admin/$1" \
    -H 'Content-Type: application/json' -d "$2")
  if ! jq -e '.ok == true' <<< "$out" >/dev/null 2>&1; then
    log "admin $1 $2 failed: $out"
    exit 1
  fi
}

# add_app NAME LENGTH SLO_US POLICY
add_app() {
  admin add_app "{\"name\":\"$1\",\"input_type\":\"doubles\",\"input_length\":$2,
    \"latency_slo_micros\":$3,\"default_output\":\"-1\",\"selection_policy\":\"$4\"}"
}

# add_model NAME BACKEND PATH MAX_BATCH
add_model() {
  admin add_model "{\"model_name\":\"$1\",\"model_version\":1,\"backend\":\"$2\",
    \"path\":\"$3\",\"replicas\":1,\"max_batch_size\":$4,\"batch_wait_timeout_micros\":0,
    \"batches_in_flight\":$in_flight}"
}

link() {
  local names
  names=$(printf '"%s",' "${@:2}")
  admin add_model_links "{\"app_name\":\"$1\",\"model_names\":[${names%,}]}"
}

# wait_ready APP LENGTH: until the app answers a non-default prediction.
wait_ready() {
  local body
  body=$(jq -cn --argjson n "$2" '{input: [range(0; if $n == 0 then 1 else $n end) | 0.5]}')
  for _ in $(seq 300); do
    if curl -sS -X POST "http://127.0.0.1:$port/$1/predict" -d "$body" 2>/dev/null \
      | jq -e '.default == false' >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  log "app $1 gave no non-default answer within 30 s"
  exit 1
}

# run_bench LABEL ARGS...: runs serving_bench, keeps its JSON, prints it.
run_bench() {
  local label=$1
  shift
  log "$label: serving_bench $*"
  local out
  out=$("$bench" "$@" 2> >(sed 's/^/    /' >&2) | tail -1)
  jq -c --arg l "$label" '. + {"label": $l}' <<< "$out" >> "$work/results.jsonl"
  echo "$out"
}

# metric PREFIX: the value of the first /metrics line starting with PREFIX.
metric() {
  curl -sS "http://127.0.0.1:$port/metrics" | grep -F "$1" | grep -v '^#' | head -1 | awk '{print $2}'
}

# row SCENARIO METRIC TROUPE BASELINE TARGET: one line of the table.
row() {
  local ratio="-" base=$4
  if [[ $4 != "-" ]]; then base=$(fmt "$4"); ratio=$(awk -v a="$3" -v b="$4" 'BEGIN{ if (b > 0) printf "%.3f", a/b; else print "-" }'); fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$base" "$ratio" "$5" >> "$work/table.tsv"
}

# good_rows JSON: rows/s answered by a model (default answers left out).
good_rows() { jq '.rows_per_s * (1 - .default_fraction)' <<< "$1"; }

# best_good LABEL URL ROWS LENGTH: closed loops of ROWS-row requests at 1, 2
# and 4 connections; sets q (the best goodput, rows/s) and r (its JSON).
best_good() {
  local c out g
  q=0
  for c in 1 2 4; do
    out=$(run_bench "$1-c$c" closed --url "$2" --connections "$c" --rows-per-request "$3" \
      --input-length "$4" "${load[@]}")
    g=$(good_rows "$out")
    if awk -v a="$g" -v b="$q" 'BEGIN{ exit !(a > b) }'; then q=$g; r=$out; fi
  done
}

fmt() { awk -v x="$1" 'BEGIN{ printf "%.0f", x }'; }

# raw_now BATCH: the XGBoost model's raw rows/s at BATCH, measured now (2 s).
raw_now() {
  run_bench "raw-xgb-$1" raw --backend xgboost --path "$models/bench_xgb.json" --batch "$1" \
    --seconds 2 | jq '.runs[0].rows_per_s'
}

# bracketed BATCH LABEL ARGS...: runs serving_bench between two raw
# measurements at BATCH and sets r (its JSON) and base (the mean of the
# two raw figures). The VM's speed drifts by +-30 % within minutes, so a
# ratio against a baseline taken a minute earlier measured the drift too.
bracketed() {
  local batch=$1 before after
  shift
  before=$(raw_now "$batch")
  r=$(run_bench "$@")
  after=$(raw_now "$batch")
  base=$(awk -v a="$before" -v b="$after" 'BEGIN{ printf "%.0f", (a + b) / 2 }')
}

url() { echo "http://127.0.0.1:$port/$1/predict"; }

log "work folder $work; making the models"
"$make_models" --out "$work/models" > "$work/make_models.log" 2>&1 \
  || { cat "$work/make_models.log" >&2; exit 1; }
models=$work/models
printf 'scenario\tmetric\ttroupe\tbaseline\tratio\ttarget\n' > "$work/table.tsv"
load=(--seconds "$dur" --warmup 1 --slo-us 20000)

# -- baselines ----------------------------------------------------------------
echo_r=$(run_bench echo echo-server --connections "$conns" --server-threads "$fe_threads" \
  "${load[@]}")
echo_qps=$(jq .qps <<< "$echo_r")
raw_xgb=$(run_bench raw-xgb raw --backend xgboost --path "$models/bench_xgb.json" \
  --batch 1 32 512 --seconds 3)
raw_xgb_1=$(jq '.runs[0].rows_per_s' <<< "$raw_xgb")
raw_xgb_32=$(jq '.runs[1].rows_per_s' <<< "$raw_xgb")
raw_xgb_512=$(jq '.runs[2].rows_per_s' <<< "$raw_xgb")
row baseline "raw xgb rows/s batch 1 / 32 / 512" "$(fmt "$raw_xgb_1") / $(fmt "$raw_xgb_32") / $(fmt "$raw_xgb_512")" - "-"
row baseline "echo-server qps ($conns conns)" "$(fmt "$echo_qps")" - "-"

xgb_qps=""
xgb_rows_512=""
for s in $scenarios; do
  case $s in
  a)
    start_frontend noop
    add_app noop 0 20000 single
    add_model noop noop "" 512
    link noop noop
    wait_ready noop 1
    r=$(run_bench a-noop closed --url "$(url noop)" --connections "$conns" --input-length 1 \
      "${load[@]}")
    row "(a) noop closed" "qps" "$(fmt "$(jq .qps <<< "$r")")" "$echo_qps" "overhead = 1 - ratio"
    row "(a) noop closed" "p50 / p99 us" "$(jq -r '"\(.p50_us) / \(.p99_us)"' <<< "$r")" - "-"
    stop_frontend
    ;;
  b | c)
    max_batch=512
    [[ $s == c ]] && max_batch=1
    start_frontend "xgb$s"
    add_app xgb 28 20000 single
    add_model bench_xgb xgboost "$models/bench_xgb.json" "$max_batch"
    link xgb bench_xgb
    wait_ready xgb 28
    raw_batch=32
    [[ $s == c ]] && raw_batch=1
    bracketed "$raw_batch" "$s-xgb-max$max_batch" closed --url "$(url xgb)" --connections "$conns" \
      --input-length 28 "${load[@]}"
    q=$(jq .qps <<< "$r")
    mb=$(metric troupe_serving_mean_batch_size)
    if [[ $s == b ]]; then
      xgb_qps=$q
      row "(b) xgb closed, batching" "rows/s" "$(fmt "$q")" "$base" ">= 0.8 of raw batch 32"
      row "(b) xgb closed, batching" "p99 us (SLO 20000); mean batch" "$(jq .p99_us <<< "$r"); $(printf '%.1f' "${mb:-0}")" - "p99 <= 20000"
      bracketed 32 "b-xgb-input_batch32" closed --url "$(url xgb)" --connections 8 \
        --rows-per-request 32 --input-length 28 "${load[@]}"
      row "(b') xgb, 32 rows per request" "rows/s" "$(fmt "$(jq .rows_per_s <<< "$r")")" "$base" ">= 0.8 of raw batch 32"
      row "(b') xgb, 32 rows per request" "p99 us" "$(jq .p99_us <<< "$r")" - "p99 <= 20000"
      # Client-side batches as big as the model's best raw batch: the rows
      # of a request travel the pipeline as one group (one message a hop).
      bracketed 512 "b-xgb-input_batch512" closed --url "$(url xgb)" --connections 4 \
        --rows-per-request 512 --input-length 28 "${load[@]}"
      xgb_rows_512=$(good_rows "$r")
      row "(b'') xgb, 512 rows per request" "rows/s" "$(fmt "$xgb_rows_512")" "$base" ">= 0.8 of raw batch 512"
      row "(b'') xgb, 512 rows per request" "p99 us" "$(jq .p99_us <<< "$r")" - "p99 <= 20000"
    else
      row "(c) xgb closed, max batch 1" "rows/s" "$(fmt "$q")" "$base" "-"
      row "(c) xgb closed, max batch 1" "p99 us; mean batch" "$(jq .p99_us <<< "$r"); $(printf '%.1f' "${mb:-0}")" - "-"
      [[ -n $xgb_qps ]] && row "(b)/(c) adaptive batching" "speed-up" "$(fmt "$xgb_qps")" "$q" ">= 10x"
      # The same 512-row requests as (b''), batched one row at a time: what
      # batching buys when the frontend's per-request cost is not the limit.
      # One row at a time, 4 connections of 512 rows queue 2048 rows (~25 ms
      # of model time) against a 20 ms SLO: nearly every row would expire.
      # The best goodput over 1, 2 and 4 connections is batch 1's capacity.
      best_good "c-xgb-input_batch512" "$(url xgb)" 512 28
      base=$(raw_now 1)
      row "(c'') max batch 1, 512 rows per request" "rows/s (best of 1/2/4 conns)" "$(fmt "$q")" "$base" "-"
      [[ -n $xgb_rows_512 ]] && row "(b'')/(c'') adaptive batching" "speed-up" "$(fmt "$xgb_rows_512")" "$q" ">= 10x"
    fi
    stop_frontend
    ;;
  d)
    start_frontend xgbd
    add_app xgb 28 20000 single
    add_model bench_xgb xgboost "$models/bench_xgb.json" 512
    link xgb bench_xgb
    wait_ready xgb 28
    if [[ -z $xgb_qps ]]; then
      xgb_qps=$(jq .qps <<< "$(run_bench d-capacity closed --url "$(url xgb)" \
        --connections "$conns" --input-length 28 "${load[@]}")")
    fi
    for pct in 50 80 90 110; do
      rate=$(awk -v q="$xgb_qps" -v p="$pct" 'BEGIN{ printf "%.0f", q * p / 100 }')
      r=$(run_bench "d-open-$pct" open --pacing-us "$pacing" --url "$(url xgb)" --rate "$rate" --connections 256 \
        --input-length 28 "${load[@]}")
      row "(d) xgb open, ${pct} % of (b)" "qps / p50 / p99 / p99.9 us" \
        "$(fmt "$(jq .qps <<< "$r")") / $(jq -r '"\(.p50_us) / \(.p99_us) / \(.p999_us)"' <<< "$r")" - \
        "$([[ $pct == 90 ]] && echo "p99 <= 20000" || echo "-")"
      row "(d) xgb open, ${pct} % of (b)" "SLO attainment" "$(jq .slo_attainment <<< "$r")" - "-"
    done
    # Overload: offered 1.5x (b)'s closed-loop capacity, a serving system
    # should keep answering about its capacity (shedding the rest), not
    # collapse; the ratio to (b) says how much goodput survives.
    over=$(awk -v q="$xgb_qps" 'BEGIN{ printf "%.0f", q * 1.5 }')
    r=$(run_bench "d-open-overload" open --pacing-us "$pacing" --url "$(url xgb)" --rate "$over" --connections 256 \
      --input-length 28 "${load[@]}")
    row "(d') xgb open, offered 150 % of (b): throughput under overload" "qps" \
      "$(fmt "$(jq .qps <<< "$r")")" "$xgb_qps" "-"
    # The open-loop generator (256 connections, Poisson timers) costs more
    # CPU than the closed loop, and shares the 2 cores with the frontend:
    # the frontend's capacity under it is what it completes when overloaded
    # (d'). 90 % of that is 90 % of capacity under this generator.
    open_cap=$(jq .qps <<< "$r")
    rate=$(awk -v q="$open_cap" 'BEGIN{ printf "%.0f", q * 0.9 }')
    r=$(run_bench "d-open-90-of-open-capacity" open --pacing-us "$pacing" --url "$(url xgb)" --rate "$rate" \
      --connections 256 --input-length 28 "${load[@]}")
    row "(d) xgb open, 90 % of (d')" "qps / p50 / p99 / p99.9 us" \
      "$(fmt "$(jq .qps <<< "$r")") / $(jq -r '"\(.p50_us) / \(.p99_us) / \(.p999_us)"' <<< "$r")" - \
      "p99 <= 20000"
    row "(d) xgb open, 90 % of (d')" "SLO attainment" "$(jq .slo_attainment <<< "$r")" - "-"
    stop_frontend
    ;;
  e)
    for variant in 20000 1000000; do
      start_frontend "ens$variant"
      add_app ens 1 "$variant" exp4
      names=()
      for i in 0 1 2 3 4 5 6 7; do
        cmd="$container --backend noop"
        [[ $i == 7 ]] && cmd="$cmd --fault slow 100000"
        add_model "m$i" container "$cmd" 512
        names+=("m$i")
      done
      link ens "${names[@]}"
      wait_ready ens 1
      sleep 2  # every container up, not just the first to answer
      r=$(run_bench "e-ens-slo$variant" closed --url "$(url ens)" --connections 8 \
        --input-length 1 --seconds "$dur" --warmup 1 --slo-us 20000 --drain 10)
      partial=$(metric troupe_serving_partial_answers_total)
      slow_batch=$(metric 'troupe_serving_mean_batch_size{model="m7:1"')
      fast_batch=$(metric 'troupe_serving_mean_batch_size{model="m0:1"')
      label="(e) 8 containers, 1 slow, SLO $((variant / 1000)) ms"
      row "$label" "qps / p50 / p99 us" \
        "$(fmt "$(jq .qps <<< "$r")") / $(jq -r '"\(.p50_us) / \(.p99_us)"' <<< "$r")" - \
        "$([[ $variant == 20000 ]] && echo "p99 ~ SLO (Clipper 17-23 ms)" || echo "waits for the straggler (Clipper 129-154 ms)")"
      row "$label" "default fraction; partial answers" "$(jq .default_fraction <<< "$r"); ${partial:-?}" - "-"
      row "$label" "mean batch: straggler / a fast one" "$(printf '%.1f / %.1f' "${slow_batch:-0}" "${fast_batch:-0}")" - "-"
      stop_frontend
    done
    ;;
  f)
    start_frontend cache --cache-mb 64
    add_app xgb 28 20000 single
    add_model bench_xgb xgboost "$models/bench_xgb.json" 512
    link xgb bench_xgb
    wait_ready xgb 28
    for c in 16 "$conns"; do
      r=$(run_bench "f-cache-$c" closed --url "$(url xgb)" --connections "$c" --same-input \
        --input-length 28 "${load[@]}")
      row "(f) cache hits, $c conns" "qps" "$(fmt "$(jq .qps <<< "$r")")" "$echo_qps" ">= 50000 qps"
    done
    row "(f) cache" "hits / misses" "$(metric troupe_serving_cache_hits_total) / $(metric troupe_serving_cache_misses_total)" - "-"
    stop_frontend
    ;;
  g)
    raw_mlp=$(run_bench raw-mlp raw --backend torchscript --path "$models/bench_mlp.pt" \
      --batch 1 128 --seconds 3)
    raw_mlp_1=$(jq '.runs[0].rows_per_s' <<< "$raw_mlp")
    raw_mlp_128=$(jq '.runs[1].rows_per_s' <<< "$raw_mlp")
    start_frontend mlp
    add_app mlp 784 20000 single
    add_model bench_mlp torchscript "$models/bench_mlp.pt" 512
    link mlp bench_mlp
    wait_ready mlp 784
    r=$(run_bench g-mlp closed --url "$(url mlp)" --connections "$conns" --input-length 784 \
      "${load[@]}")
    mb=$(metric troupe_serving_mean_batch_size)
    row "(g) MLP closed" "rows/s" "$(fmt "$(jq .qps <<< "$r")")" "$raw_mlp_128" "vs raw batch 128"
    row "(g) MLP closed" "vs raw batch 1" "$(fmt "$(jq .qps <<< "$r")")" "$raw_mlp_1" "-"
    row "(g) MLP closed" "p99 us; mean batch" "$(jq .p99_us <<< "$r"); $(printf '%.1f' "${mb:-0}")" - "p99 <= 20000"
    # What adaptive batching buys on a model whose own batching gain is
    # large: the same 64-row requests, batched adaptively (mlp) and one row
    # at a time (mlp1: the same file with max batch 1). Client-side batches
    # keep the frontend's per-request cost (6 KB of JSON a row) from being
    # the limit of both.
    add_app mlp1 784 20000 single
    add_model bench_mlp1 torchscript "$models/bench_mlp.pt" 1
    link mlp1 bench_mlp1
    wait_ready mlp1 784
    r=$(run_bench g-mlp-input_batch64 closed --url "$(url mlp)" --connections 4 \
      --rows-per-request 64 --input-length 784 "${load[@]}")
    mlp_rows_64=$(good_rows "$r")
    row "(g'') MLP, 64 rows per request" "rows/s; p99 us" "$(fmt "$mlp_rows_64"); $(jq .p99_us <<< "$r")" "$raw_mlp_128" "vs raw batch 128"
    best_good "g-mlp1-input_batch64" "$(url mlp1)" 64 784
    row "(g-c'') MLP max batch 1, 64 rows per request" "rows/s (best of 1/2/4 conns); p99 us" "$(fmt "$q"); $(jq .p99_us <<< "$r")" "$raw_mlp_1" "vs raw batch 1"
    row "(g'')/(g-c'') adaptive batching, MLP" "speed-up" "$(fmt "$mlp_rows_64")" "$q" ">= 10x"
    stop_frontend
    ;;
  r)
    [[ -n ${RAY_PYTHON:-} ]] || { log "scenario r needs RAY_PYTHON"; continue; }
    ray_port=$((20000 + RANDOM % 20000))
    setsid "$RAY_PYTHON" "$(dirname "$0")/ray_serve_xgb.py" --model "$models/bench_xgb.json" \
      --port "$ray_port" --max-batch 512 --ready-file "$work/ray.ready" > "$work/ray.log" 2>&1 &
    ray_pid=$!
    for _ in $(seq 240); do
      [[ -s $work/ray.ready ]] && break
      kill -0 "$ray_pid" 2>/dev/null || break
      sleep 0.5
    done
    [[ -s $work/ray.ready ]] || { tail -20 "$work/ray.log" >&2; log "Ray Serve did not start"; stop_ray; continue; }
    ray_url=http://127.0.0.1:$ray_port/xgb/predict
    ray_best=0
    for c in 8 "$conns"; do
      r=$(run_bench "r-ray-closed-$c" closed --url "$ray_url" --connections "$c" --input-length 28 \
        "${load[@]}")
      q=$(jq .qps <<< "$r")
      ray_best=$(awk -v a="$q" -v b="$ray_best" 'BEGIN{ print (a > b) ? a : b }')
      row "(r) Ray Serve xgb closed, $c conns" "qps / p99 us / errors" \
        "$(fmt "$q") / $(jq .p99_us <<< "$r") / $(jq .errors <<< "$r")" - "-"
    done
    rate=$(awk -v q="$ray_best" 'BEGIN{ printf "%.0f", q * 0.9 }')
    r=$(run_bench "r-ray-open-90" open --pacing-us "$pacing" --url "$ray_url" --rate "$rate" --connections 256 \
      --input-length 28 "${load[@]}")
    row "(r) Ray Serve xgb open, 90 % of its best" "qps / p50 / p99 us" \
      "$(fmt "$(jq .qps <<< "$r")") / $(jq -r '"\(.p50_us) / \(.p99_us)"' <<< "$r")" - "-"
    [[ -n $xgb_qps ]] && row "(b)/(r) Troupe vs Ray Serve" "closed-loop qps" "$(fmt "$xgb_qps")" "$ray_best" "-"
    stop_ray
    ;;
  *) log "unknown scenario '$s'" ;;
  esac
done

echo
column -t -s $'\t' "$work/table.tsv"
if [[ -n ${RESULTS:-} ]]; then
  cp "$work/results.jsonl" "$RESULTS"
  cp "$work/table.tsv" "${RESULTS%.jsonl}.tsv"
  log "results in $RESULTS"
fi
