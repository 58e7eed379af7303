#!/usr/bin/python3
"""PyTorch twin of bench/src/main/java/dev/stride/bench/OptimizerBench.java: one optimizer step (or one
clip_grad_norm_) over the TF reference convnet's 3,274,634 parameters, with Debian's python3-torch 1.13.

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456 \\
        /usr/bin/python3 bench/python/optim_step.py --threads 1

Prints the median and the best of 200 timed calls after 50 warm-up calls, per case. torch.optim's default is
the per-tensor loop (foreach=False in 1.13); the foreach variant is timed too.
"""
import argparse
import time

import torch

SHAPES = [(32, 1, 5, 5), (32,), (64, 32, 5, 5), (64,), (1024, 3136), (1024,), (10, 1024), (10,)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    ps = [(0.05 * torch.randn(*s)).requires_grad_() for s in SHAPES]
    for p in ps:
        p.grad = 1e-3 * torch.randn_like(p)
    cases = {
        "sgd-momentum": lambda: torch.optim.SGD(ps, lr=1e-6, momentum=0.9),
        "sgd-nesterov-wd": lambda: torch.optim.SGD(ps, lr=1e-6, momentum=0.9, nesterov=True, weight_decay=5e-4),
        "adam": lambda: torch.optim.Adam(ps, lr=1e-6),
        "adam-foreach": lambda: torch.optim.Adam(ps, lr=1e-6, foreach=True),
        "adamw": lambda: torch.optim.AdamW(ps, lr=1e-6),
        "clip-norm": None,
    }
    for name, make in cases.items():
        if make is None:
            call = lambda: torch.nn.utils.clip_grad_norm_(ps, 1e9)
        else:
            opt = make()
            call = opt.step
        times = []
        for i in range(250):
            t0 = time.perf_counter()
            call()
            if i >= 50:
                times.append(time.perf_counter() - t0)
        times.sort()
        print(f"torch {torch.__version__} threads={args.threads} {name}: median {1e3 * times[len(times) // 2]:.2f} ms,"
              f" best {1e3 * times[0]:.2f} ms")


if __name__ == "__main__":
    main()
