#!/usr/bin/env python3
"""Side by side: TVM MetaSchedule against `troupe tune` on one fp32 matmul.

C[M,N] = A[M,K] x B[K,N], M = N = K = --size, the same trial budget and thread
count for both. Run it with a Python that has apache-tvm (benchmarks/
tvm_side_by_side.sh makes one):

    /tmp/tvm-venv/bin/python benchmarks/tvm_side_by_side.py --size 1024 --trials 64

What it does:

1. Troupe: runs `troupe tune --op matmul --shape M,N,K --trials T --batch B
   --seed S --threads T --store DIR --export FILE`, timing the whole command,
   and reads its summary (best GFLOP/s). troupe-measure times each trial after
   flushing the caches (cold). With --troupe-warm (the default) it runs it
   again with --no-flush into a second store (warm timing, as TVM's runner).
2. TVM: tunes the same matmul (a TE compute turned into a PrimFunc) with
   MetaSchedule's tune_tir (its defaults: evolutionary search, XGBoost cost
   model, the CPU schedule rules), one local builder worker and the local
   runner (warm timing unless --tvm-flush), max_trials_global = --trials,
   --batch trials per search iteration, on the target {"kind": "llvm",
   "mcpu": <host cpu>, "num-cores": --threads}. The tune_tir call is timed.
   Then it compiles the best schedule and checks it against numpy
   (max |C - ref| / max |ref| <= 1e-3).
3. Re-times every best kernel (TVM's, and the best config of each troupe
   tune run through a troupe-measure worker) warm and cold, interleaved over
   --rounds rounds so that a slow spell of this (noisy, virtual) machine hits
   all of them alike; each kernel keeps its best round.
4. Prints a table (system, trials, tuning wall s, best GFLOP/s as each tuner
   measured it, re-timed warm and cold GFLOP/s), the ratios troupe/tvm for
   GFLOP/s and tvm/troupe for tuning wall time, then one JSON line.

Re-timing uses one statistic for all: --runs single runs (after a warm-up run),
the fastest and slowest dropped, the fastest of the rest (troupe-measure's).
Warm: back-to-back runs (TVM: its time_evaluator). Cold: a 64 MiB buffer is
written before each run (troupe-measure's flush; for TVM the same from
Python). Threads: TVM_NUM_THREADS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS are set to --threads before TVM and numpy are imported, and
MetaSchedule's num_tuning_cores (its search and XGBoost threads) is --threads.
"""

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(
        description="TVM MetaSchedule against `troupe tune` on an fp32 matmul "
        "(same shape, trial budget and threads); prints a table, ratios and one JSON line.",
    )
    p.add_argument("--size", type=int, default=1024, help="matmul M = N = K (default 1024)")
    p.add_argument("--trials", type=int, default=64, help="trial budget of each tuner (default 64)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of the tuned kernels (TVM_NUM_THREADS, troupe tune --threads) "
                   "and of MetaSchedule's search (default 1)")
    p.add_argument("--batch", type=int, default=16,
                   help="trials per round: troupe tune --batch and MetaSchedule's "
                   "num_trials_per_iter (default 16; MetaSchedule's own default is 64)")
    p.add_argument("--seed", type=int, default=1, help="seed of both tuners (default 1)")
    p.add_argument("--work-dir", default=None,
                   help="where the TVM logs/database and the Troupe stores go "
                   "(default: a new temporary directory, kept)")
    p.add_argument("--troupe-bin", default=None,
                   help="directory with troupe and troupe-measure (default: $TROUPE_BIN_DIR, else "
                   "build/apps under the repository root)")
    p.add_argument("--mcpu", default=None,
                   help="LLVM cpu of TVM's target (default: the host's, from LLVM)")
    p.add_argument("--runs", type=int, default=20,
                   help="runs a sample when re-timing each best kernel (default 20)")
    p.add_argument("--rounds", type=int, default=3,
                   help="re-timing rounds (all kernels, warm and cold, interleaved); the best "
                   "round counts (default 3)")
    p.add_argument("--troupe-warm", dest="troupe_warm", action="store_true", default=True,
                   help="also run troupe tune --no-flush (warm timing, like TVM's runner; "
                   "the default)")
    p.add_argument("--no-troupe-warm", dest="troupe_warm", action="store_false",
                   help="skip the troupe tune --no-flush run")
    p.add_argument("--tvm-flush", action="store_true",
                   help="let TVM's runner flush the CPU cache during tuning "
                   "(EvaluatorConfig.enable_cpu_cache_flush; its default is warm)")
    p.add_argument("--skip-tvm", action="store_true", help="run only Troupe")
    p.add_argument("--skip-troupe", action="store_true", help="run only TVM")
    p.add_argument("--verbose", action="store_true",
                   help="show MetaSchedule's DEBUG log lines on the console")
    p.add_argument("--json-out", default=None, help="also write the JSON line to this file")
    a = p.parse_args()
    if a.troupe_bin is None:
        a.troupe_bin = os.environ.get("TROUPE_BIN_DIR") or os.path.join(REPO_ROOT, "build", "apps")
    if min(a.trials, a.threads, a.batch, a.runs, a.rounds) < 1 or a.size < 16:
        p.error("--size >= 16; --trials, --threads, --batch, --runs, --rounds >= 1")
    return a


ARGS = parse_args()
# Before numpy and TVM are imported: their thread pools read these once.
for var in ("TVM_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

FLUSH_BUFFER = None


def flush_caches():
    """Writes 64 MiB, more than any last-level cache (as troupe-measure does)."""
    global FLUSH_BUFFER
    if FLUSH_BUFFER is None:
        FLUSH_BUFFER = np.zeros(16 << 20, dtype=np.float32)
    FLUSH_BUFFER += 1.0


def troupe_statistic(times):
    """troupe-measure's statistic: drop the min and max (when >= 4 runs), take the min."""
    t = sorted(times)
    if len(t) >= 4:
        t = t[1:-1]
    return t[0]


def gflops(size, seconds):
    return 2.0 * size ** 3 / seconds * 1e-9 if seconds and seconds > 0 else 0.0


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------- TVM

def tvm_side(a, work_dir):
    import tvm
    from tvm import te
    try:
        from tvm.s_tir import meta_schedule as ms  # 0.22+: MetaSchedule moved under s_tir
    except ImportError:
        from tvm import meta_schedule as ms  # older releases

    n = a.size
    A = te.placeholder((n, n), name="A", dtype="float32")
    B = te.placeholder((n, n), name="B", dtype="float32")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    func = te.create_prim_func([A, B, C])
    mod = tvm.IRModule({"main": func})

    mcpu = a.mcpu
    if mcpu is None:
        import tvm.target.codegen as codegen
        mcpu = str(codegen.llvm_get_system_cpu())
    try:
        target = tvm.target.Target({"kind": "llvm", "mcpu": mcpu, "num-cores": a.threads})
    except Exception:  # releases that still parse CLI target strings
        target = tvm.target.Target(f"llvm -mcpu={mcpu} -num-cores {a.threads}")
    log(f"TVM {tvm.__version__}: tuning matmul {n}^3 on {target}, {a.trials} trials, "
        f"{a.batch} per iteration, work dir {work_dir}")

    # The console shows MetaSchedule's INFO lines (--verbose: DEBUG too); the full log is in
    # WORK_DIR/tvm/logs.
    logging.getLogger(ms.__name__).setLevel(logging.DEBUG if a.verbose else logging.INFO)
    evaluator = ms.runner.EvaluatorConfig(enable_cpu_cache_flush=a.tvm_flush)
    builder = ms.builder.LocalBuilder(max_workers=1)
    runner = ms.runner.LocalRunner(evaluator_config=evaluator)
    t0 = time.perf_counter()
    database = ms.tune_tir(
        mod=mod, target=target, work_dir=work_dir, max_trials_global=a.trials,
        num_trials_per_iter=a.batch, builder=builder, runner=runner,
        num_tuning_cores=a.threads, seed=a.seed,
    )
    tune_s = time.perf_counter() - t0

    records = database.get_all_tuning_records()
    valid = [r for r in records if r.run_secs and all(float(s) < 1e9 for s in r.run_secs)]
    best_s = min((float(np.mean([float(s) for s in r.run_secs])) for r in valid), default=0.0)
    log(f"TVM: {len(records)} records ({len(valid)} valid) in {tune_s:.1f} s, best "
        f"{gflops(n, best_s):.1f} GFLOP/s as its runner measured it")

    sch = ms.tir_integration.compile_tir(database, mod, target)
    if sch is None:
        raise RuntimeError("MetaSchedule found no valid schedule")
    build = getattr(tvm, "compile", None) or tvm.build
    lib = build(sch.mod, target=target)
    dev = tvm.cpu(0)
    rng = np.random.default_rng(a.seed)
    a_np = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b_np = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    make = tvm.runtime.tensor if hasattr(tvm.runtime, "tensor") else tvm.nd.array
    a_t, b_t = make(a_np, dev), make(b_np, dev)
    c_t = make(np.zeros((n, n), dtype=np.float32), dev)
    f = lib["main"]
    f(a_t, b_t, c_t)
    ref = a_np.astype(np.float64) @ b_np.astype(np.float64)
    err = float(np.max(np.abs(c_t.numpy() - ref)) / max(1.0, float(np.max(np.abs(ref)))))
    if not err <= 1e-3:
        raise RuntimeError(f"TVM's best kernel is wrong: max relative error {err}")

    rt_mod = getattr(lib, "mod", lib)  # tvm.compile's Executable wraps a runtime Module

    def timer(cold):
        """Seconds of one kernel run by troupe_statistic over --runs runs."""
        if not cold and hasattr(rt_mod, "time_evaluator"):
            # Warm: TVM's own timer, one call a sample, back to back.
            ev = rt_mod.time_evaluator("main", dev, number=1, repeat=a.runs, min_repeat_ms=0)
            return troupe_statistic([float(x) for x in ev(a_t, b_t, c_t).results])
        times = []
        for _ in range(a.runs):
            if cold:
                flush_caches()
            t = time.perf_counter()
            f(a_t, b_t, c_t)
            times.append(time.perf_counter() - t)
        return troupe_statistic(times)

    try:
        asm = rt_mod.inspect_source("asm")
    except Exception:
        asm = ""
    return timer, {
        "system": "tvm-metaschedule",
        "version": tvm.__version__,
        "target": str(target),
        "trials": len(records),
        "valid_trials": len(valid),
        "tune_wall_s": tune_s,
        "tuned_gflops": gflops(n, best_s),
        "tuned_timing": "cold (cache flush)" if a.tvm_flush else "warm",
        "max_rel_error": err,
        "zmm_in_asm": ("zmm" in asm) if asm else None,
        "trace": str(sch.trace),
    }


# ------------------------------------------------------------------ Troupe

SUMMARY_RE = re.compile(r"^\S+: (\d+) records \((\d+) resumed, (\d+) measured now\), "
                        r"(\d+) errors, ([0-9.]+) s", re.M)
RANK1_RE = re.compile(r"^\s+1\s+([0-9.]+)\s+([0-9.]+)\s+(.*)$", re.M)


def troupe_tune(a, bin_dir, store, export, warm):
    n = a.size
    if os.path.exists(store):  # troupe tune would resume from the records there
        shutil.rmtree(store)
    os.makedirs(store)
    cmd = [os.path.join(bin_dir, "troupe"), "tune", "--op", "matmul",
           "--shape", f"{n},{n},{n}", "--trials", str(a.trials), "--batch", str(a.batch),
           "--seed", str(a.seed), "--threads", str(a.threads), "--store", store,
           "--export", export,
           # MetaSchedule does not re-measure its finalists: neither do we here
           # (same trial budget, same tuning wall time basis).
           "--confirm", "0"]
    if warm:
        cmd.append("--no-flush")
    log("$ " + " ".join(cmd))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    out = proc.stdout.replace("\r", "\n")
    tail = "\n".join(line for line in out.splitlines() if "trials  best" not in line)
    log(tail.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"troupe tune exited {proc.returncode}")
    s, r = SUMMARY_RE.search(out), RANK1_RE.search(out)
    if not s or not r:
        raise RuntimeError("cannot read troupe tune's summary")
    best_config, best_gflops = None, 0.0
    with open(export) as fh:
        for line in fh:
            rec = json.loads(line)
            if not rec.get("error") and rec.get("gflops", 0) > best_gflops:
                best_config, best_gflops = rec["config"], rec["gflops"]
    return {
        "trials": int(s.group(1)),
        "errors": int(s.group(4)),
        "summary_s": float(s.group(5)),
        "wall_s": wall,
        "tuned_gflops": float(r.group(1)),
        "best_config": r.group(3).strip(),
        "config_vector": best_config,
    }


class TroupeMeasure:
    """A troupe-measure worker that re-times configs: seconds by its statistic."""

    def __init__(self, a, bin_dir):
        self.a = a
        self.proc = subprocess.Popen([os.path.join(bin_dir, "troupe-measure")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()  # hello

    def time(self, config, cold):
        n = self.a.size
        req = {"task": {"op": "matmul", "shape": [n, n, n]}, "config": config,
               "repeats": self.a.runs, "threads": self.a.threads, "seed": self.a.seed,
               "check": True, "flush": cold}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("troupe-measure exited")
            reply = json.loads(line)
            if "ok" in reply:
                break
        if not reply["ok"]:
            raise RuntimeError("troupe-measure: " + reply.get("error", "?"))
        return reply["seconds"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def troupe_side(a, work_dir):
    """Runs troupe tune (cold, then --no-flush); returns (the troupe-measure worker, re-timers
    by row, results)."""
    bin_dir = os.path.abspath(a.troupe_bin)
    if not os.access(os.path.join(bin_dir, "troupe"), os.X_OK):
        raise RuntimeError(f"no troupe in {bin_dir} (--troupe-bin)")
    measure = TroupeMeasure(a, bin_dir)
    out = {"system": "troupe"}
    store = os.path.join(work_dir, "troupe-cold")
    cold = troupe_tune(a, bin_dir, store, os.path.join(work_dir, "troupe-cold.jsonl"), False)
    out.update(cold)
    out["tuned_timing"] = "cold (cache flush)"
    timers = {"troupe": lambda c, cfg=cold["config_vector"]: measure.time(cfg, c)}
    if a.troupe_warm:
        store = os.path.join(work_dir, "troupe-warm")
        warm = troupe_tune(a, bin_dir, store, os.path.join(work_dir, "troupe-warm.jsonl"), True)
        warm["tuned_timing"] = "warm"
        out["no_flush_run"] = warm
        timers["troupe_no_flush"] = lambda c, cfg=warm["config_vector"]: measure.time(cfg, c)
    return measure, timers, out


def retime(a, timers, results):
    """Re-times every best kernel, warm and cold, interleaved over --rounds rounds (so that a
    slow spell of the machine hits all of them); keeps each one's best round."""
    names = list(timers)
    for r in range(a.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for cold in (False, True):
            for name in order:
                g = gflops(a.size, timers[name](cold))
                results[name].setdefault("cold_rounds" if cold else "warm_rounds", []).append(g)
    for name in names:
        results[name]["warm_gflops"] = max(results[name]["warm_rounds"])
        results[name]["cold_gflops"] = max(results[name]["cold_rounds"])


# -------------------------------------------------------------------- main

def ratio(x, y):
    return x / y if x and y else None


def fmt(x, spec=".1f"):
    return format(x, spec) if isinstance(x, (int, float)) else "-"


def main():
    a = ARGS
    work_dir = a.work_dir or tempfile.mkdtemp(prefix="tvm-side-by-side-")
    os.makedirs(work_dir, exist_ok=True)
    log(f"matmul {a.size}x{a.size}x{a.size} fp32, {a.trials} trials, {a.threads} thread(s), "
        f"batch {a.batch}, seed {a.seed}; work dir {work_dir}")
    timers, results, measure = {}, {}, None
    tvm_r = troupe_r = warm_r = None
    try:
        if not a.skip_troupe:
            measure, t, troupe_r = troupe_side(a, work_dir)
            timers.update(t)
            results["troupe"] = troupe_r
            warm_r = troupe_r.get("no_flush_run")
            if warm_r:
                results["troupe_no_flush"] = warm_r
        if not a.skip_tvm:
            tvm_dir = os.path.join(work_dir, "tvm")
            if os.path.exists(tvm_dir):  # MetaSchedule's JSON database would resume
                shutil.rmtree(tvm_dir)
            timers["tvm"], tvm_r = tvm_side(a, tvm_dir)
            results["tvm"] = tvm_r
        log(f"re-timing the best kernels: {a.rounds} rounds x {a.runs} runs, warm and cold")
        retime(a, timers, results)
    finally:
        if measure:
            measure.close()

    rows = []
    if tvm_r:
        rows.append(("TVM MetaSchedule " + tvm_r["version"], tvm_r))
    if troupe_r:
        rows.append(("troupe tune", troupe_r))
    if warm_r:
        rows.append(("troupe tune --no-flush", warm_r))
    print()
    print(f"matmul {a.size}^3 fp32, {a.threads} thread(s), budget {a.trials} trials, batch "
          f"{a.batch}, seed {a.seed}")
    head = ("system", "trials", "tuning wall s", "best GFLOP/s as tuned", "tuner's timing",
            "re-timed warm", "re-timed cold")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in rows:
        wall = r.get("tune_wall_s", r.get("wall_s"))
        print(f"| {name} | {r['trials']} | {fmt(wall)} | {fmt(r['tuned_gflops'])} | "
              f"{r['tuned_timing']} | {fmt(r['warm_gflops'])} | {fmt(r['cold_gflops'])} |")

    ratios = {}
    if tvm_r and troupe_r:
        ratios = {
            "gflops_troupe_over_tvm_warm": ratio(troupe_r["warm_gflops"], tvm_r["warm_gflops"]),
            "gflops_troupe_over_tvm_cold": ratio(troupe_r["cold_gflops"], tvm_r["cold_gflops"]),
            "gflops_troupe_over_tvm_as_tuned": ratio(troupe_r["tuned_gflops"],
                                                     tvm_r["tuned_gflops"]),
            "wall_tvm_over_troupe": ratio(tvm_r["tune_wall_s"], troupe_r["wall_s"]),
        }
        if warm_r:
            ratios["gflops_troupe_no_flush_over_tvm_warm"] = ratio(warm_r["warm_gflops"],
                                                                   tvm_r["warm_gflops"])
            ratios["gflops_troupe_no_flush_over_tvm_as_tuned"] = ratio(warm_r["tuned_gflops"],
                                                                       tvm_r["tuned_gflops"])
            ratios["wall_tvm_over_troupe_no_flush"] = ratio(tvm_r["tune_wall_s"], warm_r["wall_s"])
        print()
        print("GFLOP/s troupe/tvm: re-timed warm "
              f"{fmt(ratios['gflops_troupe_over_tvm_warm'], '.2f')}, re-timed cold "
              f"{fmt(ratios['gflops_troupe_over_tvm_cold'], '.2f')}, as each tuner measured "
              f"{fmt(ratios['gflops_troupe_over_tvm_as_tuned'], '.2f')}")
        if warm_r:
            print("  troupe tune --no-flush against tvm: re-timed warm "
                  f"{fmt(ratios['gflops_troupe_no_flush_over_tvm_warm'], '.2f')}, as tuned "
                  f"(both warm) {fmt(ratios['gflops_troupe_no_flush_over_tvm_as_tuned'], '.2f')}")
        print(f"tuning wall time tvm/troupe: {fmt(ratios['wall_tvm_over_troupe'], '.1f')}"
              + (f" (against --no-flush: {fmt(ratios['wall_tvm_over_troupe_no_flush'], '.1f')})"
                 if warm_r else ""))
    summary = {
        "size": a.size, "trials": a.trials, "threads": a.threads, "batch": a.batch,
        "seed": a.seed, "runs": a.runs, "rounds": a.rounds, "work_dir": work_dir,
        "tvm": {k: v for k, v in (tvm_r or {}).items() if k != "trace"} or None,
        "troupe": troupe_r, "ratios": ratios,
    }
    line = json.dumps(summary)
    print(line)
    if a.json_out:
        with open(a.json_out, "w") as fh:
            fh.write(line + "\n")
    if tvm_r:
        with open(os.path.join(work_dir, "tvm-best-trace.py"), "w") as fh:
            fh.write(tvm_r["trace"] + "\n")


if __name__ == "__main__":
    main()
