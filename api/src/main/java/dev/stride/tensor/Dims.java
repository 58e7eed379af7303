package dev.stride.tensor;

import dev.stride.core.Shapes;

/**
 * The dims checks of the tensor ops, whose dims have no conventional names (a binary operand, a concat
 * source): {@link Shapes#requireDims} with the dimensions called {@code d0, d1, ...}.
 */
final class Dims {
    private Dims() {}

    /** Throws naming {@code where}, the argument {@code what} and the dimension unless {@code dims} fit a tensor. */
    static void require(String where, String what, long[] dims) {
        require(where, what, dims, null);
    }

    /** As {@link #require(String, String, long[])}, for derived dims: {@code causes} says what they follow from. */
    static void require(String where, String what, long[] dims, String causes) {
        Shapes.requireDims(where, what, dims, dims == null ? null : names(dims.length), causes);
    }

    static String[] names(int rank) {
        String[] n = new String[rank];
        for (int i = 0; i < rank; i++) {
            n[i] = "d" + i;
        }
        return n;
    }
}
