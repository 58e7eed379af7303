#!/usr/bin/python3
"""PyTorch/torchvision twins of bench/src/main/java/dev/stride/bench/CustomOpsBench.java (issue 4, "Speed").

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13 and python3-torchvision); scripts/bench
calls it once per case and round:

    /usr/bin/python3 bench/python/custom_ops.py --variant tuned deform_v1_fwd_bwd

Same shapes and thread count as the Java side (oneDNN's default: every core the process may use, or
OMP_NUM_THREADS), timed like the C twins (bench/c/bench_common.h, MEASURE_WINDOWS): STRIDE_BENCH_WARMUP_S
seconds of warm-up, then STRIDE_BENCH_MEASURE_S windows of one second timing every call, one line per case:

    torch_<variant>_<case> median_us=<median of the window medians> best_us=<quietest window> windows=w1,w2,...

--variant only labels the lines: the malloc tuning (MALLOC_*_ environment variables, read by glibc at
start-up) and the BLAS (Debian's libblas.so.3 alternative, OpenBLAS once libopenblas0-pthread is installed)
are set up by the caller. A '# torch:' line on stderr says what this process actually ran with.

Every fwd+bwd case builds its graph afresh and drops the gradients afterwards (grad = None, as
optimizer.zero_grad(set_to_none=True) does), i.e. what one training step costs PyTorch.
"""
import argparse
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

from timing import loaded_blas, malloc_note, measure, result_line, threads

SEED = 42


def uniform(shape, lo, hi, gen, requires_grad=False):
    t = torch.rand(shape, generator=gen) * (hi - lo) + lo
    return t.requires_grad_(requires_grad)


def clear(*tensors):
    for t in tensors:
        t.grad = None


def deform_case(modulated, backward):
    """N=8, 64 -> 64, 28x28, 3x3 padding 1, bias, offsets U(-1.5, 1.5) px, mask U(0, 1)."""
    g = torch.Generator().manual_seed(SEED)
    x = uniform((8, 64, 28, 28), -1, 1, g, backward)
    off = uniform((8, 2 * 9, 28, 28), -1.5, 1.5, g, backward)
    mask = uniform((8, 9, 28, 28), 0, 1, g, backward) if modulated else None
    w = uniform((64, 64, 3, 3), -0.05, 0.05, g, backward)
    b = uniform((64,), -0.1, 0.1, g, backward)
    dy = uniform((8, 64, 28, 28), -1, 1, g)
    params = [t for t in (x, off, mask, w, b) if t is not None]

    if not backward:
        def step():
            with torch.no_grad():
                deform_conv2d(x, off, w, b, padding=(1, 1), mask=mask)
        return step

    def step():
        y = deform_conv2d(x, off, w, b, padding=(1, 1), mask=mask)
        y.backward(dy)
        clear(*params)
    return step


def stn_case(backward):
    """N=32, C=32, 28x28 -> 28x28, theta = identity + U(-0.1, 0.1), bilinear, zeros, align_corners=False."""
    g = torch.Generator().manual_seed(SEED)
    theta = uniform((32, 2, 3), -0.1, 0.1, g)
    theta[:, 0, 0] += 1
    theta[:, 1, 1] += 1
    theta.requires_grad_(backward)
    x = uniform((32, 32, 28, 28), -1, 1, g, backward)
    dy = uniform((32, 32, 28, 28), -1, 1, g)
    size = (32, 32, 28, 28)

    def forward():
        grid = F.affine_grid(theta, size, align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    if not backward:
        def step():
            with torch.no_grad():
                forward()
        return step

    def step():
        forward().backward(dy)
        clear(theta, x)
    return step


class SqueezeExcitation(nn.Module):
    """Hu et al.: x * sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2), per channel."""

    def __init__(self, c, r):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(c, c // r)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(c // r, c)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        n, c = x.shape[:2]
        s = self.gate(self.fc2(self.relu(self.fc1(self.pool(x).view(n, c)))))
        return x * s.view(n, c, 1, 1)


def se_case(backward):
    """N=32, C=64, 28x28, r=16, nchw."""
    torch.manual_seed(0)
    se = SqueezeExcitation(64, 16)
    g = torch.Generator().manual_seed(SEED)
    x = uniform((32, 64, 28, 28), -1, 1, g, backward)
    dy = uniform((32, 64, 28, 28), -1, 1, g)

    if not backward:
        def step():
            with torch.no_grad():
                se(x)
        return step

    def step():
        se(x).backward(dy)
        se.zero_grad(set_to_none=True)
        clear(x)
    return step


CASES = {
    "deform_v1_fwd": lambda: deform_case(False, False),
    "deform_v1_fwd_bwd": lambda: deform_case(False, True),
    "deform_v2_fwd": lambda: deform_case(True, False),
    "deform_v2_fwd_bwd": lambda: deform_case(True, True),
    "stn_fwd": lambda: stn_case(False),
    "stn_fwd_bwd": lambda: stn_case(True),
    "se_fwd": lambda: se_case(False),
    "se_fwd_bwd": lambda: se_case(True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", required=True, help="label of the lines: tuned or stock")
    ap.add_argument("cases", nargs="+", choices=sorted(CASES))
    args = ap.parse_args()
    n = threads()
    torch.set_num_threads(n)
    malloc = malloc_note()
    for case in args.cases:
        step = CASES[case]()
        medians = measure(step)
        print(f"# torch: {case} {args.variant}: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
              f"{malloc}, BLAS {loaded_blas()}", file=sys.stderr, flush=True)
        print(result_line(f"torch_{args.variant}_{case}", medians, torch.get_num_threads()), flush=True)


if __name__ == "__main__":
    main()
