package dev.stride.train;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * The element-wise loops of the optimizers and of gradient clipping, over f32 {@link MemorySegment}s of {@code n}
 * elements.
 *
 * <p>Each tensor is processed in chunks of {@link #CHUNK} floats: one bulk copy per operand into a heap array
 * (which stays in the L1 cache), plain counted loops over the arrays, one bulk copy back per updated operand.
 * Measured alternatives, and why not them (JDK 25, 3.3M-parameter Adam step, one core):
 * <ul>
 * <li>Loops that read and write the segments directly: C2 does not vectorise a loop that reads one native
 *     segment and writes another (it cannot prove they do not overlap; the runtime aliasing check is
 *     JDK-8324751, after 25), so the divisions and square roots run one float at a time (~10 ms). Worse, once
 *     heap-backed segments have passed through the JDK's segment access code anywhere in the process (which
 *     any {@code Tensor.of} does), C2's profiled loop predicates fail again and again in these loops and the
 *     method is deoptimised and recompiled every second or two, running interpreted in between.
 * <li>The incubating Vector API on the segments: fastest once compiled (~3.3 ms, memory-bound), but
 *     interpreted or C1-compiled vector code is a thousand times slower than scalar code, so the first
 *     training steps take seconds, any deoptimisation (the same profiled-predicate churn) costs as much again,
 *     a vector merged across an {@code if} is boxed, and every JVM would need
 *     {@code --add-modules=jdk.incubator.vector}.
 * </ul>
 * Loops over heap arrays have none of these problems: C2 vectorises them (the arrays may alias only at the same
 * index, which SuperWord allows), interpreted and C1 code is merely slow, and bounds checks are hoisted without
 * speculation.
 *
 * <p>Each option (L2 term, Nesterov, first step, decoupled decay) is its own short pass over the chunk, so every
 * loop is branch-free and vectorises; the passes apply PyTorch's operations in PyTorch's order (fused
 * multiply-add where its vectorised kernels use one), so the result does not depend on the chunking.
 *
 * <p>An instance owns its scratch arrays (heap memory, allocated once) and is used by one thread at a time.
 */
final class Kernels {

    /**
     * Floats per chunk (1 KiB per operand). Measured on a 3.3M-parameter Adam step: 128 to 256 fastest, 1024 and
     * more ~30% slower; the operands' memory streams are interleaved more finely, as in one loop over all of them.
     */
    static final int CHUNK = 256;

    private final int chunk;
    private final float[] a;
    private final float[] b;
    private final float[] c;
    private final float[] d;

    Kernels() {
        this(CHUNK);
    }

    /** With another chunk size (for measurements); even, for {@link #flush}. */
    Kernels(int chunk) {
        if (chunk <= 0 || chunk % 2 != 0) {
            throw new IllegalArgumentException("chunk must be a positive even number, got " + chunk);
        }
        this.chunk = chunk;
        a = new float[chunk];
        b = new float[chunk];
        c = new float[chunk];
        d = new float[chunk];
    }

    private static void load(MemorySegment s, long first, float[] dst, int count) {
        MemorySegment.copy(s, JAVA_FLOAT, first * Float.BYTES, dst, 0, count);
    }

    private static void store(float[] src, MemorySegment s, long first, int count) {
        MemorySegment.copy(src, 0, s, JAVA_FLOAT, first * Float.BYTES, count);
    }

    /**
     * SGD without momentum: {@code g' = g + wd*p} (when {@code l2}), {@code p = p - lr*g'}; {@code negLr = -lr}.
     */
    void sgd(MemorySegment p, MemorySegment g, long n, boolean l2, float wd, float negLr) {
        float[] pa = a;
        float[] ga = b;
        for (long first = 0; first < n; first += chunk) {
            int k = (int) Math.min(chunk, n - first);
            load(p, first, pa, k);
            load(g, first, ga, k);
            if (l2) {
                addL2(ga, pa, k, wd);
            }
            for (int i = 0; i < k; i++) {
                pa[i] = Math.fma(ga[i], negLr, pa[i]);
            }
            store(pa, p, first, k);
        }
    }

    /**
     * SGD with a momentum buffer {@code buf}: {@code g' = g + wd*p} (when {@code l2}); {@code buf = g'} on the
     * first step, else {@code buf = momentum*buf + keep*g'} ({@code keep = 1 - dampening}); the direction is
     * {@code g' + momentum*buf} (Nesterov) or {@code buf}; {@code p = p - lr*direction}.
     */
    void sgdMomentum(MemorySegment p, MemorySegment g, MemorySegment buf, long n, boolean l2, float wd, float negLr,
            float momentum, float keep, boolean first, boolean nesterov) {
        float[] pa = a;
        float[] ga = b;
        float[] ba = c;
        for (long f = 0; f < n; f += chunk) {
            int k = (int) Math.min(chunk, n - f);
            load(p, f, pa, k);
            load(g, f, ga, k);
            if (l2) {
                addL2(ga, pa, k, wd);
            }
            if (first) {
                System.arraycopy(ga, 0, ba, 0, k);
            } else {
                load(buf, f, ba, k);
                // PyTorch: buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                for (int i = 0; i < k; i++) {
                    ba[i] = Math.fma(ga[i], keep, ba[i] * momentum);
                }
            }
            if (nesterov) {
                // d_p = d_p.add(buf, alpha=momentum); param.add_(d_p, alpha=-lr)
                for (int i = 0; i < k; i++) {
                    pa[i] = Math.fma(Math.fma(ba[i], momentum, ga[i]), negLr, pa[i]);
                }
            } else {
                for (int i = 0; i < k; i++) {
                    pa[i] = Math.fma(ba[i], negLr, pa[i]);
                }
            }
            store(pa, p, f, k);
            store(ba, buf, f, k);
        }
    }

    /**
     * Adam/AdamW: {@code p = decay*p} (AdamW's decoupled decay, when {@code decoupled}); {@code g' = g + wd*p}
     * (when {@code l2}); {@code m = beta1*m + keep1*g'}; {@code v = beta2*v + keep2*g'*g'};
     * {@code p = p - stepSize*m / (sqrt(v)/sqrt(bc2) + eps)}; {@code negStepSize = -stepSize},
     * {@code invBc2Sqrt = 1/sqrt(bc2)} (a multiplication instead of PyTorch's division: divisions and square roots
     * bound this loop, and the result differs by at most an ulp).
     */
    void adam(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n, boolean decoupled,
            float decay, boolean l2, float wd, float beta1, float keep1, float beta2, float keep2, float invBc2Sqrt,
            float eps, float negStepSize) {
        float[] pa = a;
        float[] ga = b;
        float[] ma = c;
        float[] va = d;
        for (long f = 0; f < n; f += chunk) {
            int k = (int) Math.min(chunk, n - f);
            load(p, f, pa, k);
            load(g, f, ga, k);
            load(m, f, ma, k);
            load(v, f, va, k);
            if (decoupled) {
                // param.mul_(1 - lr * weight_decay)
                for (int i = 0; i < k; i++) {
                    pa[i] *= decay;
                }
            }
            if (l2) {
                addL2(ga, pa, k, wd);
            }
            for (int i = 0; i < k; i++) {
                float gi = ga[i];
                // exp_avg.mul_(beta1).add_(grad, alpha=1-beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
                float mi = Math.fma(gi, keep1, ma[i] * beta1);
                float vi = va[i] * beta2 + keep2 * gi * gi;
                ma[i] = mi;
                va[i] = vi;
                // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps); param.addcdiv_(exp_avg, denom, value=-step_size)
                float denom = (float) Math.sqrt(vi) * invBc2Sqrt + eps;
                pa[i] = pa[i] + negStepSize * mi / denom;
            }
            store(pa, p, f, k);
            store(ma, m, f, k);
            store(va, v, f, k);
        }
    }

    /** {@code g = g + wd*p} (PyTorch: {@code grad.add(param, alpha=weight_decay)}). */
    private static void addL2(float[] ga, float[] pa, int k, float wd) {
        for (int i = 0; i < k; i++) {
            ga[i] = Math.fma(pa[i], wd, ga[i]);
        }
    }

    /**
     * {@code sum(g[i]^2)}. Squares are accumulated per array position in f32 (a vectorised pass), at most
     * {@link #FLUSH} chunks deep, then added up in double: relative error below {@code 32 * 2^-24} in the worst
     * case, ~1e-7 typically (PyTorch sums its norms in f32 throughout).
     */
    double sumOfSquares(MemorySegment g, long n) {
        float[] ga = a;
        float[] acc = b;
        java.util.Arrays.fill(acc, 0f);
        double total = 0;
        int pending = 0;
        for (long f = 0; f < n; f += chunk) {
            int k = (int) Math.min(chunk, n - f);
            load(g, f, ga, k);
            for (int i = 0; i < k; i++) {
                acc[i] = Math.fma(ga[i], ga[i], acc[i]);
            }
            if (++pending == FLUSH) {
                total += flush(acc);
                pending = 0;
            }
        }
        return total + flush(acc);
    }

    /** Chunks summed per position in f32 before the running total takes them in double. */
    static final int FLUSH = 32;

    private static double flush(float[] acc) {
        double s0 = 0;
        double s1 = 0;
        for (int i = 0; i < acc.length; i += 2) {
            s0 += acc[i];
            s1 += acc[i + 1];
            acc[i] = 0f;
            acc[i + 1] = 0f;
        }
        return s0 + s1;
    }

    /** {@code g[i] *= factor}. */
    void scale(MemorySegment g, long n, float factor) {
        float[] ga = a;
        for (long f = 0; f < n; f += chunk) {
            int k = (int) Math.min(chunk, n - f);
            load(g, f, ga, k);
            for (int i = 0; i < k; i++) {
                ga[i] *= factor;
            }
            store(ga, g, f, k);
        }
    }

    /** {@code g[i] = min(max(g[i], -limit), limit)}; NaN stays NaN (like {@code torch.clamp}). */
    void clamp(MemorySegment g, long n, float limit) {
        float[] ga = a;
        for (long f = 0; f < n; f += chunk) {
            int k = (int) Math.min(chunk, n - f);
            load(g, f, ga, k);
            for (int i = 0; i < k; i++) {
                ga[i] = Math.min(Math.max(ga[i], -limit), limit);
            }
            store(ga, g, f, k);
        }
    }
}
