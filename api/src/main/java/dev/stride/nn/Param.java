package dev.stride.nn;

import dev.stride.core.MemoryDesc;
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
 *
 * <p>Immutable (a record of immutable values; arrays are copied or never changed), so safe to share between
 * threads.
 */
public record Param(String name, long[] dims, Init init, long fanIn, long fanOut, boolean state) {

    /** Initialisation schemes. */
    public enum Init {
        /** He/Kaiming normal, {@code std = sqrt(2 / fanIn)}: for layers followed by ReLU. */
        HE_NORMAL,
        /** Xavier/Glorot uniform, {@code U(-a, a)} with {@code a = sqrt(6 / (fanIn + fanOut))}. */
        XAVIER_UNIFORM,
        ZEROS,
        ONES,
        /**
         * The identity affine map {@code [I | 0]} flattened row-major: {@code (1, 0, 0, 0, 1, 0)} for 6 values
         * (2D, {@code 2 x 3}), {@code (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)} for 12 (3D, {@code 3 x 4}). The bias of
         * a spatial transformer's last FC (with zero weights), so that training starts from "sample the input
         * as it is" (Jaderberg et al. 2015).
         */
        IDENTITY_AFFINE
    }

    /** A learnable parameter; {@link Init#IDENTITY_AFFINE} needs 6 or 12 elements. */
    public static Param learned(String name, long[] dims, Init init, long fanIn, long fanOut) {
        Param p = new Param(name, dims.clone(), init, fanIn, fanOut, false);
        if (init == Init.IDENTITY_AFFINE) {
            affineRank(p);
        }
        return p;
    }

    public static Param state(String name, long[] dims, Init init) {
        return new Param(name, dims.clone(), init, 0, 0, true);
    }

    /** The element count; {@link Long#MAX_VALUE} where the product overflows. */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }
        return n;
    }

    /**
     * Initial values, deterministic for a given random source.
     *
     * @throws IllegalArgumentException if the parameter holds more than {@link MemoryDesc#MAX_ELEMENTS} values
     */
    public float[] initialValues(SplittableRandom random) {
        long count = elements();
        if (count > MemoryDesc.MAX_ELEMENTS) {
            throw new IllegalArgumentException("parameter " + name + " " + Arrays.toString(dims) + " holds "
                    + (count == Long.MAX_VALUE ? "more than 2^63" : count) + " values, more than one tensor may hold ("
                    + MemoryDesc.MAX_ELEMENTS + ", MemoryDesc.MAX_ELEMENTS)");
        }
        float[] v = new float[(int) count];
        switch (init) {
            case ZEROS -> { }
            case ONES -> Arrays.fill(v, 1f);
            case IDENTITY_AFFINE -> {
                int d = affineRank(this);
                for (int i = 0; i < d; i++) {
                    v[i * (d + 1) + i] = 1f;
                }
            }
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

    /** {@code d} of a {@code d x (d+1)} affine matrix with this parameter's element count. */
    private static int affineRank(Param p) {
        long n = p.elements();
        if (n != 6 && n != 12) {
            throw new IllegalArgumentException(p.name + Arrays.toString(p.dims) + ": the identity affine initialisation "
                    + "needs 6 values (2 x 3, 2D) or 12 (3 x 4, 3D), got " + n);
        }
        return n == 6 ? 2 : 3;
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
