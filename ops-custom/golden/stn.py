#!/usr/bin/python3
"""Golden cases for the spatial transformer (dev.stride.ops.stn) from PyTorch 1.13.

torch.nn.functional.affine_grid + grid_sample (mode='bilinear'), both padding modes (zeros, border) and both
align_corners conventions; forward outputs and the gradients of L = sum(out * dout) for the input, theta and,
for the grid-only cases, the grid. Run with Debian's python3 (which has python3-torch):

    /usr/bin/python3 ops-custom/golden/stn.py

Writes <case>_<tensor>.npy (float32, C order) into ops-custom/src/test/resources/golden/stn/.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "stn")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20240604)


def save(case, name, t):
    np.save(os.path.join(OUT, f"{case}_{name}.npy"), t.detach().numpy().astype(np.float32))


def affine_case(case, n, c, h, w, h2, w2, padding, align, spread, scale=1.0):
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    theta = (identity * scale + spread * torch.randn(n, 2, 3)).requires_grad_()
    x = torch.randn(n, c, h, w, requires_grad=True)
    grid = F.affine_grid(theta, [n, c, h2, w2], align_corners=align)
    grid.retain_grad()
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=align)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    for name, t in [("theta", theta), ("src", x), ("grid", grid), ("dst", y), ("diffDst", dy),
                    ("diffSrc", x.grad), ("diffTheta", theta.grad), ("diffGrid", grid.grad)]:
        save(case, name, t)


def grid_case(case, n, c, h, w, h2, w2, padding, align, extent):
    x = torch.randn(n, c, h, w, requires_grad=True)
    grid = ((torch.rand(n, h2, w2, 2) * 2 - 1) * extent).requires_grad_()
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=align)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    for name, t in [("src", x), ("grid", grid), ("dst", y), ("diffDst", dy), ("diffSrc", x.grad),
                    ("diffGrid", grid.grad)]:
        save(case, name, t)


# Near-identity transforms with rotation/shear/translation noise: some points leave the image.
affine_case("affine_zeros", 2, 3, 5, 7, 4, 6, "zeros", False, 0.3)
affine_case("affine_zeros_align", 2, 3, 5, 7, 4, 6, "zeros", True, 0.3)
affine_case("affine_border", 2, 3, 5, 7, 4, 6, "border", False, 0.3)
# Zoomed out (scale 1.4): many points beyond the border, where the clamp is active.
affine_case("affine_border_align", 2, 3, 5, 7, 4, 6, "border", True, 0.2, scale=1.4)
# One output row, output larger than the input, batch 1.
affine_case("affine_row", 1, 2, 4, 3, 1, 5, "zeros", False, 0.3)
# Upsampling 3x4 -> 7x9 with more channels.
affine_case("affine_up", 3, 5, 3, 4, 7, 9, "border", False, 0.25)
# Arbitrary grids, 20% of them outside [-1, 1].
grid_case("grid_zeros", 2, 3, 5, 6, 3, 4, "zeros", False, 1.2)
grid_case("grid_border_align", 2, 3, 5, 6, 3, 4, "border", True, 1.2)
print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))
