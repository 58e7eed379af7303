#!/usr/bin/env python3
"""Golden cases for the optimizers, gradient clipping and learning-rate schedules, from PyTorch 1.13.

Writes float32 .npy files into tests/src/test/resources/golden/optim/; OptimGoldenTest reads them. Run from the
repository root with Debian's python3-torch: /usr/bin/python3 tests/golden/optim.py

Optimizer cases: two parameters, "w" (3 x 37, a weight) and "b" (37, a bias), fixed initial values and fixed
gradients for each of 5 steps (replayed by the test), and the values after each step. Weight decay applies to
both, or to "w" only when the case excludes biases (in PyTorch: a second parameter group with weight_decay=0).
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "optim")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(2024)
torch.set_default_dtype(torch.float32)
STEPS = 5


def save(name, t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a.astype(np.float32)))


w0 = torch.randn(3, 37)
b0 = 0.1 * torch.randn(37)
gw = torch.randn(STEPS, 3, 37)
gb = torch.randn(STEPS, 37)
save("w0", w0)
save("b0", b0)
save("gw", gw)
save("gb", gb)

CASES = {
    "sgd": (torch.optim.SGD, dict(lr=0.1), False),
    "sgd_wd": (torch.optim.SGD, dict(lr=0.1, weight_decay=0.05), False),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=1e-2), False),
    "sgd_dampening": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3), False),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-3), True),
    "adam": (torch.optim.Adam, dict(lr=1e-2), False),
    "adam_wd": (torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), True),
    "adamw": (torch.optim.AdamW, dict(lr=1e-2), False),
    "adamw_wd": (torch.optim.AdamW, dict(lr=2e-2, betas=(0.85, 0.995), weight_decay=0.3), True),
}

for name, (cls, kw, bias_excluded) in CASES.items():
    w = w0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    if bias_excluded:
        opt = cls([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], **kw)
    else:
        opt = cls([w, b], **kw)
    ws, bs = [], []
    for t in range(STEPS):
        w.grad = gw[t].clone()
        b.grad = gb[t].clone()
        opt.step()
        ws.append(w.detach().clone())
        bs.append(b.detach().clone())
    save(name + "_w", torch.stack(ws))
    save(name + "_b", torch.stack(bs))

# clip_grad_norm_ over both gradients of step 0 (total norm about 12), to 5.0; and clip_grad_value_ to 0.5.
w = w0.clone().requires_grad_()
b = b0.clone().requires_grad_()
w.grad = gw[0].clone()
b.grad = gb[0].clone()
total = torch.nn.utils.clip_grad_norm_([w, b], max_norm=5.0)
save("clip_norm_total", total.reshape(1))
save("clip_norm_w", w.grad)
save("clip_norm_b", b.grad)
w.grad = gw[1].clone()
b.grad = gb[1].clone()
torch.nn.utils.clip_grad_value_([w, b], clip_value=0.5)
save("clip_value_w", w.grad)
save("clip_value_b", b.grad)


def lrs(make, steps, base=0.1):
    """The learning rate PyTorch uses for each of `steps` optimizer steps, the scheduler stepped after each."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out, dtype=np.float64)


S = torch.optim.lr_scheduler
save("lr_step", lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12))
save("lr_multistep", lrs(lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1), 12))
save("lr_cosine", lrs(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 15))
save("lr_linear", lrs(lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4), 8))
save("lr_warmup_cosine", lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=3),
                                                            S.CosineAnnealingLR(o, T_max=7, eta_min=0.0)],
                                                       milestones=[3]), 12))
save("lr_warmup_step", lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=2),
                                                          S.StepLR(o, step_size=3, gamma=0.1)],
                                                     milestones=[2]), 10))

print("torch", torch.__version__, "->", os.path.normpath(OUT))
