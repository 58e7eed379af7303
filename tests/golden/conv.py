#!/usr/bin/env python3
"""Golden cases for Convolution forward, backward data and backward weights, from PyTorch.

Run with Debian's interpreter (python3-torch 1.13):
    /usr/bin/python3 tests/golden/conv.py
Writes tests/src/test/resources/golden/conv/<case>_{x,w,b,dy,y,dx,dw,db}.npy (float32, C order):
x the input (N, C, [D,] H, W), w the weights (K, C/G, F...), b the bias (K), dy the upstream gradient
(shaped like y), y = conv(x, w, b), and dx, dw, db the gradients of sum(dy * y).
Inputs are rounded to float32 first and everything is computed in float64, so the goldens are exact to
float32 rounding. The settings of each case are repeated in ConvolutionGoldenTest.
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "conv")

# name: (input shape, K, extent, stride, padding, dilation, groups)
CASES = {
    # 2D, dilation 2 x 3 with the padding that keeps the size ("same" for stride 1)
    "dilated": ((2, 3, 9, 10), 4, (3, 3), (1, 1), (2, 3), (2, 3), 1),
    # 2D, two groups, stride 2
    "grouped": ((2, 4, 7, 7), 6, (3, 3), (2, 2), (1, 1), (1, 1), 2),
    # 3D, 3x3x3, stride (1, 2, 1)
    "conv3d": ((1, 2, 5, 7, 5), 3, (3, 3, 3), (1, 2, 1), (1, 1, 1), (1, 1, 1), 1),
}


def f32(shape, gen):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).float().double()


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261125)
    for name, (shape, k, extent, stride, padding, dilation, groups) in CASES.items():
        conv = torch.nn.functional.conv3d if len(shape) == 5 else torch.nn.functional.conv2d
        x = f32(shape, gen).requires_grad_()
        w = f32((k, shape[1] // groups) + extent, gen).requires_grad_()
        b = f32((k,), gen).requires_grad_()
        y = conv(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        dy = f32(y.shape, gen)
        y.backward(dy)
        arrays = {"x": x, "w": w, "b": b, "dy": dy, "y": y, "dx": x.grad, "dw": w.grad, "db": b.grad}
        for key, t in arrays.items():
            np.save(os.path.join(OUT, f"{name}_{key}.npy"), t.detach().numpy().astype(np.float32))
        print(name, "x", tuple(shape), "y", tuple(y.shape))


if __name__ == "__main__":
    main()
