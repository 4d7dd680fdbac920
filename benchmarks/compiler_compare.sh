#!/usr/bin/env bash
# Compiler benchmarks, each against its baseline in the same run:
#   matmul_bench  (OpenBLAS), conv_bench (oneDNN), model_bench (libtorch).
# Exports ResNet-18 (random weights, 1x3x224x224) and the MLP 784-256-256-10
# (batch 64) with Debian's torch: ONNX for Troupe, TorchScript for libtorch.
#   benchmarks/compiler_compare.sh [BUILD_DIR] [THREADS]
set -euo pipefail
build=${1:-build}
threads=${2:-1}
models=/tmp/troupe-compiler-models
mkdir -p "$models"
/usr/bin/python3 - "$models" <<'PY'
import sys, numpy as np, torch, torchvision
out = sys.argv[1]
torch.manual_seed(0)
def export(model, x, name):
    model.eval()
    torch.onnx.export(model, x, f"{out}/{name}.onnx", opset_version=13, input_names=["x"], output_names=["y"])
    torch.jit.trace(model, x).save(f"{out}/{name}.pt")
    x.numpy().astype(np.float32).tofile(f"{out}/{name}.in")
export(torchvision.models.resnet18(), torch.randn(1, 3, 224, 224), "resnet18")
mlp = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                          torch.nn.ReLU(), torch.nn.Linear(256, 10))
export(mlp, torch.randn(64, 784), "mlp")
PY
"$build/benchmarks/model_bench" --models "$models" --threads "$threads"
"$build/benchmarks/matmul_bench" --threads "$threads"
"$build/benchmarks/conv_bench" --threads "$threads"
