#!/usr/bin/python3
"""Pooling golden cases from PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/golden/pool.py
Writes, for each case, <case>.x.npy (input), <case>.y.npy (output), <case>.dy.npy (upstream gradient) and
<case>.dx.npy (input gradient) as float32 into tests/src/test/resources/golden/pool/. PyTorch computes in
float64 here so the goldens carry no float32 rounding of their own; the Java test compares oneDNN's float32.

L2 pooling: Stride's L2 pooling is sqrt of the *average* of squares, while torch.nn.functional.lp_pool2d
with p=2 is sqrt of the *sum* of squares (it is avg_pool2d(x^2) * kw*kh, then ^(1/2)). So the golden output
is lp_pool2d(x, 2, F, S) / sqrt(F*F), and its gradient is taken through that scaled expression.
lp_pool2d has no padding, so the include/exclude question does not arise there.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "pool")


def case(name, shape, fn, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    dy = torch.randn(*y.shape, generator=g, dtype=torch.float64)
    (dx,) = torch.autograd.grad(y, x, dy)
    for suffix, t in (("x", x), ("y", y), ("dy", dy), ("dx", dx)):
        np.save(os.path.join(OUT, f"{name}.{suffix}.npy"), t.detach().numpy().astype(np.float32))
    print(f"{name}: x {tuple(shape)} -> y {tuple(y.shape)}")


def main():
    os.makedirs(OUT, exist_ok=True)
    case("max2d_2x2s2", (2, 3, 8, 8), lambda x: F.max_pool2d(x, 2, 2), 1)
    case("avg2d_3x3s2p1_include", (2, 3, 7, 7), lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=True), 2)
    case("avg2d_3x3s2p1_exclude", (2, 3, 7, 7), lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), 3)
    # lp_pool2d(p=2) = sqrt(sum x^2); divide by sqrt(window size) for sqrt(mean x^2).
    case("l2_2d_2x2s2", (2, 3, 6, 6), lambda x: F.lp_pool2d(x, 2, 2, 2) / math.sqrt(2 * 2), 4)
    case("l2_2d_3x3s2", (1, 2, 7, 7), lambda x: F.lp_pool2d(x, 2, 3, 2) / math.sqrt(3 * 3), 5)
    case("max3d_2s2", (2, 2, 4, 6, 6), lambda x: F.max_pool3d(x, 2, 2), 6)
    case("max3d_3s2p1", (1, 2, 5, 5, 5), lambda x: F.max_pool3d(x, 3, 2, 1), 7)
    case("global_avg2d", (2, 4, 5, 7), lambda x: F.adaptive_avg_pool2d(x, 1), 8)
    case("global_max2d", (2, 4, 5, 7), lambda x: F.adaptive_max_pool2d(x, 1), 9)
    case("global_avg3d", (2, 3, 3, 4, 5), lambda x: F.adaptive_avg_pool3d(x, 1), 10)


if __name__ == "__main__":
    main()
