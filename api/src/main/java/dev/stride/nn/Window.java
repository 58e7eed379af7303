package dev.stride.nn;

import java.util.Arrays;

/**
 * How a layer's output position looks at its input, per spatial dim, for the receptive-field arithmetic:
 * extent {@code F}, stride {@code S} and dilation {@code D}. Point-wise layers have {@code F = S = D = 1}.
 * A global window sees the whole input.
 *
 * <p>Immutable (a record of immutable values; arrays are copied or never changed), so safe to share between
 * threads.
 */
public record Window(long[] extent, long[] stride, long[] dilation, boolean global) {

    public static Window pointwise(int spatialDims) {
        long[] ones = new long[spatialDims];
        Arrays.fill(ones, 1);
        return new Window(ones, ones.clone(), ones.clone(), false);
    }

    public static Window of(long[] extent, long[] stride, long[] dilation) {
        return new Window(extent.clone(), stride.clone(), dilation.clone(), false);
    }

    public static Window global(long[] inputSpatial) {
        long[] ones = new long[inputSpatial.length];
        Arrays.fill(ones, 1);
        return new Window(inputSpatial.clone(), ones, ones.clone(), true);
    }

    /** The span one output position covers in the input: {@code D*(F-1) + 1}. */
    public long span(int i) {
        return dilation[i] * (extent[i] - 1) + 1;
    }
}
