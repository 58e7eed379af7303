package dev.stride.ops.stn;

import dev.stride.core.MemoryDesc;
import dev.stride.core.Shapes;
import dev.stride.core.Tensor;
import dev.stride.ops.DenseLayout;
import java.util.Arrays;

/**
 * Shape and layout checks shared by the grid generator and the sampler, run before any work. Every message
 * names the op, the tensor's role, the expected shape with its letters and numbers, and what was given.
 */
final class StnChecks {
    private StnChecks() {}

    /**
     * Requires {@code t} to be a plain f32 tensor of exactly {@code expected} dims. {@code letters} names the
     * dims ({@code "N, 2, 3"}) and {@code note} adds where the numbers come from (may be empty).
     */
    static void require(String where, String role, Tensor t, String letters, long[] expected, String note) {
        if (t == null) {
            throw new IllegalArgumentException(where + ": " + role + " must not be null (expected [" + letters + "] = "
                    + Arrays.toString(expected) + ")");
        }
        long[] got = t.dims();
        if (!Arrays.equals(got, expected)) {
            throw new IllegalArgumentException(where + ": " + role + " must be [" + letters + "] = "
                    + Arrays.toString(expected) + note + ", got " + Arrays.toString(got)
                    + (got.length != expected.length ? " (" + got.length + "D)" : ""));
        }
        requirePlainF32(where, role, t);
    }

    /** Requires rank {@code rank} before the dims are used to derive other shapes. */
    static void requireRank(String where, String role, Tensor t, String letters, int rank) {
        if (t == null) {
            throw new IllegalArgumentException(where + ": " + role + " must not be null (expected [" + letters + "])");
        }
        long[] got = t.dims();
        if (got.length != rank) {
            throw new IllegalArgumentException(where + ": " + role + " must be " + rank + "D [" + letters + "], got "
                    + got.length + "D " + Arrays.toString(got));
        }
    }

    /**
     * The Java kernels index tensors row-major, so they need the plain layout: a blocked layout
     * ({@code nChw16c}) would put channel 1's pixels where pixel 1 of channel 0 is expected.
     */
    static void requirePlainF32(String where, String role, Tensor t) {
        MemoryDesc d = t.desc();
        if (!DenseLayout.isPlainF32(d)) {
            throw new IllegalArgumentException(where + ": " + role + " must be f32 in the plain row-major layout "
                    + "(the Java kernels index it as such), got " + d.shapeString()
                    + "; reorder it first (Tensor.toPlain)");
        }
    }

    /** Outputs must not share bytes with inputs (or each other): the kernels read while they write. */
    static void requireDisjoint(String where, String roleA, Tensor a, String roleB, Tensor b) {
        if (a == null || b == null) {
            return;
        }
        if (a.segment().asOverlappingSlice(b.segment()).isPresent()) {
            throw new IllegalArgumentException(where + ": " + roleA + " and " + roleB + " must not overlap in memory");
        }
    }

    /** Sizes given at creation: positive, and small enough for the kernels' int indices. */
    static void requireSizes(String where, long n, long c, long h, long w, long h2, long w2) {
        long[] all = {n, c, h, w, h2, w2};
        String[] names = {"N", "C", "H", "W", "H2", "W2"};
        for (int i = 0; i < all.length; i++) {
            if (all[i] < 1) {
                throw new IllegalArgumentException(where + ": " + names[i] + " must be >= 1, got " + all[i]
                        + " (N=" + n + ", C=" + c + ", H=" + h + ", W=" + w + ", H2=" + h2 + ", W2=" + w2 + ")");
            }
        }
        // Each shape within MemoryDesc's limits first: then the products below cannot overflow.
        Shapes.requireDims(where, "src", new long[] {n, c, h, w}, new String[] {"N", "C", "H", "W"}, null);
        Shapes.requireDims(where, "dst", new long[] {n, c, h2, w2}, new String[] {"N", "C", "H2", "W2"},
                "batch N, channels C and the output size H2, W2");
        if (n * h2 * w2 > Integer.MAX_VALUE / 16) {
            throw new IllegalArgumentException(where + ": sizes too large for the sampler's int indices (N=" + n
                    + ", C=" + c + ", H=" + h + ", W=" + w + ", H2=" + h2 + ", W2=" + w2 + ")");
        }
    }
}
