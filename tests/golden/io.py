#!/usr/bin/env python3
"""Golden files for the safetensors, .npz and .npy readers, from PyTorch and NumPy.

Run with Debian's interpreter (python3-torch 1.13, numpy):
    /usr/bin/python3 tests/golden/io.py
Writes tests/src/test/resources/golden/io/:
  torch_state.safetensors    a PyTorch state dict (conv + batch norm + linear, after one training-mode
                             forward so the running statistics are real; num_batches_tracked is int64) and
                             extra tensors in F64, F16, BF16, I32 and a 0-d F32, in the safetensors format.
                             The `safetensors` package is not in Debian, so the format is written here by hand
                             (8-byte little-endian header length, JSON header padded with spaces, raw data),
                             as the package does: tensors in name order, contiguous, "__metadata__"
                             {"format": "pt"}, no checksum.
  torch_state_expected.npz   every tensor of the above as float32 (torch's own .float()), via numpy.savez
                             (stored entries): what the Java reader must produce.
  arrays_compressed.npz      numpy.savez_compressed (deflated) of three arrays given by formulas that
                             IoGoldenTest repeats: a = arange(60, float32) * 0.25 - 3 as (3, 4, 5),
                             b = arange(6, float64) / 3 as (2, 3), c = arange(-3, 5, int64).
  mapped.npy                 numpy.save of a (as above), to be memory-mapped.
"""
import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "golden", "io")

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32"}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_safetensors(tensors, path, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name]
        data = raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
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
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20261125)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))
    model.train()
    model(torch.randn(8, 1, 8, 8))
    tensors = dict(model.state_dict())
    tensors["extra.f64"] = torch.tensor([0.1, -2.5e-40, 1e300, 3.0], dtype=torch.float64)
    tensors["extra.f16"] = torch.randn(2, 3).half()
    tensors["extra.bf16"] = torch.randn(3, 2).bfloat16()
    tensors["extra.i32"] = torch.tensor([[-7, 123456789]], dtype=torch.int32)
    tensors["extra.scalar"] = torch.tensor(1.5)
    save_safetensors(tensors, os.path.join(OUT, "torch_state.safetensors"), {"format": "pt"})
    np.savez(os.path.join(OUT, "torch_state_expected.npz"),
             **{name: t.detach().float().numpy() for name, t in tensors.items()})

    a = (np.arange(60, dtype=np.float32) * np.float32(0.25) - np.float32(3)).reshape(3, 4, 5)
    b = (np.arange(6, dtype=np.float64) / 3).reshape(2, 3)
    c = np.arange(-3, 5, dtype=np.int64)
    np.savez_compressed(os.path.join(OUT, "arrays_compressed.npz"), a=a, b=b, c=c)
    np.save(os.path.join(OUT, "mapped.npy"), a)
    for name, t in tensors.items():
        print(name, DTYPES[t.dtype], tuple(t.shape))


if __name__ == "__main__":
    main()
