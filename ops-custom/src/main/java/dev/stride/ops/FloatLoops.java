package dev.stride.ops;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;

/**
 * The inner loops of the custom ops' Java kernels: element-wise and reduction loops over f32 elements of
 * off-heap segments (the squeeze-excitation block), and the channels-last sampling loops and transposes over
 * Java arrays (the grid sampler, deformable convolution); indices count floats. They run on the JDK's Vector API
 * ({@link VectorFloatLoops}) when the JVM was started with {@code --add-modules jdk.incubator.vector}, and as
 * plain Java loops ({@link ScalarFloatLoops}) otherwise, with the same results up to the order of float
 * additions. Either way a call gives the same bits every time (the vector sums add their lanes in a fixed
 * order), so that a training run repeats exactly.
 *
 * <p>Why the Vector API: the JIT in JDK 25 vectorises none of these loops over {@code MemorySegment}s by
 * itself (two native segments may overlap, and it keeps float additions in program order), so a scalar scale
 * moves one float per cycle where SIMD moves 8. Measured on the build machine (AVX2, one thread, 6.4 MB):
 * sum 0.33 ms scalar against 0.12 ms vector, scale 0.53 ms against 0.25 ms (as fast as a memcpy of the
 * same bytes). The module is incubating, so it is optional: {@code -Dstride.vector=false} forces the plain
 * loops, for comparisons.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class FloatLoops {
    private FloatLoops() {}

    /** Why the plain loops run, or null when the Vector API is used. */
    private static final String PLAIN_BECAUSE = plainBecause();

    /**
     * Whether the loops run on the Vector API: the module is in the JVM, not switched off, and the JIT goes up to
     * its optimising tier.
     */
    public static final boolean VECTORIZED = PLAIN_BECAUSE == null;

    private static String plainBecause() {
        if (!Boolean.parseBoolean(System.getProperty("stride.vector", "true"))) {
            return "-Dstride.vector=false";
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "add --add-modules jdk.incubator.vector to the JVM for SIMD";
        }
        String tiered = null;
        String stopLevel = null;
        try {
            HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            tiered = hotSpot.getVMOption("TieredCompilation").getValue();
            stopLevel = hotSpot.getVMOption("TieredStopAtLevel").getValue();
        } catch (RuntimeException | LinkageError notHotSpot) {
            // another JVM, or no jdk.management: assume its JIT optimises
        }
        return optimisingJit(System.getProperty("java.vm.info", ""), tiered, stopLevel) ? null
                : "the JIT stops before C2 (-Xint or -XX:TieredStopAtLevel < 4): the Vector API would run as boxed Java, "
                        + "10-100x slower than the plain loops";
    }

    /**
     * Whether HotSpot compiles hot code with C2, the tier that turns Vector API calls into SIMD instructions;
     * null options (not HotSpot) count as yes.
     */
    static boolean optimisingJit(String vmInfo, String tieredCompilation, String tieredStopAtLevel) {
        if (vmInfo.contains("interpreted mode")) {
            return false;
        }
        return tieredCompilation == null || tieredStopAtLevel == null || !Boolean.parseBoolean(tieredCompilation)
                || Integer.parseInt(tieredStopAtLevel) >= 4;
    }

    /** Floats per vector of {@link VectorFloatLoops}; 1 for the plain loops. */
    public static final int VECTOR_LANES = VECTORIZED ? VectorFloatLoops.LANES : 1;

    /** One line for diagnostics: which loops run, and how wide their vectors are. */
    public static String describe() {
        if (VECTORIZED) {
            return "Vector API, " + VECTOR_LANES + " floats per vector";
        }
        return "plain Java loops (" + PLAIN_BECAUSE + ")";
    }

    /** {@code sum_i a[from + i]}, {@code i < len}. */
    public static float sum(MemorySegment a, long from, int len) {
        return VECTORIZED ? VectorFloatLoops.sum(a, from, len) : ScalarFloatLoops.sum(a, from, len);
    }

    /** {@code sum_i a[from + i] * b[from + i]}. */
    public static float dot(MemorySegment a, MemorySegment b, long from, int len) {
        return VECTORIZED ? VectorFloatLoops.dot(a, b, from, len) : ScalarFloatLoops.dot(a, b, from, len);
    }

    /** {@code dst[from + i] = k * src[from + i] + g}; {@code dst} may be {@code src}. */
    public static void scaleShift(MemorySegment src, MemorySegment dst, long from, int len, float k, float g) {
        if (VECTORIZED) {
            VectorFloatLoops.scaleShift(src, dst, from, len, k, g);
        } else {
            ScalarFloatLoops.scaleShift(src, dst, from, len, k, g);
        }
    }

    // ---- channels-last (nhwc) blocks: {@code pixels} pixels {@code stride} floats apart, {@code len} channels each ----

    /** {@code acc[accFrom + i] = sum_p a[from + p * stride + i]}, {@code i < len}: per-channel sums over pixels. */
    public static void sumPixels(MemorySegment a, long from, int pixels, int stride, MemorySegment acc, long accFrom,
            int len) {
        dotPixels(a, null, from, pixels, stride, acc, accFrom, len);
    }

    /**
     * {@code acc[accFrom + i] = sum_p a[q] * b[q]}, {@code q = from + p * stride + i}: per-channel dot products
     * ({@code b} null: {@link #sumPixels}).
     */
    public static void dotPixels(MemorySegment a, MemorySegment b, long from, int pixels, int stride, MemorySegment acc,
            long accFrom, int len) {
        if (VECTORIZED) {
            VectorFloatLoops.sumPixels(a, b, from, pixels, stride, acc, accFrom, len);
        } else {
            ScalarFloatLoops.sumPixels(a, b, from, pixels, stride, acc, accFrom, len);
        }
    }

    /**
     * {@code dst[q] = s[sFrom + i] * a[q] + k * t[sFrom + i]}, {@code q = from + p * len + i}, for {@code pixels}
     * consecutive pixels of {@code len} channels: a per-channel scale and shift ({@code t} null: no shift);
     * {@code dst} may be {@code a}.
     */
    public static void scaleShiftPixels(MemorySegment a, MemorySegment dst, long from, int pixels, int len,
            MemorySegment s, MemorySegment t, long sFrom, float k) {
        if (VECTORIZED) {
            VectorFloatLoops.scaleShiftPixels(a, dst, from, pixels, len, s, t, sFrom, k);
        } else {
            ScalarFloatLoops.scaleShiftPixels(a, dst, from, pixels, len, s, t, sFrom, k);
        }
    }

    // ---- on Java arrays: the channels-last sampling kernels (deformable convolution, grid sampler) ----

    /** {@code y[yFrom + c] = v0 x[a0 + c] + v1 x[a1 + c] + v2 x[a2 + c] + v3 x[a3 + c]}: a bilinear sample of {@code len} channels. */
    public static void blend4(float[] x, int a0, int a1, int a2, int a3, float v0, float v1, float v2, float v3,
            float[] y, int yFrom, int len) {
        if (VECTORIZED) {
            VectorFloatLoops.blend4(x, a0, a1, a2, a3, v0, v1, v2, v3, y, yFrom, len);
        } else {
            ScalarFloatLoops.blend4(x, a0, a1, a2, a3, v0, v1, v2, v3, y, yFrom, len);
        }
    }

    /** {@code dx[a_k + c] += v_k d[dFrom + c]}, {@code k = 0..3}, in tap order (taps may share elements). */
    public static void scatter4(float[] d, int dFrom, int len, float v0, float v1, float v2, float v3, float[] dx,
            int a0, int a1, int a2, int a3) {
        if (VECTORIZED) {
            VectorFloatLoops.scatter4(d, dFrom, len, v0, v1, v2, v3, dx, a0, a1, a2, a3);
        } else {
            ScalarFloatLoops.scatter4(d, dFrom, len, v0, v1, v2, v3, dx, a0, a1, a2, a3);
        }
    }

    /** {@code sums[sFrom + k] = sum_c d[dFrom + c] x[a_k + c]}, {@code k = 0..3}. */
    public static void dot4(float[] d, int dFrom, int len, float[] x, int a0, int a1, int a2, int a3, float[] sums,
            int sFrom) {
        if (VECTORIZED) {
            VectorFloatLoops.dot4(d, dFrom, len, x, a0, a1, a2, a3, sums, sFrom);
        } else {
            ScalarFloatLoops.dot4(d, dFrom, len, x, a0, a1, a2, a3, sums, sFrom);
        }
    }

    /**
     * {@code out[outFrom + c * rows + r] = in[inFrom + r * cols + c]}: a {@code rows x cols} row-major block
     * transposed; in 8x8 register tiles when vectors hold 8 floats or more.
     */
    public static void transpose(float[] in, int inFrom, int rows, int cols, float[] out, int outFrom) {
        if (VECTOR_LANES >= 8) {
            VectorFloatLoops.transpose(in, inFrom, rows, cols, out, outFrom);
        } else {
            ScalarFloatLoops.transpose(in, inFrom, rows, cols, out, outFrom);
        }
    }
}
