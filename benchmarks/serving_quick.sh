#!/bin/bash
# One quick closed-loop point against a fresh troupe-serve with a noop app:
#   benchmarks/serving_quick.sh [BUILD_DIR] [--same-input]
# --same-input repeats one input (every answer after the first is a cache
# hit); without it every query is new (the whole pipeline). Prints qps and
# latency as JSON. EXTRA="--threads 2" passes options to troupe-serve.
set -euo pipefail
B=${1:-/tmp/b0}
shift || true
D=$(mktemp -d)
"$B/apps/troupe-serve" ${EXTRA:-} --port 0 --admin-port 0 --store "$D/store" \
  --ready-file "$D/ready.json" --log-level warn > "$D/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 200); do [ -s "$D/ready.json" ] && break; sleep 0.05; done
P=$(jq .port "$D/ready.json"); A=$(jq .admin_port "$D/ready.json")
curl -sf -XPOST "127.0.0.1:$A/admin/add_model" -d '{"model_name":"zero","backend":"noop"}' >/dev/null
curl -sf -XPOST "127.0.0.1:$A/admin/add_app" -d '{"name":"z","input_type":"doubles",
  "latency_slo_micros":20000,"candidate_model_names":["zero"]}' >/dev/null
"$B/benchmarks/serving_bench" closed --url "http://127.0.0.1:$P/z/predict" --connections 64 \
  --seconds 4 --input-length 28 "$@" 2>/dev/null | tail -1 | jq -c '{qps, p50_us, p99_us}'
