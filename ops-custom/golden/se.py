#!/usr/bin/env python3
"""Golden cases for the squeeze-excitation block, from PyTorch 1.13.

The module is the standard SE block of Hu et al. (arXiv:1709.01507) as the reference PyTorch implementations
write it: global average pooling, Linear(C, C/r) + ReLU, Linear(C/r, C) + sigmoid, per-channel scaling of the
input. Both Linear layers keep PyTorch's default bias. For each case the script writes, as float32 .npy into
ops-custom/src/test/resources/golden/se/: the input u, the parameters, the upstream gradient dx, the output x and
the gradients of u, W1, b1, W2, b2. SqueezeExcitationGoldenTest reads them.

Run from the repository root with Debian's python3-torch: /usr/bin/python3 ops-custom/golden/se.py
"""
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "se")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20240604)
torch.set_default_dtype(torch.float32)


class SELayer(nn.Module):
    def __init__(self, channel, reduction):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channel, channel // reduction),
            nn.ReLU(inplace=True),
            nn.Linear(channel // reduction, channel),
            nn.Sigmoid(),
        )

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


def save(prefix, name, t):
    a = t.detach().cpu().numpy().astype(np.float32)
    np.save(os.path.join(OUT, prefix + "_" + name + ".npy"), np.ascontiguousarray(a))


def case(prefix, n, c, h, w, r):
    se = SELayer(c, r)
    # Inputs with a channel-dependent offset, so the squeeze (and hence the gate) differs across channels.
    u = (torch.randn(n, c, h, w) + torch.randn(1, c, 1, 1)).requires_grad_()
    x = se(u)
    dx = torch.randn_like(x)
    x.backward(dx)
    fc1, fc2 = se.fc[0], se.fc[2]
    save(prefix, "u", u)
    save(prefix, "w1", fc1.weight)
    save(prefix, "b1", fc1.bias)
    save(prefix, "w2", fc2.weight)
    save(prefix, "b2", fc2.bias)
    save(prefix, "x", x)
    save(prefix, "dx", dx)
    save(prefix, "du", u.grad)
    save(prefix, "dw1", fc1.weight.grad)
    save(prefix, "db1", fc1.bias.grad)
    save(prefix, "dw2", fc2.weight.grad)
    save(prefix, "db2", fc2.bias.grad)


case("a", 2, 16, 5, 7, 4)   # odd plane (35), 4 hidden units
case("b", 3, 24, 6, 6, 8)   # batch 3, 3 hidden units
