#!/usr/bin/python3
"""PyTorch twins of bench/src/main/java/dev/stride/bench/EndToEndBench.java (issue 5, "Speed").

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13). scripts/bench runs it in lock step with
the Java side (dev.stride.bench.EndToEndCompare starts one process per variant and asks for one step at a time):

    /usr/bin/python3 bench/python/e2e.py --serve --variant tuned tfReference_train

and it also times cases on its own, like the other twins:

    /usr/bin/python3 bench/python/e2e.py --variant tuned tfReference_train

The models are api's dev.stride.nn.Models, layer for layer (same shapes, parameter counts and FLOPs):
  tfReference    conv5x5(32, same)+ReLU, maxpool 2, conv5x5(64, same)+ReLU, maxpool 2, FC 3136->1024+ReLU,
                 FC 1024->10
  smallResNet    conv3x3(16)+BN+ReLU, basic residual blocks 16, 32/2, 64/2 (NetworkBuilder.residualBlock: the
                 shortcut of a changing block is 2x2/2 average pooling when strided, then conv1x1+BN), global
                 average pooling, FC 64->10
  smallDenseNet  conv3x3(24), dense block (4 bottleneck layers, growth 12), transition 0.5, dense block (4, 12),
                 BN+ReLU, global average pooling, FC 84->10
all on 1x28x28 with 10 classes. One difference that changes neither shapes nor FLOPs: Stride's strided 3x3
"same" convolution pads (0, 1) on 28x28 as TensorFlow does; here it is PyTorch's usual padding=1.

Cases:
  <model>_train  batch 64: zero_grad(set_to_none=True), forward, F.cross_entropy, backward (every parameter
                 gradient; no optimizer step, as on the Java side), in train() mode (BN batch statistics)
  <model>_infer  batch 256: forward under torch.no_grad() in eval() mode
Inputs uniform in [0, 1), labels uniform in 0..9, from seed 42; same thread count as oneDNN on the Java side.
With --serve: a 'ready ...' line, then one step per 'step' line on stdin, answered with its wall and process
CPU time in ns.
Otherwise timed like the C twins (timing.py): STRIDE_BENCH_WARMUP_S seconds of warm-up, then
STRIDE_BENCH_MEASURE_S windows of one second, one line per case:

    torch_<variant>_<case> median_us=<median of the window medians> best_us=<quietest window> windows=w1,w2,...

--variant only labels the lines: the malloc tuning and the BLAS are set up by the caller; a '# torch:' line on
stderr says what this process actually ran with. --check prints each model's parameter count and output shape.
"""
import argparse
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from timing import loaded_blas, malloc_note, measure, result_line, threads

SEED = 42
TRAIN_BATCH = 64
INFERENCE_BATCH = 256
CLASSES = 10


class TfReference(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.fc1 = nn.Linear(3136, 1024)
        self.fc2 = nn.Linear(1024, CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class BasicBlock(nn.Module):
    """NetworkBuilder.residualBlock: conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            pool = [nn.AvgPool2d(2, 2)] if stride == 2 else []
            self.shortcut = nn.Sequential(*pool, nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DenseLayer(nn.Module):
    """BN-ReLU-conv1x1 (4k)-BN-ReLU-conv3x3 (k), fed the concatenation of every earlier map."""

    def __init__(self, cin, growth):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))


class DenseBlock(nn.Module):
    def __init__(self, cin, layers, growth):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(cin + i * growth, growth) for i in range(layers))

    def forward(self, x):
        maps = [x]
        for layer in self.layers:
            maps.append(layer(maps[0] if len(maps) == 1 else torch.cat(maps, 1)))
        return torch.cat(maps, 1)


class SmallDenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 24, 3, padding=1, bias=False)
        self.block1 = DenseBlock(24, 4, 12)
        self.transition = nn.Sequential(nn.BatchNorm2d(72), nn.ReLU(), nn.Conv2d(72, 36, 1, bias=False),
                                        nn.AvgPool2d(2, 2))
        self.block2 = DenseBlock(36, 4, 12)
        self.final = nn.Sequential(nn.BatchNorm2d(84), nn.ReLU())
        self.fc = nn.Linear(84, CLASSES)

    def forward(self, x):
        x = self.block2(self.transition(self.block1(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.final(x), 1), 1))


MODELS = {"tfReference": TfReference, "smallResNet": SmallResNet, "smallDenseNet": SmallDenseNet}


def batch(size):
    g = torch.Generator().manual_seed(SEED)
    x = torch.rand((size, 1, 28, 28), generator=g)
    labels = torch.randint(0, CLASSES, (size,), generator=g)
    return x, labels


def train_case(name):
    torch.manual_seed(0)
    model = MODELS[name]().train()
    x, labels = batch(TRAIN_BATCH)

    def step():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), labels).backward()
    return step


def infer_case(name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    x, _ = batch(INFERENCE_BATCH)

    def step():
        with torch.no_grad():
            model(x)
    return step


CASES = {}
for _m in MODELS:
    CASES[f"{_m}_train"] = (lambda m: lambda: train_case(m))(_m)
    CASES[f"{_m}_infer"] = (lambda m: lambda: infer_case(m))(_m)


def serve(case, variant):
    """Lock-step mode for dev.stride.bench.EndToEndCompare: one step per 'step' line on stdin, answered with its
    wall and process CPU time in ns; 'quit' ends. The first line says what this process runs with."""
    step = CASES[case]()
    step()
    print(f"ready {case} {variant}: torch {torch.__version__}, {torch.get_num_threads()} thread(s), {malloc_note()}, "
          f"BLAS {loaded_blas()}", flush=True)
    clock = time.perf_counter_ns
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            return
        if command != "step":
            raise SystemExit(f"e2e.py --serve: unknown command '{command}' (expected step or quit)")
        a, cpu = clock(), time.process_time_ns()
        step()
        print(clock() - a, time.process_time_ns() - cpu, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", help="label of the lines: tuned or stock")
    ap.add_argument("--check", action="store_true", help="print each model's parameter count and output shape")
    ap.add_argument("--serve", action="store_true", help="lock-step mode for EndToEndCompare (one case)")
    ap.add_argument("cases", nargs="*", choices=sorted(CASES) + [[]])
    args = ap.parse_args()
    if args.serve:
        if len(args.cases) != 1 or not args.variant:
            ap.error("--serve takes --variant and exactly one case")
        torch.set_num_threads(threads())
        serve(args.cases[0], args.variant)
        return
    if args.check:
        for name, cls in MODELS.items():
            model = cls().eval()
            params = sum(p.numel() for p in model.parameters())
            with torch.no_grad():
                shape = tuple(model(torch.zeros(2, 1, 28, 28)).shape)
            print(f"{name} parameters={params} output={shape}")
        return
    if not args.variant or not args.cases:
        ap.error("--variant and at least one case are needed (or --check)")
    torch.set_num_threads(threads())
    for case in args.cases:
        medians = measure(CASES[case]())
        print(f"# torch: {case} {args.variant}: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
              f"{malloc_note()}, BLAS {loaded_blas()}", file=sys.stderr, flush=True)
        print(result_line(f"torch_{args.variant}_{case}", medians, torch.get_num_threads()), flush=True)


if __name__ == "__main__":
    main()
