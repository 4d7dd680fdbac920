#!/usr/bin/env python3
"""Ray Serve baseline for serving scenario (b): the same bench_xgb.json
(XGBoost, 100 trees of depth 6, 28 features) served over HTTP by Ray Serve
with its own adaptive batching (@serve.batch), 1 XGBoost thread per replica,
so that serving_bench's closed and open modes load it exactly as they load
`troupe serve`.

    python ray_serve_xgb.py --model models/bench_xgb.json --port 8000 --ready-file r.json
    serving_bench closed --url http://127.0.0.1:8000/xgb/predict --input-length 28 ...

Answers POST /xgb/predict {"input": [28 numbers]} with {"output": p,
"default": false}. Runs until SIGINT/SIGTERM. Needs ray[serve] and the
xgboost Python package (Debian's python3-xgboost does).
"""
import argparse
import json
import os
import signal
import sys
import time

import numpy as np
import ray
import xgboost as xgb
from ray import serve


def make_app(model, max_batch, batch_wait_s, replicas):
    @serve.deployment(num_replicas=replicas)
    class XGBoostModel:
        def __init__(self, path):
            self.booster = xgb.Booster(model_file=path)
            self.booster.set_param({"nthread": 1})

        @serve.batch(max_batch_size=max_batch, batch_wait_timeout_s=batch_wait_s)
        async def predict(self, rows):
            x = np.asarray(rows, dtype=np.float32)
            return [float(v) for v in self.booster.predict(xgb.DMatrix(x))]

        async def __call__(self, request):
            body = await request.json()
            return {"output": await self.predict(body["input"]), "default": False}

    return XGBoostModel.bind(model)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="bench_xgb.json from troupe-make-models")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-batch", type=int, default=64, help="@serve.batch max_batch_size")
    p.add_argument("--batch-wait-s", type=float, default=0.0,
                   help="@serve.batch batch_wait_timeout_s")
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--num-cpus", type=int, default=os.cpu_count())
    p.add_argument("--ready-file", help="write {port, pid} here as JSON once serving")
    a = p.parse_args()
    if not os.path.exists(a.model):
        print(f"ray_serve_xgb: no model file {a.model}", file=sys.stderr)
        return 2
    ray.init(num_cpus=a.num_cpus, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": a.port})
    serve.run(make_app(os.path.abspath(a.model), a.max_batch, a.batch_wait_s, a.replicas),
              route_prefix="/xgb/predict")
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as f:
            json.dump({"host": "127.0.0.1", "port": a.port, "pid": os.getpid()}, f)
        os.replace(a.ready_file + ".tmp", a.ready_file)
    print(f"ray_serve_xgb: serving on http://127.0.0.1:{a.port}/xgb/predict", file=sys.stderr)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.2)
    serve.shutdown()
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
