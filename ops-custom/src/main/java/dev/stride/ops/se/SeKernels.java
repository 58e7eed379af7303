package dev.stride.ops.se;

import dev.stride.core.Tensor;
import dev.stride.ops.DenseLayout;
import dev.stride.ops.FloatLoops;
import dev.stride.ops.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The Java halves of the squeeze-excitation block, stateless, over off-heap f32 tensors: the squeeze
 * (global average per channel), the per-channel scale, and their gradients.
 *
 * <ul>
 *   <li>{@link #squeeze}: {@code z[n, c] = (1/HW) sum_hw u[n, c, h, w]}
 *   <li>{@link #scale}: {@code x[n, c, h, w] = s[n, c] * u[n, c, h, w]}
 *   <li>{@link #scaleBackward}: {@code ds[n, c] = sum_hw dx[n, c, h, w] * u[n, c, h, w]}
 *   <li>{@link #inputBackward}: {@code du[n, c, h, w] = s[n, c] * dx[n, c, h, w] + (1/HW) dz[n, c]} (the scale's
 *       gradient plus the squeeze's, broadcast over the plane)
 * </ul>
 *
 * <p><b>Shape</b>: {@code u}, {@code x}, {@code dx}, {@code du}: {@code N x C x H x W} in a plain layout, either
 * {@code nchw} ({@link SqueezeExcitation.Layout#NCHW}) or channels-last {@code nhwc}
 * ({@link SqueezeExcitation.Layout#NHWC}); {@code z}, {@code s}, {@code ds}, {@code dz}: {@code N x C} row-major.
 * The kernels index the bytes directly, so they need these plain layouts; a blocked layout ({@code nChw16c})
 * has to be reordered first.
 *
 * <p>Work is split over (sample, channel) rows in {@code nchw} and over (sample, channel block) or pixel
 * blocks in {@code nhwc}, on {@link Parallel}'s threads. In {@code nchw} a row is one contiguous plane, run by
 * {@link FloatLoops} (SIMD when the JVM has the Vector API module); in {@code nhwc} they run a vector of channels down
 * a block of pixels ({@link FloatLoops#sumPixels} and the like).
 *
 * <p>The tensors are checked for dims only (callers such as {@link SqueezeExcitation} check layouts once);
 * {@code x} may be {@code u} itself (in place), and {@code du} may be {@code dx}.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class SeKernels {
    private SeKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Elements of work below which a chunk is not worth handing to another thread. */
    private static final long GRAIN_ELEMENTS = 16_384;
    /** Channels per task in the channels-last squeeze: keeps the partial sums of a task within a few cache lines. */
    private static final int NHWC_CHANNEL_BLOCK = 64;

    /** {@code z[n, c] = mean_hw u[n, c, :, :]}. */
    public static void squeeze(SqueezeExcitation.Layout layout, Tensor u, Tensor z) {
        long[] d = planeDims("squeeze", u, "u", z, "z");
        requireLayouts("squeeze", layout, u, "u", z, "z");
        int n = (int) d[0];
        int c = (int) d[1];
        int hw = (int) (d[2] * d[3]);
        squeeze(layout, u.segment(), z.segment(), n, c, hw);
    }

    /** {@code x = s (per channel) * u}. */
    public static void scale(SqueezeExcitation.Layout layout, Tensor u, Tensor s, Tensor x) {
        long[] d = planeDims("scale", u, "u", s, "s");
        requireSame("scale", d, x, "x");
        requireLayouts("scale", layout, u, "u", s, "s", x, "x");
        scale(layout, u.segment(), s.segment(), x.segment(), (int) d[0], (int) d[1], (int) (d[2] * d[3]));
    }

    /** {@code ds[n, c] = sum_hw dx * u}: the gradient of {@code x = s * u} with respect to the scale {@code s}. */
    public static void scaleBackward(SqueezeExcitation.Layout layout, Tensor u, Tensor dx, Tensor ds) {
        long[] d = planeDims("scale backward", u, "u", ds, "ds");
        requireSame("scale backward", d, dx, "dx");
        requireLayouts("scale backward", layout, u, "u", dx, "dx", ds, "ds");
        scaleBackward(layout, u.segment(), dx.segment(), ds.segment(), (int) d[0], (int) d[1], (int) (d[2] * d[3]));
    }

    /** {@code du = s * dx + dz / HW}: the input's gradient through the scale and through the squeeze. */
    public static void inputBackward(SqueezeExcitation.Layout layout, Tensor dx, Tensor s, Tensor dz, Tensor du) {
        long[] d = planeDims("input backward", dx, "dx", s, "s");
        requireSame("input backward", d, du, "du");
        requireSame("input backward", new long[] {d[0], d[1]}, dz, "dz");
        requireLayouts("input backward", layout, dx, "dx", s, "s", dz, "dz", du, "du");
        inputBackward(layout, dx.segment(), s.segment(), dz.segment(), du.segment(), (int) d[0], (int) d[1],
                (int) (d[2] * d[3]));
    }

    // ---- kernels over raw segments (dims already validated) ----

    static void squeeze(SqueezeExcitation.Layout layout, MemorySegment u, MemorySegment z, int n, int c, int hw) {
        float inv = 1f / hw;
        if (layout == SqueezeExcitation.Layout.NCHW) {
            Parallel.forRange(n * c, rowsPerTask(hw),
                    row -> z.setAtIndex(F, row, FloatLoops.sum(u, (long) row * hw, hw) * inv));
            return;
        }
        int blocks = (c + NHWC_CHANNEL_BLOCK - 1) / NHWC_CHANNEL_BLOCK;
        Parallel.forRange(n * blocks, 1, task -> {
            int b = task / blocks;
            int c0 = (task % blocks) * NHWC_CHANNEL_BLOCK;
            int c1 = Math.min(c, c0 + NHWC_CHANNEL_BLOCK);
            long zBase = (long) b * c;
            FloatLoops.sumPixels(u, (long) b * hw * c + c0, hw, c, z, zBase + c0, c1 - c0);
            for (int ch = c0; ch < c1; ch++) {
                z.setAtIndex(F, zBase + ch, z.getAtIndex(F, zBase + ch) * inv);
            }
        });
    }

    static void scale(SqueezeExcitation.Layout layout, MemorySegment u, MemorySegment s, MemorySegment x, int n, int c,
            int hw) {
        if (layout == SqueezeExcitation.Layout.NCHW) {
            Parallel.forRange(n * c, rowsPerTask(hw),
                    row -> FloatLoops.scaleShift(u, x, (long) row * hw, hw, s.getAtIndex(F, row), 0f));
            return;
        }
        // Channels-last: one task per run of pixels of one sample; the sample's C scales are reused per pixel.
        int pixelsPerTask = Math.max(1, rowsPerTask(c));
        int tasksPerSample = (hw + pixelsPerTask - 1) / pixelsPerTask;
        Parallel.forRange(n * tasksPerSample, 1, task -> {
            int b = task / tasksPerSample;
            int p0 = (task % tasksPerSample) * pixelsPerTask;
            int p1 = Math.min(hw, p0 + pixelsPerTask);
            FloatLoops.scaleShiftPixels(u, x, ((long) b * hw + p0) * c, p1 - p0, c, s, null, (long) b * c, 0f);
        });
    }

    static void scaleBackward(SqueezeExcitation.Layout layout, MemorySegment u, MemorySegment dx, MemorySegment ds,
            int n, int c, int hw) {
        if (layout == SqueezeExcitation.Layout.NCHW) {
            Parallel.forRange(n * c, rowsPerTask(hw),
                    row -> ds.setAtIndex(F, row, FloatLoops.dot(u, dx, (long) row * hw, hw)));
            return;
        }
        int blocks = (c + NHWC_CHANNEL_BLOCK - 1) / NHWC_CHANNEL_BLOCK;
        Parallel.forRange(n * blocks, 1, task -> {
            int b = task / blocks;
            int c0 = (task % blocks) * NHWC_CHANNEL_BLOCK;
            int c1 = Math.min(c, c0 + NHWC_CHANNEL_BLOCK);
            FloatLoops.dotPixels(u, dx, (long) b * hw * c + c0, hw, c, ds, (long) b * c + c0, c1 - c0);
        });
    }

    static void inputBackward(SqueezeExcitation.Layout layout, MemorySegment dx, MemorySegment s, MemorySegment dz,
            MemorySegment du, int n, int c, int hw) {
        float inv = 1f / hw;
        if (layout == SqueezeExcitation.Layout.NCHW) {
            Parallel.forRange(n * c, rowsPerTask(hw), row -> FloatLoops.scaleShift(dx, du, (long) row * hw, hw,
                    s.getAtIndex(F, row), dz.getAtIndex(F, row) * inv));
            return;
        }
        int pixelsPerTask = Math.max(1, rowsPerTask(c));
        int tasksPerSample = (hw + pixelsPerTask - 1) / pixelsPerTask;
        Parallel.forRange(n * tasksPerSample, 1, task -> {
            int b = task / tasksPerSample;
            int p0 = (task % tasksPerSample) * pixelsPerTask;
            int p1 = Math.min(hw, p0 + pixelsPerTask);
            FloatLoops.scaleShiftPixels(dx, du, ((long) b * hw + p0) * c, p1 - p0, c, s, dz, (long) b * c, inv);
        });
    }

    /** Rows of {@code rowLength} elements per task, so that a task has at least {@link #GRAIN_ELEMENTS}. */
    private static int rowsPerTask(long rowLength) {
        return (int) Math.max(1, GRAIN_ELEMENTS / Math.max(1, rowLength));
    }

    // ---- checks ----

    /** Checks {@code big} is 4D and {@code small} is its {@code N x C}; returns {@code big}'s dims. */
    private static long[] planeDims(String op, Tensor big, String bigName, Tensor small, String smallName) {
        long[] d = big.dims();
        if (d.length != 4) {
            throw new IllegalArgumentException("squeeze-excitation " + op + ": expected 4D " + bigName
                    + " (N x C x H x W), got " + d.length + "D: " + Arrays.toString(d));
        }
        requireSame(op, new long[] {d[0], d[1]}, small, smallName);
        return d;
    }

    private static void requireLayouts(String op, SqueezeExcitation.Layout layout, Object... tensorsAndNames) {
        for (int i = 0; i < tensorsAndNames.length; i += 2) {
            requireLayout(op, layout, (Tensor) tensorsAndNames[i], (String) tensorsAndNames[i + 1]);
        }
    }

    /** Throws unless {@code t}'s bytes are laid out as {@code layout} says (the kernels index them directly). */
    static void requireLayout(String op, SqueezeExcitation.Layout layout, Tensor t, String what) {
        String want = t.dims().length == 4 ? layout.oneDnnLabel() : "ab";
        if (!DenseLayout.isF32(t.desc(), want)) {
            throw new IllegalArgumentException("squeeze-excitation " + op + ": " + what + " must be dense f32 in layout "
                    + want + (t.dims().length == 4 ? " (" + layout + ")" : "") + ", got tensor '" + t.name() + "' "
                    + t.desc().shapeString() + " (reorder it first)");
        }
    }

    private static void requireSame(String op, long[] want, Tensor t, String what) {
        if (!Arrays.equals(want, t.dims())) {
            throw new IllegalArgumentException("squeeze-excitation " + op + ": expected " + what + " "
                    + Arrays.toString(want) + ", got " + Arrays.toString(t.dims()));
        }
    }
}
