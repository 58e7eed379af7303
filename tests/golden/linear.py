#!/usr/bin/env python3
"""Golden cases for the linear family (inner product, eltwise, softmax, cross-entropy), from PyTorch 1.13.

Writes float32 (and int64 labels) .npy files into tests/src/test/resources/golden/linear/; LinearGoldenTest
reads them. Run from the repository root with Debian's python3-torch: /usr/bin/python3 tests/golden/linear.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "linear")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)


def save(name, t):
    a = t.detach().cpu().numpy()
    if a.dtype != np.int64:
        a = a.astype(np.float32)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


# nn.Linear over a 4D input flattened per sample: (2, 3, 4, 4) -> 48 -> 5.
fc = torch.nn.Linear(48, 5)
x = torch.randn(2, 3, 4, 4, requires_grad=True)
y = fc(torch.flatten(x, 1))
dy = torch.randn_like(y)
y.backward(dy)
save("fc_x", x)
save("fc_w", fc.weight)
save("fc_b", fc.bias)
save("fc_y", y)
save("fc_dy", dy)
save("fc_dx", x.grad)
save("fc_dw", fc.weight.grad)
save("fc_db", fc.bias.grad)

# F.cross_entropy (mean over the batch) and its gradient on the logits.
logits = (3 * torch.randn(6, 10)).requires_grad_()
labels = torch.tensor([3, 0, 9, 9, 5, 1], dtype=torch.int64)
loss = F.cross_entropy(logits, labels)
loss.backward()
save("ce_logits", logits)
save("ce_labels", labels)
save("ce_loss", loss.reshape(1))
save("ce_dlogits", logits.grad)

# log_softmax over dim 1 and its gradient.
z = torch.randn(3, 7, requires_grad=True)
lz = F.log_softmax(z, dim=1)
dlz = torch.randn_like(lz)
lz.backward(dlz)
save("logsoftmax_x", z)
save("logsoftmax_y", lz)
save("logsoftmax_dy", dlz)
save("logsoftmax_dx", z.grad)

# A few activations on values away from their kinks (|v| >= 0.05), forward and gradient.
v = torch.linspace(-3, 3, 40)
v = torch.where(v.abs() < 0.05, v + 0.1, v)
dv = torch.randn(40)
save("act_x", v)
save("act_dy", dv)
acts = {
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
    "elu": lambda t: F.elu(t, 1.0),
    "gelu_erf": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "silu": F.silu,
}
for name, f in acts.items():
    t = v.clone().requires_grad_()
    out = f(t)
    out.backward(dv)
    save("act_" + name + "_y", out)
    save("act_" + name + "_dx", t.grad)

print("torch", torch.__version__, "->", os.path.normpath(OUT))
