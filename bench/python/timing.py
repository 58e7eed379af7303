"""Timing helpers shared by the PyTorch twins (custom_ops.py, e2e.py): the thread count, the windowed
medians of bench/c/bench_common.h's MEASURE_WINDOWS, and which BLAS the process mapped."""
import os
import statistics
import time


def threads():
    """oneDNN's default on the Java side: OMP_NUM_THREADS when set, else every core the process may use."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0))


def env_seconds(name, default):
    v = os.environ.get(name, "").strip()
    return float(v) if v else default


def measure(step):
    """bench_common.h's MEASURE_WINDOWS: warm up, then per-call times in 1-s windows; window medians in us."""
    warm = env_seconds("STRIDE_BENCH_WARMUP_S", 3)
    windows = max(1, int(env_seconds("STRIDE_BENCH_MEASURE_S", 5)))
    clock = time.perf_counter_ns
    step()  # at least one call, however long the warm-up
    t0 = clock()
    while clock() - t0 < warm * 1e9:
        step()
    medians = []
    for _ in range(windows):
        times = []
        start = b = clock()
        while b - start < 1e9:
            a = clock()
            step()
            b = clock()
            times.append((b - a) / 1e3)
        medians.append(statistics.median(times))
    return medians


def loaded_blas():
    """The BLAS libraries this process mapped (Debian's torch calls libblas.so.3, an update-alternatives link)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if "blas" in os.path.basename(path).lower() or "lapack" in os.path.basename(path).lower():
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return ",".join(sorted(libs)) or "none found"


def malloc_note():
    """The glibc malloc tuning of this process, as the caller set it."""
    return " ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ) if k.startswith("MALLOC_")) or "stock malloc"


def result_line(name, medians, torch_threads):
    """One line in the C twins' format, read by dev.stride.bench.Report."""
    return (f"{name} median_us={statistics.median(medians):.4f} best_us={min(medians):.4f} "
            f"windows={','.join(f'{m:.4f}' for m in medians)} threads={torch_threads}")
