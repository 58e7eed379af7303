package dev.stride.nn;

import java.util.Arrays;

/**
 * The shape of one sample, without the batch: {@code C x H x W}, {@code C x D x H x W}, or {@code F} features.
 * A network is planned for a batch size later; everything the builder checks is per sample.
 *
 * <p>Immutable (a record of immutable values; arrays are copied or never changed), so safe to share between
 * threads.
 */
public record Shape(long[] dims) {

    public Shape {
        if (dims == null || dims.length == 0) {
            throw new IllegalArgumentException("a shape needs at least one dimension");
        }
        for (long d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has a non-positive dimension");
            }
        }
        dims = dims.clone();
    }

    public static Shape of(long... dims) {
        return new Shape(dims);
    }

    /** The dims with a batch dimension in front: {@code N, C, H, W}. */
    public long[] withBatch(long n) {
        long[] out = new long[dims.length + 1];
        out[0] = n;
        System.arraycopy(dims, 0, out, 1, dims.length);
        return out;
    }

    /** Drops the batch dimension of {@code N, C, ...}. */
    public static Shape ofBatched(long[] nDims) {
        return new Shape(Arrays.copyOfRange(nDims, 1, nDims.length));
    }

    public int rank() {
        return dims.length;
    }

    public long dim(int i) {
        return dims[i];
    }

    /** Channels (the first dim). */
    public long channels() {
        return dims[0];
    }

    /** Number of spatial dims: rank - 1 for images and volumes, 0 for feature vectors. */
    public int spatialDims() {
        return dims.length - 1;
    }

    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** {@code 32x28x28}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < dims.length; i++) {
            sb.append(i == 0 ? "" : "x").append(dims[i]);
        }
        return sb.toString();
    }
}
