package dev.stride.tests;

import dev.stride.core.DataType;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.norm.LayerNorm;
import dev.stride.softmax.Softmax;
import dev.stride.tensor.Layouts;
import java.util.function.Consumer;

/**
 * Run in a child JVM by {@link SizeLimitsTest}: tries each size oneDNN mishandles (crashes, or a failure
 * that makes every later JIT primitive fail) and checks it is refused with the right limit named; after
 * each, small primitives must still create and compute what naive loops compute. Exits non-zero on failure.
 */
public final class SizeLimitsChild {
    private SizeLimitsChild() {}

    private record Config(String label, String limit, Consumer<Scope> attempt) {}

    public static void main(String[] args) {
        long m = MemoryDesc.MAX_DIM;
        Config[] configs = {
            new Config("softmax [2, 2^29] over axis 0", "MAX_AXIS_STEP_BYTES",
                    s -> softmax(s, MemoryDesc.plain(s, 2, 1L << 29), 0)),
            new Config("softmax aBcd16b [1, 32, 2^21, 16] over axis 1", "MAX_AXIS_STEP_BYTES",
                    s -> softmax(s, MemoryDesc.of(s, DataType.F32, FormatTag.ABCD16B, 1, 32, 1L << 21, 16), 1)),
            new Config("softmax [2^31, 2] over axis 0", "MAX_DIM", s -> softmax(s, MemoryDesc.plain(s, m + 1, 2), 0)),
            new Config("layer norm [1, 2^29]", "MAX_ROW_BYTES", s -> layerNorm(s, 1, 1L << 29)),
            new Config("layer norm [1, 2^31 - 1]", "MAX_ROW_BYTES", s -> layerNorm(s, 1, m)),
            new Config("layer norm [2, 2^31 - 1]", "MAX_ELEMENTS", s -> layerNorm(s, 2, m)),
            new Config("zeros [2^61]", "MAX_DIM", s -> Tensor.zeros(s, "t", 1L << 61)),
            new Config("strides [6, 0, 1]", "stride 0",
                    s -> Layouts.strided(s, new long[] {1, 6, 1}, new long[] {6, 0, 1})),
        };
        for (Config c : configs) {
            try (Scope s = Scope.open(c.label())) {
                c.attempt().accept(s);
                fail(c.label() + " was not refused");
            } catch (IllegalArgumentException e) {
                if (!e.getMessage().contains(c.limit())) {
                    fail(c.label() + ": the message does not name " + c.limit() + ": " + e.getMessage());
                }
            }
            stillWorks(c.label());
        }
        // The largest step probed to work is allowed, and leaves the process working too.
        try (Scope s = Scope.open("edge")) {
            softmax(s, MemoryDesc.plain(s, 2, 1L << 28), 0);
        }
        stillWorks("softmax [2, 2^28] over axis 0");
        System.out.println("SIZE LIMITS OK " + configs.length);
    }

    private static void softmax(Scope s, MemoryDesc src, int axis) {
        Softmax.Forward.create(s, "sm", src, Softmax.Algorithm.ACCURATE, axis, PropKind.INFERENCE);
    }

    private static void layerNorm(Scope s, long rows, long c) {
        LayerNorm.Forward.create(s, "ln", new long[] {rows, c}, LayerNorm.Params.defaults().affine(false), PropKind.INFERENCE);
    }

    /** relu, softmax over a non-last axis and layer norm against naive loops. */
    private static void stillWorks(String after) {
        try (Scope s = Scope.open("check"); Stream st = Stream.create(s)) {
            float[] x = new float[3 * 5];
            for (int i = 0; i < x.length; i++) {
                x[i] = (i * 7 % 11) - 5;
            }
            Tensor src = Tensor.of(s, "x", x, 3, 5);

            var relu = Eltwise.Forward.create(s, "relu", src.desc(), Eltwise.Algorithm.RELU, 0, 0, PropKind.INFERENCE);
            Tensor y = Tensor.zeros(s, "y", 3, 5);
            relu.execute(st, relu.bind(s, src, y));
            var sm = Softmax.Forward.create(s, "sm", src.desc(), Softmax.Algorithm.ACCURATE, 0, PropKind.INFERENCE);
            Tensor p = Tensor.zeros(s, "p", 3, 5);
            sm.execute(st, sm.bind(s, src, p));
            var ln = LayerNorm.Forward.create(s, "ln", new long[] {3, 5}, LayerNorm.Params.defaults().affine(false),
                    PropKind.INFERENCE);
            Tensor n = Tensor.zeros(s, "n", 3, 5);
            ln.execute(st, ln.bind(s, src, null, null, null, null, n));
            st.await();

            float[] yr = y.toFloatArray(), pr = p.toFloatArray(), nr = n.toFloatArray();
            for (int r = 0; r < 3; r++) {
                double mean = 0, var = 0;
                for (int c = 0; c < 5; c++) {
                    mean += x[r * 5 + c] / 5.0;
                }
                for (int c = 0; c < 5; c++) {
                    var += Math.pow(x[r * 5 + c] - mean, 2) / 5.0;
                }
                for (int c = 0; c < 5; c++) {
                    int i = r * 5 + c;
                    double colMax = Math.max(x[c], Math.max(x[5 + c], x[10 + c]));
                    double sum = Math.exp(x[c] - colMax) + Math.exp(x[5 + c] - colMax) + Math.exp(x[10 + c] - colMax);
                    near(after, "relu", i, Math.max(0, x[i]), yr[i]);
                    near(after, "softmax", i, Math.exp(x[i] - colMax) / sum, pr[i]);
                    near(after, "layer norm", i, (x[i] - mean) / Math.sqrt(var + LayerNorm.DEFAULT_EPSILON), nr[i]);
                }
            }
        } catch (RuntimeException e) {
            e.printStackTrace();
            fail("after " + after + ", small primitives no longer work: " + e);
        }
    }

    private static void near(String after, String what, int i, double want, float got) {
        if (Math.abs(want - got) > 1e-5 * Math.max(1, Math.abs(want))) {
            fail("after " + after + ": " + what + " element " + i + " is " + got + ", expected " + want);
        }
    }

    private static void fail(String message) {
        System.out.println("FAILED " + message);
        System.exit(1);
    }
}
