package dev.stride.testing;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Reference checks shared by the tests of every module (published as stride-api's test-jar): element-wise
 * comparison that names the failing index, and finite-difference gradient checks (PyTorch's gradcheck, as a
 * vector-Jacobian product).
 */
public final class Check {
    private Check() {}

    /** Uniform values in [-1, 1). */
    public static float[] random(SplittableRandom r, long n) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    public static long count(long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    public static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    public static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** {@code [n, c, h, w]} of flat index {@code i} in a row-major array of {@code shape}. */
    public static String index(long[] shape, long i) {
        if (shape == null) {
            return "[" + i + "]";
        }
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = i % shape[d];
            i /= shape[d];
        }
        return Arrays.toString(idx);
    }

    /** Fails naming the first element where {@code |want - got| > atol + rtol * |want|}. */
    public static void close(String what, long[] shape, float[] want, float[] got, double atol, double rtol) {
        close(what, shape, toDouble(want), got, atol, rtol);
    }

    /** {@link #close(String, long[], float[], float[], double, double)} of a flat array. */
    public static void close(String what, float[] want, float[] got, double atol, double rtol) {
        close(what, new long[] {want.length}, toDouble(want), got, atol, rtol);
    }

    /** {@link #close(String, long[], double[], float[], double, double)} of a flat array. */
    public static void close(String what, double[] want, float[] got, double atol, double rtol) {
        close(what, new long[] {want.length}, want, got, atol, rtol);
    }

    /** Fails naming the first element where {@code |want - got| > atol + rtol * |want|} (a double reference). */
    public static void close(String what, long[] shape, double[] want, float[] got, double atol, double rtol) {
        if (want.length != got.length) {
            throw new AssertionError(what + ": expected " + want.length + " values, got " + got.length);
        }
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(want[i] - got[i]);
            if (!(err <= atol + rtol * Math.abs(want[i]))) {
                throw new AssertionError(what + ": element " + index(shape, i) + " expected " + want[i] + " got "
                        + got[i] + " (|diff| " + err + " > atol " + atol + " + rtol " + rtol + " * |expected|)");
            }
        }
    }

    /**
     * Checks an analytic gradient against central differences of a double-precision reference forward.
     * With a fixed upstream gradient {@code dy}, the loss is {@code L(x) = sum(dy * f(x))}, so
     * {@code dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h} must equal the backward pass's {@code dx_i}.
     * A failure names the gradient ({@code what}), the input index, and prints numeric vs analytic.
     *
     * @param forward  reference forward in double precision, {@code x -> y}
     * @param x        point to differentiate at (not modified)
     * @param dy       upstream gradient, same length as {@code forward(x)}
     * @param analytic the gradient under test (from oneDNN's backward)
     */
    public static void gradient(String what, long[] shape, Function<double[], double[]> forward, double[] x, double[] dy,
            float[] analytic, double h, double atol, double rtol) {
        gradient(what, shape, forward, x, dy, analytic, h, atol, rtol, Integer.MAX_VALUE);
    }

    /**
     * Like {@link #gradient(String, long[], Function, double[], double[], float[], double, double, double)},
     * probing at most {@code maxProbes} inputs spread evenly over the tensor (every input when it is smaller),
     * so large tensors stay fast; the stride is odd so consecutive probes land on different rows and channels.
     */
    public static void gradient(String what, long[] shape, Function<double[], double[]> forward, double[] x, double[] dy,
            float[] analytic, double h, double atol, double rtol, int maxProbes) {
        if (analytic.length != x.length) {
            throw new AssertionError(what + ": analytic gradient has " + analytic.length + " values for " + x.length + " inputs");
        }
        double[] probe = x.clone();
        int step = x.length <= maxProbes ? 1 : (x.length + maxProbes - 1) / maxProbes | 1;
        for (int i = 0; i < x.length; i += step) {
            probe[i] = x[i] + h;
            double plus = dot(dy, forward.apply(probe));
            probe[i] = x[i] - h;
            double minus = dot(dy, forward.apply(probe));
            probe[i] = x[i];
            double numeric = (plus - minus) / (2 * h);
            double err = Math.abs(numeric - analytic[i]);
            if (!(err <= atol + rtol * Math.abs(numeric))) {
                throw new AssertionError(what + ": d(sum(dy*y))/dx at input " + index(shape, i) + ": numeric "
                        + numeric + " vs analytic " + analytic[i] + " (|diff| " + err + ")");
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new AssertionError("upstream gradient has " + a.length + " values, output " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
