package dev.stride.nn.layers;

import dev.stride.core.Tensor;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import dev.stride.nn.Layer;
import dev.stride.nn.Shape;
import java.util.List;

/**
 * Dropout: in training, zeroes each value with probability {@code p} and scales the rest by {@code 1/(1-p)}.
 *
 * <p>Immutable: a layer description, safe to share between networks and threads.
 */
public record DropoutLayer(double p) implements Layer {

    public DropoutLayer {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
    }

    @Override
    public String kind() {
        return "dropout";
    }

    @Override
    public String settings() {
        return "p=" + p;
    }

    @Override
    public Shape outputShape(String name, List<Shape> in) {
        return in.getFirst();
    }

    /**
     * Inference: the identity (the output is the input; nothing runs). Training: a Java kernel draws a new
     * mask per step into a plan-owned buffer (values {@code 0} or {@code 1/(1-p)}), multiplies, and the
     * backward multiplies the gradient by the same mask. Works on any layout: padding stays zero.
     */
    @Override
    public LayerOp plan(PlanContext ctx) {
        Tensor src = ctx.input();
        if (!ctx.training() || p == 0) {
            Tensor view = Tensor.wrap(ctx.scope(), ctx.name() + ".out", src.desc(), src.segment());
            return new SimpleOp(view, () -> { }, "identity") {
                @Override
                protected void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps) {
                    steps.add(ctx.reorder(diffOutput, diffInput));
                }
            };
        }
        Tensor dst = ctx.output(src.desc());
        Tensor mask = ctx.buffer("mask", src.desc());
        float keep = (float) (1 / (1 - p));
        long threshold = (long) (p * (1L << 24));
        // The mask's random stream is part of the plan: seeded from the layer name, reproducible run to run.
        long[] state = {0x9E3779B97F4A7C15L ^ ctx.name().hashCode()};
        Runnable forward = () -> {
            ctx.await();
            MemorySegment x = src.segment();
            MemorySegment y = dst.segment();
            MemorySegment m = mask.segment();
            long n = x.byteSize() / Float.BYTES;
            long s = state[0];
            for (long i = 0; i < n; i++) {
                s += 0x9E3779B97F4A7C15L; // SplitMix64
                long z = s;
                z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
                z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
                z ^= z >>> 31;
                float f = (z >>> 40) < threshold ? 0f : keep;
                m.setAtIndex(ValueLayout.JAVA_FLOAT, i, f);
                y.setAtIndex(ValueLayout.JAVA_FLOAT, i, f * x.getAtIndex(ValueLayout.JAVA_FLOAT, i));
            }
            state[0] = s;
        };
        return new SimpleOp(dst, forward, "dropout p=" + p + " (Java kernel)") {
            @Override
            protected void planBackward(Tensor diffOutput, Tensor diffInput, List<Runnable> steps) {
                steps.add(() -> {
                    ctx.await();
                    MemorySegment d = diffOutput.segment();
                    MemorySegment g = diffInput.segment();
                    MemorySegment m = mask.segment();
                    long n = d.byteSize() / Float.BYTES;
                    for (long i = 0; i < n; i++) {
                        g.setAtIndex(ValueLayout.JAVA_FLOAT, i,
                                m.getAtIndex(ValueLayout.JAVA_FLOAT, i) * d.getAtIndex(ValueLayout.JAVA_FLOAT, i));
                    }
                });
            }
        };
    }
}
