package dev.stride.nn;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A tensor a layer owns: a learnable parameter ({@code conv1.weight}) or saved state that never receives
 * gradients ({@code bn1.running_mean}, PyTorch's buffers), with how it is initialised.
 *
 * @param name   the suffix after the layer name: {@code weight}, {@code bias}, {@code running_mean}
 * @param dims   its dims, as the primitive family wants them (e.g. {@code K x C/G x F x F})
 * @param init   how to fill it
 * @param fanIn  inputs feeding one output (for He/Xavier)
 * @param fanOut outputs one input feeds (for Xavier)
 * @param state  true for saved state (running statistics), false for learnable parameters
 */
public record Param(String name, long[] dims, Init init, long fanIn, long fanOut, boolean state) {

    /** Initialisation schemes. */
    public enum Init {
        /** He/Kaiming normal, {@code std = sqrt(2 / fanIn)}: for layers followed by ReLU. */
        HE_NORMAL,
        /** Xavier/Glorot uniform, {@code U(-a, a)} with {@code a = sqrt(6 / (fanIn + fanOut))}. */
        XAVIER_UNIFORM,
        ZEROS,
        ONES
    }

    public static Param learned(String name, long[] dims, Init init, long fanIn, long fanOut) {
        return new Param(name, dims.clone(), init, fanIn, fanOut, false);
    }

    public static Param state(String name, long[] dims, Init init) {
        return new Param(name, dims.clone(), init, 0, 0, true);
    }

    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Initial values, deterministic for a given random source. */
    public float[] initialValues(SplittableRandom random) {
        float[] v = new float[Math.toIntExact(elements())];
        switch (init) {
            case ZEROS -> { }
            case ONES -> Arrays.fill(v, 1f);
            case HE_NORMAL -> {
                double std = Math.sqrt(2.0 / Math.max(1, fanIn));
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (random.nextGaussian() * std);
                }
            }
            case XAVIER_UNIFORM -> {
                double a = Math.sqrt(6.0 / Math.max(1, fanIn + fanOut));
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) ((random.nextDouble() * 2 - 1) * a);
                }
            }
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Param p && name.equals(p.name) && Arrays.equals(dims, p.dims) && init == p.init
                && fanIn == p.fanIn && fanOut == p.fanOut && state == p.state;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(dims) + (state ? " (state)" : "") + " " + init;
    }
}
