package dev.stride.ops;

import dev.stride.core.DataType;
import dev.stride.core.MemoryDesc;

/**
 * Whether a tensor's bytes are laid out as a Java kernel indexes them. Compares the order of the dims that
 * matter, not oneDNN's label: a dim of size 1 can sit anywhere in the order without moving a byte (with one
 * channel nhwc and nchw are the same bytes), and oneDNN normalises such strides, so the label it reports for a
 * tensor made from an {@code nhwc} descriptor may read {@code abcd}.
 */
public final class DenseLayout {
    private DenseLayout() {}

    /**
     * True when {@code d} is dense f32 whose dims, outermost first, follow {@code order} (a plain oneDNN label
     * such as {@code abcd} or {@code acdb}) once the dims of size 1 are left out of both.
     */
    public static boolean isF32(MemoryDesc d, String order) {
        if (d.dataType() != DataType.F32 || d.byteSize() != d.elements() * Float.BYTES) {
            return false;
        }
        String got = d.layout();
        return got.length() == d.ndims() && order.length() == d.ndims()
                && withoutUnitDims(got, d.dims()).equals(withoutUnitDims(order, d.dims()));
    }

    /** True when {@code d} is dense f32 in the plain row-major order, ignoring where its size-1 dims sit. */
    public static boolean isPlainF32(MemoryDesc d) {
        StringBuilder plain = new StringBuilder();
        for (int i = 0; i < d.ndims(); i++) {
            plain.append((char) ('a' + i));
        }
        return isF32(d, plain.toString());
    }

    private static String withoutUnitDims(String label, long[] dims) {
        StringBuilder sb = new StringBuilder();
        for (char c : label.toCharArray()) {
            int i = c - 'a';
            if (i < 0 || i >= dims.length) {
                return label; // blocked or opaque: never equal to a plain order
            }
            if (dims[i] != 1) {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
