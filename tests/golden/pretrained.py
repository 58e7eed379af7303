#!/usr/bin/env python3
"""Golden files for loading PyTorch-trained weights into a Stride network.

Run with Debian's interpreter (python3-torch 1.13):  /usr/bin/python3 tests/golden/pretrained.py
Writes tests/src/test/resources/golden/pretrained/:
  state.safetensors  the state dict of a small convnet (conv5x5(8, same)+ReLU, maxpool 2, conv3x3(16, same, no
                     bias)+BN+ReLU, maxpool 2, flatten, FC 256->32+ReLU, FC 32->10) on 1x16x16 inputs, after 20 plain SGD (lr 0.01)
                     steps in training mode (so BN's running statistics are real), written in the safetensors
                     format by hand (the `safetensors` package is not in Debian). num_batches_tracked is left out:
                     Stride keeps no such counter.
  input.npy          4 x 1 x 16 x 16 inputs
  logits.npy         the model's logits for them in eval mode (BN with running statistics)
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "pretrained")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.batchnorm1 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(256, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.batchnorm1(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def save_safetensors(tensors, path):
    header = {"__metadata__": {"format": "pt"}}
    offset, blobs = 0, []
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    for _ in range(20):
        x = torch.randn(16, 1, 16, 16)
        y = torch.randint(0, 10, (16,))
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    x = torch.randn(4, 1, 16, 16)
    with torch.no_grad():
        logits = net(x)
    # The check means something only when the samples' logits differ (no dead ReLU layer).
    assert logits.std(dim=0).min() > 1e-2, logits
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_safetensors(state, os.path.join(OUT, "state.safetensors"))
    np.save(os.path.join(OUT, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "logits.npy"), logits.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
