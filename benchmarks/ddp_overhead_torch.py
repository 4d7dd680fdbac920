#!/usr/bin/env python3
"""PyTorch's side of `ddp_bench --mode overhead_ab`: DDP's communication overhead
measured round by round in the same two processes.

Each round takes three steps in a rotating order: a DDP step, a no_sync step and
one allreduce of all gradients (16 MiB for the default MLP). The overhead is
(DDP - no_sync) / allreduce, from the medians and per round. The set-up is
../shared/anchors/ddp_bench.py's: an MLP of --layers x --hidden, --batch rows per
rank, SGD, Gloo on loopback, world 2, one thread per rank.

Usage: /usr/bin/python3 ddp_overhead_torch.py [--iters N] [--warmup W]
       [--bucket-mb MB] [--port P]
Prints one JSON line (rank 0's figures), with the keys ddp_bench uses.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP


def make_model(a):
    mods, d = [], a.inp
    for _ in range(a.layers):
        mods += [nn.Linear(d, a.hidden), nn.ReLU()]
        d = a.hidden
    mods.append(nn.Linear(d, a.out))
    return nn.Sequential(*mods)


def worker(rank, a, q):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = make_model(a)
    g = torch.Generator().manual_seed(1234 + rank)
    x = torch.randn(a.batch, a.inp, generator=g)
    y = torch.randint(0, a.out, (a.batch,), generator=g)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{a.port}",
                            rank=rank, world_size=2)
    ddp = DDP(model, bucket_cap_mb=a.bucket_mb)
    opt = torch.optim.SGD(ddp.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    buf = torch.randn(sum(p.numel() for p in model.parameters()))

    def ddp_step():
        opt.zero_grad(set_to_none=False)
        loss_fn(ddp(x), y).backward()
        opt.step()

    def nosync_step():
        opt.zero_grad(set_to_none=False)
        with ddp.no_sync():
            loss_fn(ddp(x), y).backward()
        opt.step()

    def allreduce_step():
        dist.all_reduce(buf)

    steps = [ddp_step, nosync_step, allreduce_step]
    times = [[], [], []]
    per_round = []
    dist.barrier()
    for i in range(a.warmup + a.iters):
        t = [0.0, 0.0, 0.0]
        for k in range(3):  # each kind goes first, second and third in turn
            kind = (i + k) % 3
            dist.barrier()  # untimed: each step starts with the ranks in step
            t0 = time.perf_counter()
            steps[kind]()
            t[kind] = (time.perf_counter() - t0) * 1e3
        if i >= a.warmup:
            for kind in range(3):
                times[kind].append(t[kind])
            per_round.append((t[0] - t[1]) / t[2])
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        d, s, r = (statistics.median(v) for v in times)
        q.put({"impl": "pytorch", "backend": "gloo", "mode": "overhead_ab",
               "bucket_mb": a.bucket_mb, "ddp_ms": d, "nosync_ms": s, "allreduce_ms": r,
               "overhead": (d - s) / r, "overhead_per_round": statistics.median(per_round),
               "n": len(per_round)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--inp", type=int, default=1024)
    ap.add_argument("--out", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bucket-mb", type=float, default=25)
    ap.add_argument("--port", type=int, default=29733)
    a = ap.parse_args()
    if a.iters < 1 or a.warmup < 0:
        ap.error("--iters must be at least 1 and --warmup at least 0")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, a, q)) for r in range(2)]
    for p in procs:
        p.start()
    result = q.get(timeout=600)
    for p in procs:
        p.join(timeout=60)
    print(json.dumps(result), flush=True)
    return 0 if all(p.exitcode == 0 for p in procs) else 1


if __name__ == "__main__":
    sys.exit(main())
