#!/usr/bin/env python3
"""Golden cases for the normalization family (BatchNorm2d, LayerNorm), made with PyTorch 1.13.

Writes float32 .npy files into tests/src/test/resources/golden/norm/ (read by NormGoldenTest):

  bn_train_*: one BatchNorm2d(5, eps=1e-5, momentum=0.1) training step on x (3, 5, 4, 6) with gamma/beta
              set, running stats starting from non-trivial values; outputs y, the running mean/var after
              the step, and the gradients of sum(y * dy) for x, gamma, beta.
  bn_eval_*:  the same module in eval mode on another input: y from the running statistics.
  ln_*:       LayerNorm(16) over the last dim of x (2, 7, 16), with gradients of sum(y * dy).

Run from the repository root:  /usr/bin/python3 tests/golden/norm.py
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "src", "test", "resources", "golden", "norm")


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), t.detach().numpy().astype(np.float32))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2013)

    # BatchNorm2d training step.
    c = 5
    bn = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c) + 0.5)
        bn.bias.copy_(torch.randn(c) * 0.3)
        bn.running_mean.copy_(torch.randn(c) * 0.2)
        bn.running_var.copy_(torch.rand(c) + 0.5)
    save("bn_gamma", bn.weight)
    save("bn_beta", bn.bias)
    save("bn_running_mean_before", bn.running_mean)
    save("bn_running_var_before", bn.running_var)
    x = (torch.randn(3, c, 4, 6) * 1.7 + 0.4).requires_grad_(True)
    dy = torch.randn(3, c, 4, 6)
    bn.train()
    y = bn(x)
    (y * dy).sum().backward()
    save("bn_train_x", x)
    save("bn_train_dy", dy)
    save("bn_train_y", y)
    save("bn_train_diff_x", x.grad)
    save("bn_train_diff_gamma", bn.weight.grad)
    save("bn_train_diff_beta", bn.bias.grad)
    save("bn_running_mean_after", bn.running_mean)
    save("bn_running_var_after", bn.running_var)

    # BatchNorm2d eval: the running statistics just updated.
    bn.eval()
    xe = torch.randn(2, c, 3, 5)
    with torch.no_grad():
        ye = bn(xe)
    save("bn_eval_x", xe)
    save("bn_eval_y", ye)

    # LayerNorm over the last dim of (N, T, C).
    ln = torch.nn.LayerNorm(16, eps=1e-5)
    with torch.no_grad():
        ln.weight.copy_(torch.rand(16) + 0.5)
        ln.bias.copy_(torch.randn(16) * 0.3)
    xl = (torch.randn(2, 7, 16) * 2.0 - 0.3).requires_grad_(True)
    dyl = torch.randn(2, 7, 16)
    yl = ln(xl)
    (yl * dyl).sum().backward()
    save("ln_gamma", ln.weight)
    save("ln_beta", ln.bias)
    save("ln_x", xl)
    save("ln_dy", dyl)
    save("ln_y", yl)
    save("ln_diff_x", xl.grad)
    save("ln_diff_gamma", ln.weight.grad)
    save("ln_diff_beta", ln.bias.grad)


if __name__ == "__main__":
    main()
