#!/usr/bin/env python3
"""Golden cases for deformable convolution (v1 and modulated v2), from torchvision.ops.deform_conv2d.

Run with Debian's interpreter (python3-torch 1.13, python3-torchvision 0.14):
    /usr/bin/python3 ops-custom/golden/deform.py
Writes ops-custom/src/test/resources/golden/deform/<case>_{x,offset,mask,w,b,dy,y,dx,doffset,dmask,dw,db}.npy
(float32, C order; mask/dmask only for v2 cases, b/db only with bias): x the input (N, C, H, W), offset
(N, 2*G_off*KH*KW, H2, W2) in torchvision's (dy, dx) order, mask (N, G_off*KH*KW, H2, W2), w (K, C/G, KH, KW),
b (K), dy the upstream gradient shaped like y, y = deform_conv2d(...), and the gradients of sum(dy * y).
Inputs are rounded to float32 first and everything is computed in float64. Offsets are k + u with k an
integer in [-2, 2] and u in [0.1, 0.9], so no sampling point lies on a grid line (where bilinear
interpolation has a kink and float32/float64 could pick different sides); some points fall outside the
input. The settings of each case are repeated in DeformConvGoldenTest.
"""
import os

import numpy as np
import torch
from torchvision.ops import deform_conv2d

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "deform")

# name: (input shape, K, (KH, KW), stride, padding, dilation, groups, offset groups, modulated, bias)
CASES = {
    "v1_basic": ((2, 3, 6, 7), 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, 1, False, True),
    "v2_basic": ((2, 3, 6, 7), 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, 1, True, True),
    "v1_stride2": ((1, 4, 9, 8), 3, (3, 2), (2, 2), (1, 0), (1, 1), 1, 2, False, False),
    "v2_dilation2": ((2, 2, 8, 8), 3, (3, 3), (1, 1), (2, 2), (2, 2), 1, 1, True, True),
    "v2_groups": ((2, 4, 7, 5), 6, (3, 3), (2, 1), (1, 1), (1, 1), 2, 2, True, True),
    "v1_groups": ((1, 6, 5, 5), 4, (2, 2), (1, 1), (0, 0), (1, 1), 2, 3, False, True),
}


def f32(t):
    return t.float().double()


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261125)

    def uniform(shape, lo=-1.0, hi=1.0):
        return f32(torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo)

    for name, (shape, k, (kh, kw), stride, padding, dilation, groups, ogroups, modulated, bias) in CASES.items():
        n, c, h, w_ = shape
        h2 = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        w2 = (w_ + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        x = uniform(shape).requires_grad_()
        whole = torch.randint(-2, 3, (n, 2 * ogroups * kh * kw, h2, w2), generator=gen).double()
        offset = f32(whole + uniform(whole.shape, 0.1, 0.9)).requires_grad_()
        mask = uniform((n, ogroups * kh * kw, h2, w2), 0.0, 1.0).requires_grad_() if modulated else None
        weight = uniform((k, c // groups, kh, kw)).requires_grad_()
        b = uniform((k,)).requires_grad_() if bias else None
        y = deform_conv2d(x, offset, weight, b, stride=stride, padding=padding, dilation=dilation, mask=mask)
        dy = uniform(y.shape)
        y.backward(dy)
        arrays = {"x": x, "offset": offset, "w": weight, "dy": dy, "y": y,
                  "dx": x.grad, "doffset": offset.grad, "dw": weight.grad}
        if modulated:
            arrays.update({"mask": mask, "dmask": mask.grad})
        if bias:
            arrays.update({"b": b, "db": b.grad})
        for key, t in arrays.items():
            np.save(os.path.join(OUT, f"{name}_{key}.npy"), t.detach().numpy().astype(np.float32))
        print(name, "x", tuple(shape), "offset", tuple(offset.shape), "y", tuple(y.shape))


if __name__ == "__main__":
    main()
