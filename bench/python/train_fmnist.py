#!/usr/bin/python3
"""PyTorch twin of `stride train` for issue 6's speed row: the default model trained on real Fashion-MNIST.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13); scripts/bench-train runs it beside
`stride train` with the same settings:

    /usr/bin/python3 bench/python/train_fmnist.py --epochs 4 --data /usr/share/datasets/fashion-mnist

Same as the Stride run, setting by setting:
  model       TensorFlow's Fashion-MNIST reference convnet (e2e.TfReference, api's Models.tfReference)
  data        the IDX .gz files, pixels (x/255 - 0.2860)/0.3530 (FashionMnist.MEAN/STD), no augmentation
  batches     64, reshuffled every epoch from the seed, last partial batch dropped (937 steps an epoch)
  optimizer   Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay
  schedule    cosine from lr to 0 over all steps, set before each step (LrSchedule.cosine)
  evaluation  after every epoch, the 10,000 test images in batches of 256, eval() mode, no_grad
  threads     as oneDNN on the Java side: OMP_NUM_THREADS, else every core this process may use
Initial weights differ (PyTorch's default init vs Stride's He init), as they would between any two frameworks;
both are seeded.

One line per epoch, timed like Trainer.EpochStats.seconds (training steps plus the test evaluation):

    epoch=<n> seconds=<this epoch> train_loss=<mean> test_acc=<fraction>
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import TfReference  # noqa: E402  (the same model as the e2e rows)
from timing import loaded_blas, malloc_note, threads  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(data, prefix):
    images = idx(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)
    labels = idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte.gz"), 8)
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()

    torch.set_num_threads(threads())
    torch.manual_seed(a.seed)
    print(f"# torch: {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {loaded_blas()}, "
          f"{malloc_note()}", file=sys.stderr, flush=True)
    train_x, train_y = load(a.data, "train")
    test_x, test_y = load(a.data, "t10k")
    model = TfReference()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    per_epoch = len(train_x) // a.batch
    total = per_epoch * a.epochs
    shuffle = torch.Generator().manual_seed(a.seed)
    step = 0
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_x), generator=shuffle)
        loss_sum = 0.0
        for b in range(per_epoch):
            idx_b = order[b * a.batch:(b + 1) * a.batch]
            x, y = train_x[idx_b], train_y[idx_b]
            for g in opt.param_groups:
                g["lr"] = 0.5 * a.lr * (1 + math.cos(math.pi * step / total))
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            step += 1
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(test_x), 256):
                correct += (model(test_x[s:s + 256]).argmax(1) == test_y[s:s + 256]).sum().item()
        seconds = time.perf_counter() - t0
        print(f"epoch={epoch + 1} seconds={seconds:.2f} train_loss={loss_sum / per_epoch:.4f} "
              f"test_acc={correct / len(test_x):.4f}", flush=True)


if __name__ == "__main__":
    main()
