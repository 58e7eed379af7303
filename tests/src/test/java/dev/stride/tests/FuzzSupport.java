package dev.stride.tests;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import java.util.Arrays;
import java.util.SplittableRandom;

/** What the fuzz families share: tensor faults, random data, comparisons that report silent garbage. */
final class FuzzSupport {
    private FuzzSupport() {}

    /** How a tensor argument is broken when its role is the mutated parameter. */
    enum Fault {
        NULL("null tensor"),
        CLOSED("closed tensor"),
        WRONG_DIMS("tensor with one dim off by one"),
        WRONG_RANK("tensor of another rank");

        final String label;

        Fault(String label) {
            this.label = label;
        }
    }

    /** The fault for {@code role} when it is the mutated parameter, else null (recorded in the case). */
    static Fault fault(FuzzCase.Gen g, String role, Fault... allowed) {
        if (!g.is(role)) {
            return null;
        }
        Fault[] from = allowed.length == 0 ? Fault.values() : allowed;
        Fault f = from[g.r.nextInt(from.length)];
        g.how(f.label);
        return f;
    }

    /**
     * A tensor named {@code name} with {@code desc}'s layout, filled with random values when {@code fill}, then
     * broken by {@code fault}: null, closed, or replaced by a plain tensor of slightly different dims or rank.
     */
    static Tensor tensor(Scope scope, String name, MemoryDesc desc, SplittableRandom r, boolean fill, Fault fault) {
        if (fault == Fault.NULL) {
            return null;
        }
        if (fault == Fault.WRONG_DIMS || fault == Fault.WRONG_RANK) {
            long[] d = desc.dims();
            if (fault == Fault.WRONG_DIMS) {
                d[d.length - 1] += 1;
            } else {
                d = Arrays.copyOf(d, d.length == 1 ? 2 : d.length - 1);
                d[d.length - 1] = Math.max(d[d.length - 1], 1);
            }
            return Tensor.zeros(scope, name, d);
        }
        Tensor t = Tensor.allocate(scope, name, desc);
        if (fill) {
            t.copyFrom(random(r, t.desc().elements(), -1, 1));
        }
        if (fault == Fault.CLOSED) {
            t.close();
        }
        return t;
    }

    /** A plain tensor of {@code dims} (through the public factory: invalid dims must be refused there). */
    static Tensor plain(Scope scope, String name, long[] dims, SplittableRandom r, boolean fill, Fault fault) {
        try (Scope tmp = Scope.open("desc")) {
            return tensor(scope, name, MemoryDesc.plain(tmp, dims), r, fill, fault);
        }
    }

    static float[] random(SplittableRandom r, long n, double lo, double hi) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(lo, hi);
        }
        return v;
    }

    static double[] values(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    static Stream closedStream(Scope scope) {
        Stream s = Stream.create(scope);
        s.close();
        return s;
    }

    /**
     * Throws {@link FuzzCase.Wrong} when {@code got} has NaN/infinity where the reference is finite, a different
     * length, or an element off by more than {@code atol + rtol * |want|}.
     */
    static void check(String what, double[] want, float[] got, double atol, double rtol) {
        if (want.length != got.length) {
            throw new FuzzCase.Wrong(what + ": " + got.length + " values, the reference has " + want.length);
        }
        for (int i = 0; i < want.length; i++) {
            double w = want[i];
            double g = got[i];
            boolean bad = Double.isFinite(w) ? !Double.isFinite(g) || Math.abs(g - w) > atol + rtol * Math.abs(w)
                    : !(Double.isNaN(w) ? Double.isNaN(g) : g == w);
            if (bad) {
                throw new FuzzCase.Wrong(what + ": element " + i + " is " + g + ", the reference says " + w
                        + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }

    static void check(String what, double[] want, double[] got, double atol, double rtol) {
        float[] f = new float[got.length];
        for (int i = 0; i < got.length; i++) {
            f[i] = (float) got[i];
        }
        check(what, want, f, atol, rtol);
    }

    /** Two scalars that must agree (an adjoint identity, a total). */
    static void checkScalar(String what, double want, double got, double tol) {
        if (!Double.isFinite(got) || Math.abs(want - got) > tol * (1 + Math.abs(want))) {
            throw new FuzzCase.Wrong(what + ": " + got + ", the reference says " + want);
        }
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** oneDNN's element-wise formulas, from {@link LinearReference} where it has them. */
    static double eltwise(Eltwise.Algorithm alg, double alpha, double beta, double x) {
        return switch (alg) {
            case SOFT_RELU -> Math.log1p(Math.exp(alpha * x)) / alpha;
            case LOG -> Math.log(x);
            case CLIP_V2 -> Math.min(beta, Math.max(alpha, x));
            case POW -> alpha * Math.pow(x, beta);
            case HARDSIGMOID -> Math.max(0, Math.min(1, alpha * x + beta));
            case HARDSWISH -> x * Math.max(0, Math.min(1, alpha * x + beta));
            default -> LinearReference.eltwise(alg, alpha, beta, x);
        };
    }

    /** Row-major index of {@code idx} in {@code dims}. */
    static long flat(long[] dims, long[] idx) {
        long f = 0;
        for (int i = 0; i < dims.length; i++) {
            f = f * dims[i] + idx[i];
        }
        return f;
    }

    /** Advances {@code idx} row-major through {@code dims}; false after the last index. */
    static boolean next(long[] dims, long[] idx) {
        for (int i = dims.length - 1; i >= 0; i--) {
            if (++idx[i] < dims[i]) {
                return true;
            }
            idx[i] = 0;
        }
        return false;
    }
}
