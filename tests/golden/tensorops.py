#!/usr/bin/env python3
"""Golden cases for Stride's tensor ops (binary with broadcasting, cat, matmul/bmm), from PyTorch.

Run with Debian's python3-torch (1.13): /usr/bin/python3 tests/golden/tensorops.py
Writes float32 .npy files into tests/src/test/resources/golden/tensorops/:
  <case>_a.npy, <case>_b.npy      inputs
  <case>_y.npy                    forward output
  <case>_dy.npy                   upstream gradient (for cases with gradients)
  <case>_da.npy, <case>_db.npy    gradients of sum(dy * y) w.r.t. the inputs
"""
import os
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "tensorops")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), t.detach().numpy().astype(np.float32))


def binary(case, op, a_shape, b_shape):
    a = torch.randn(*a_shape, dtype=torch.float64, requires_grad=True)
    b = torch.randn(*b_shape, dtype=torch.float64, requires_grad=True)
    y = op(a, b)
    dy = torch.randn(*y.shape, dtype=torch.float64)
    (y * dy).sum().backward()
    for n, t in (("a", a), ("b", b), ("y", y), ("dy", dy), ("da", a.grad), ("db", b.grad)):
        save(case + "_" + n, t)


binary("add_channel", torch.add, (2, 5, 3, 4), (1, 5, 1, 1))
binary("add_scalar", torch.add, (2, 3, 4, 5), (1, 1, 1, 1))
binary("mul_channel", torch.mul, (2, 6, 3, 3), (1, 6, 1, 1))
binary("mul_rows", torch.mul, (3, 4, 7), (3, 1, 7))
binary("sub_full", torch.sub, (2, 3, 5), (2, 3, 5))

# torch.cat: three pieces along channels (a dense block) and along the last axis
xs = [torch.randn(2, c, 3, 4, dtype=torch.float64, requires_grad=True) for c in (3, 5, 2)]
y = torch.cat(xs, dim=1)
dy = torch.randn(*y.shape, dtype=torch.float64)
(y * dy).sum().backward()
for i, x in enumerate(xs):
    save("cat1_x%d" % i, x)
    save("cat1_dx%d" % i, x.grad)
save("cat1_y", y)
save("cat1_dy", dy)

xs = [torch.randn(2, 3, 4, w, dtype=torch.float64) for w in (2, 5)]
save("cat3_x0", xs[0])
save("cat3_x1", xs[1])
save("cat3_y", torch.cat(xs, dim=3))

# matmul (2D, odd sizes, with bias as in F.linear with weight^T) and bmm
a = torch.randn(7, 13, dtype=torch.float64)
b = torch.randn(13, 5, dtype=torch.float64)
bias = torch.randn(5, dtype=torch.float64)
save("mm_a", a)
save("mm_b", b)
save("mm_bias", bias)
save("mm_y", a @ b + bias)

a = torch.randn(3, 4, 9, dtype=torch.float64)
b = torch.randn(3, 9, 6, dtype=torch.float64)
save("bmm_a", a)
save("bmm_b", b)
save("bmm_y", torch.bmm(a, b))
# bmm with the second operand stored transposed (b_t is [batch, N, K]); y = a @ b_t^T
b_t = torch.randn(3, 6, 9, dtype=torch.float64)
save("bmmT_b", b_t)
save("bmmT_y", torch.bmm(a, b_t.transpose(1, 2)))
print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))
