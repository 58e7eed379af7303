package dev.stride.ops.se;

import dev.stride.core.DataType;
import dev.stride.core.Dnnl;
import dev.stride.core.ExecArgs;
import dev.stride.core.FormatTag;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Confinement;
import dev.stride.core.NativeResource;
import dev.stride.core.PostOps;
import dev.stride.core.PropKind;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Shapes;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.linear.InnerProduct;
import dev.stride.ops.DenseLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Squeeze-and-excitation block (Hu et al., <a href="https://arxiv.org/abs/1709.01507">arXiv:1709.01507</a>):
 * rescales every channel of a feature map by a gate computed from the map's own channel averages.
 *
 * <pre>
 *   z[n, c] = (1/HW) sum_hw u[n, c, h, w]                      squeeze (Java)
 *   a[n]    = relu(W1 z[n] + b1)                               FC1 + ReLU   (oneDNN inner product, fused post-op)
 *   s[n]    = sigmoid(W2 a[n] + b2)                            FC2 + sigmoid (oneDNN inner product, fused post-op)
 *   x[n, c, h, w] = s[n, c] * u[n, c, h, w]                    scale (Java)
 * </pre>
 * Backward, from {@code dx}: {@code ds = sum_hw dx * u}; through sigmoid, FC2, ReLU and FC1 (oneDNN eltwise
 * and inner-product backward) to {@code dW2, db2, dW1, db1} and {@code dz}; then
 * {@code du = s * dx + (1/HW) dz} (broadcast over the plane).
 *
 * <p><b>Shape</b>: input {@code u} and output {@code x}: {@code N x C x H x W}, in plain {@code nchw}
 * ({@link Layout#NCHW}, the default) or channels-last {@code nhwc} ({@link Layout#NHWC}); the Java kernels
 * index the bytes directly, so a blocked layout ({@code nChw16c}) must be reordered to one of these first.
 * {@code W1}: {@code C/r x C}, {@code b1}: {@code C/r}, {@code W2}: {@code C x C/r}, {@code b2}: {@code C}
 * (PyTorch's {@code nn.Linear} conventions); {@code 2 C^2/r + C/r + C} parameters. {@code C} must be divisible
 * by {@code r}.
 *
 * <p><b>Parameters</b>: initialised like PyTorch's {@code nn.Linear} (Kaiming-uniform with {@code a = sqrt(5)}):
 * weights and biases uniform in {@code [-1/sqrt(fan_in), 1/sqrt(fan_in)]}, {@code fan_in = C} for FC1 and
 * {@code C/r} for FC2, drawn from a {@link SplittableRandom} with the given seed (W1, b1, W2, b2 in turn).
 *
 * <p><b>Memory</b>: the block is created once for its shapes and owns every primitive, parameter, gradient and
 * workspace ({@code z}, {@code a}, {@code s} and their gradients, scratchpads); {@link #forward} and
 * {@link #backward} allocate no native memory. {@link #backward} overwrites the parameter gradients
 * ({@link #diffWeights1()} ...), like oneDNN's backward primitives; it needs the {@code src} the forward saw,
 * and the forward's saved {@code z}, {@code a}, {@code s}, so the two alternate.
 *
 * <p>In a network: {@link dev.stride.ops.layers.SqueezeExcitationLayer}.
 *
 * <p>Not thread-safe; confined to one thread at a time: a second thread that calls {@code forward} or
 * {@code backward} while another is inside gets an {@link IllegalStateException} naming both threads (its
 * workspaces hold one call's intermediates); give each thread its own. While a call runs, its tensors and the op
 * are marked in use, so closing them from another thread is refused instead of freeing memory under it.
 */
public final class SqueezeExcitation extends NativeResource {

    /** One call at a time: the op's workspaces hold one call's intermediate results. */
    private final Confinement confinement = new Confinement();

    /** The plain layouts the Java kernels read and write. */
    public enum Layout {
        /** {@code N x C x H x W} row-major: each channel's plane is contiguous. */
        NCHW(FormatTag.NCHW, "abcd"),
        /** Channels-last {@code N x H x W x C}: each pixel's channels are contiguous. */
        NHWC(FormatTag.NHWC, "acdb");

        private final FormatTag tag;
        private final String label;

        Layout(FormatTag tag, String label) {
            this.tag = tag;
            this.label = label;
        }

        public FormatTag tag() {
            return tag;
        }

        /** oneDNN's spelling of this layout ({@link MemoryDesc#layout()}). */
        public String oneDnnLabel() {
            return label;
        }
    }

    /** The block's shapes, validated in Java before any native call. */
    public record Geometry(long n, long c, long h, long w, long r) {

        /**
         * Validates a block over {@code N x C x H x W} inputs with reduction ratio {@code r}: positive dims, and
         * {@code C} divisible by {@code r} (the excitation has {@code C/r} hidden units).
         */
        public static Geometry of(String layer, long n, long c, long h, long w, long r) {
            long[] dims = {n, c, h, w};
            Shapes.requireDims(layer, "input", dims, new String[] {"N", "C", "H", "W"}, null);
            if (r < 1) {
                throw new IllegalArgumentException(layer + ": reduction ratio r must be >= 1, got r=" + r);
            }
            if (c % r != 0) {
                throw new IllegalArgumentException(layer + ": channels C=" + c + " are not divisible by the reduction ratio r="
                        + r + " (C/r = " + c + "/" + r + " = " + String.format(java.util.Locale.ROOT, "%.3g", (double) c / r)
                        + " hidden units; need C % r == 0)");
            }
            Shapes.requireDims(layer, "excitation weights", new long[] {c / r, c}, new String[] {"C/r", "C"},
                    "channels C and reduction ratio r");
            return new Geometry(n, c, h, w, r);
        }

        /** {@code C/r}: the excitation's hidden units. */
        public long hidden() {
            return c / r;
        }

        /** {@code H*W}. */
        public long plane() {
            return h * w;
        }

        /** {@code [N, C, H, W]}. */
        public long[] srcDims() {
            return new long[] {n, c, h, w};
        }

        /** {@code 2 C^2/r + C/r + C}. */
        public long parameterCount() {
            return 2 * c * hidden() + hidden() + c;
        }
    }

    private final String name;
    private final Geometry g;
    private final Layout layout;
    private final Scope own;
    private final MemoryDesc srcDesc;

    private final Tensor w1, b1, w2, b2;
    private final Tensor dw1, db1, dw2, db2;
    /** Saved by the forward for the backward: z (N x C), a (N x C/r, after ReLU), s (N x C, after sigmoid). */
    private final Tensor z, a, s;
    /** Gradients along the excitation path. */
    private final Tensor ds, dt, da, dh, dz;

    private final InnerProduct.Forward fc1, fc2;
    private final ExecArgs fc1Args, fc2Args;
    private final Eltwise.Backward sigmoidBackward, reluBackward;
    private final ExecArgs sigmoidBackwardArgs, reluBackwardArgs;
    private final InnerProduct.BackwardWeights fc1Weights, fc2Weights;
    private final ExecArgs fc1WeightsArgs, fc2WeightsArgs;
    private final InnerProduct.BackwardData fc1Data, fc2Data;
    private final ExecArgs fc1DataArgs, fc2DataArgs;
    /** Layout conversions, only where oneDNN picked different weight layouts for the passes (none seen so far). */
    private final Copy w1ForData, w2ForData, dw1Out, dw2Out;

    /** A bound reorder run every step (weights into a backward's layout, or gradients into the weights' layout). */
    private record Copy(Reorder reorder, ExecArgs args, Tensor staged) {
        void run(Stream stream) {
            reorder.execute(stream, args);
        }
    }

    private SqueezeExcitation(Scope scope, String name, Geometry g, Layout layout, long seed) {
        super(scope);
        this.name = name;
        this.g = g;
        this.layout = layout;
        this.own = scope.child(name);
        try {
            long n = g.n();
            long c = g.c();
            long hid = g.hidden();
            this.srcDesc = MemoryDesc.of(own, DataType.F32, layout.tag(), g.srcDims());

            // The activations fuse into the FCs as post-ops; the backward takes each derivative from the fused
            // output (relu' = [a > 0], sigmoid' = s(1 - s)), hence the *_USE_DST algorithms below.
            try (Scope tmp = Scope.open(name + ".create")) {
                fc1 = InnerProduct.Forward.create(own, name + ".fc1", new long[] {n, c}, hid, true, PropKind.TRAINING,
                        PostOps.create(tmp).eltwise(Eltwise.Algorithm.RELU, 0f, 0f));
                fc2 = InnerProduct.Forward.create(own, name + ".fc2", new long[] {n, hid}, c, true, PropKind.TRAINING,
                        PostOps.create(tmp).eltwise(Eltwise.Algorithm.LOGISTIC, 0f, 0f));
            }
            fc1Weights = InnerProduct.BackwardWeights.create(own, name + ".fc1.bw", fc1);
            fc2Weights = InnerProduct.BackwardWeights.create(own, name + ".fc2.bw", fc2);
            fc1Data = InnerProduct.BackwardData.create(own, name + ".fc1.bd", fc1);
            fc2Data = InnerProduct.BackwardData.create(own, name + ".fc2.bd", fc2);

            // The Java kernels read z, s, dz and write z, ds as plain N x C rows: oneDNN picks the plain 'ab' for
            // 2D inner-product activations, and binding checks it (a different choice fails here, at creation).
            MemoryDesc nc = MemoryDesc.plain(own, n, c);
            z = Tensor.allocate(own, name + ".z", nc);
            s = Tensor.allocate(own, name + ".s", nc);
            ds = Tensor.allocate(own, name + ".ds", nc);
            dt = Tensor.allocate(own, name + ".dt", nc);
            dz = Tensor.allocate(own, name + ".dz", nc);
            a = Tensor.allocate(own, name + ".a", fc1.dstDesc());
            da = Tensor.allocate(own, name + ".da", fc2Data.diffSrcDesc());
            dh = Tensor.allocate(own, name + ".dh", fc1.dstDesc());

            w1 = Tensor.allocate(own, name + ".weight1", fc1.weightsDesc());
            b1 = Tensor.allocate(own, name + ".bias1", fc1.biasDesc());
            w2 = Tensor.allocate(own, name + ".weight2", fc2.weightsDesc());
            b2 = Tensor.allocate(own, name + ".bias2", fc2.biasDesc());
            dw1 = Tensor.allocate(own, name + ".weight1.grad", fc1.weightsDesc());
            db1 = Tensor.allocate(own, name + ".bias1.grad", fc1Weights.diffBiasDesc());
            dw2 = Tensor.allocate(own, name + ".weight2.grad", fc2.weightsDesc());
            db2 = Tensor.allocate(own, name + ".bias2.grad", fc2Weights.diffBiasDesc());

            fc1Args = fc1.bind(own, z, w1, b1, a);
            fc2Args = fc2.bind(own, a, w2, b2, s);

            Eltwise.Forward sigmoidHint = Eltwise.Forward.create(own, name + ".sigmoid", s.desc(),
                    Eltwise.Algorithm.LOGISTIC_USE_DST, 0f, 0f, PropKind.TRAINING);
            sigmoidBackward = Eltwise.Backward.create(own, name + ".sigmoid.bwd", sigmoidHint);
            sigmoidBackwardArgs = sigmoidBackward.bind(own, s, ds, dt);
            Eltwise.Forward reluHint = Eltwise.Forward.create(own, name + ".relu", a.desc(),
                    Eltwise.Algorithm.RELU_USE_DST, 0f, 0f, PropKind.TRAINING);
            reluBackward = Eltwise.Backward.create(own, name + ".relu.bwd", reluHint);
            reluBackwardArgs = reluBackward.bind(own, a, da, dh);

            dw2Out = gradientCopy(fc2Weights, dw2);
            dw1Out = gradientCopy(fc1Weights, dw1);
            fc2WeightsArgs = fc2Weights.bind(own, a, dt, dw2Out == null ? dw2 : dw2Out.staged(), db2);
            fc1WeightsArgs = fc1Weights.bind(own, z, dh, dw1Out == null ? dw1 : dw1Out.staged(), db1);
            w2ForData = weightsCopy(fc2Data, w2);
            w1ForData = weightsCopy(fc1Data, w1);
            fc2DataArgs = fc2Data.bind(own, dt, w2ForData == null ? w2 : w2ForData.staged(), da);
            fc1DataArgs = fc1Data.bind(own, dh, w1ForData == null ? w1 : w1ForData.staged(), dz);

            initialise(seed);
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
        register();
    }

    /**
     * Creates a block for {@code N x C x H x W} inputs in {@code nchw} with reduction ratio {@code r}, parameters
     * initialised from seed 0. Shapes are checked before any native call.
     */
    public static SqueezeExcitation create(Scope scope, String name, long n, long c, long h, long w, long r) {
        return create(scope, name, n, c, h, w, r, Layout.NCHW, 0L);
    }

    /** As {@link #create(Scope, String, long, long, long, long, long)}, for inputs in {@code layout}, from {@code seed}. */
    public static SqueezeExcitation create(Scope scope, String name, long n, long c, long h, long w, long r,
            Layout layout, long seed) {
        Geometry g = Geometry.of(name, n, c, h, w, r);
        if (layout == null) {
            throw new IllegalArgumentException(name + ": layout must be NCHW or NHWC, got null");
        }
        return new SqueezeExcitation(scope, name, g, layout, seed);
    }

    /** When oneDNN wants the backward-data weights in another layout than the forward's: a per-step copy. */
    private Copy weightsCopy(InnerProduct.BackwardData bd, Tensor weights) {
        if (bd.weightsDesc().sameAs(weights.desc())) {
            return null;
        }
        Tensor t = Tensor.allocate(own, weights.name() + ".for-backward-data", bd.weightsDesc());
        Reorder r = Reorder.create(own, weights.desc(), t.desc());
        return new Copy(r, r.bind(own, weights, t), t);
    }

    /** When oneDNN writes weight gradients in another layout than the weights': a per-step copy back. */
    private Copy gradientCopy(InnerProduct.BackwardWeights bw, Tensor grad) {
        if (bw.diffWeightsDesc().sameAs(grad.desc())) {
            return null;
        }
        Tensor t = Tensor.allocate(own, grad.name() + ".as-computed", bw.diffWeightsDesc());
        Reorder r = Reorder.create(own, t.desc(), grad.desc());
        return new Copy(r, r.bind(own, t, grad), t);
    }

    /** PyTorch's {@code nn.Linear.reset_parameters}: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias. */
    private void initialise(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int c = (int) g.c();
        int hid = (int) g.hidden();
        float[] w1v = uniform(rnd, hid * c, 1 / Math.sqrt(c));
        float[] b1v = uniform(rnd, hid, 1 / Math.sqrt(c));
        float[] w2v = uniform(rnd, c * hid, 1 / Math.sqrt(hid));
        float[] b2v = uniform(rnd, c, 1 / Math.sqrt(hid));
        setParameters(w1v, b1v, w2v, b2v);
    }

    private static float[] uniform(SplittableRandom rnd, int count, double bound) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) rnd.nextDouble(-bound, bound);
        }
        return v;
    }

    /**
     * Replaces the parameters with values in PyTorch's layout: {@code w1} {@code C/r x C} row-major, {@code b1}
     * {@code C/r}, {@code w2} {@code C x C/r}, {@code b2} {@code C}.
     */
    public void setParameters(float[] w1v, float[] b1v, float[] w2v, float[] b2v) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this);
            try {
                long c = g.c();
                long hid = g.hidden();
                requireLength("weight1", w1v, hid * c, "C/r x C = " + hid + " x " + c);
                requireLength("bias1", b1v, hid, "C/r = " + hid);
                requireLength("weight2", w2v, c * hid, "C x C/r = " + c + " x " + hid);
                requireLength("bias2", b2v, c, "C = " + c);
                w1.copyFrom(w1v);
                b1.copyFrom(b1v);
                w2.copyFrom(w2v);
                b2.copyFrom(b2v);
            } finally {
                NativeResource.endUseAll(this);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    private void requireLength(String what, float[] v, long want, String shape) {
        if (v == null || v.length != want) {
            throw new IllegalArgumentException(name + ": " + what + " must have " + shape + " = " + want + " values, got "
                    + (v == null ? "null" : v.length));
        }
    }

    /**
     * {@code dst = sigmoid(W2 relu(W1 mean_hw(src) + b1) + b2) * src} (per channel). {@code src} and {@code dst}
     * are {@code N x C x H x W} in this block's layout; {@code dst} may be {@code src} (in place) when no backward
     * follows. Keeps {@code z}, {@code a} and {@code s} for {@link #backward}. Allocates no native memory.
     */
    public void forward(Stream stream, Tensor src, Tensor dst) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, src, dst);
            try {
                requireActivation(src, "src");
                requireActivation(dst, "dst");
                int n = (int) g.n();
                int c = (int) g.c();
                int hw = (int) g.plane();
                SeKernels.squeeze(layout, src.segment(), z.segment(), n, c, hw);
                int threads = fcThreads();
                try {
                    fc1.execute(stream, fc1Args);
                    fc2.execute(stream, fc2Args);
                    stream.await();
                } finally {
                    restoreThreads(threads);
                }
                SeKernels.scale(layout, src.segment(), s.segment(), dst.segment(), n, c, hw);
            } finally {
                NativeResource.endUseAll(this, src, dst);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /**
     * From {@code diffDst} ({@code dx}), writes {@code diffSrc} ({@code du}) and overwrites the four parameter
     * gradients. {@code src} must be the input of the last {@link #forward}; {@code diffSrc} may be
     * {@code diffDst} (in place). Allocates no native memory.
     */
    public void backward(Stream stream, Tensor src, Tensor diffDst, Tensor diffSrc) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, src, diffDst, diffSrc);
            try {
                requireActivation(src, "src");
                requireActivation(diffDst, "diff_dst");
                requireActivation(diffSrc, "diff_src");
                int n = (int) g.n();
                int c = (int) g.c();
                int hw = (int) g.plane();
                SeKernels.scaleBackward(layout, src.segment(), diffDst.segment(), ds.segment(), n, c, hw);
                int threads = fcThreads();
                try {
                    sigmoidBackward.execute(stream, sigmoidBackwardArgs);
                    fc2Weights.execute(stream, fc2WeightsArgs);
                    if (dw2Out != null) {
                        dw2Out.run(stream);
                    }
                    if (w2ForData != null) {
                        w2ForData.run(stream);
                    }
                    fc2Data.execute(stream, fc2DataArgs);
                    reluBackward.execute(stream, reluBackwardArgs);
                    fc1Weights.execute(stream, fc1WeightsArgs);
                    if (dw1Out != null) {
                        dw1Out.run(stream);
                    }
                    if (w1ForData != null) {
                        w1ForData.run(stream);
                    }
                    fc1Data.execute(stream, fc1DataArgs);
                    stream.await();
                } finally {
                    restoreThreads(threads);
                }
                SeKernels.inputBackward(layout, diffDst.segment(), s.segment(), dz.segment(), diffSrc.segment(), n, c, hw);
            } finally {
                NativeResource.endUseAll(this, src, diffDst, diffSrc);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /** FC work (multiply-adds of one pass over both FCs) below which the FCs run on the calling thread alone. */
    private static final long SINGLE_THREAD_FC_MACS = 1L << 20;

    /**
     * Before the FCs and their gradients: the FCs are tiny ({@code N x C x C/r}), so on one thread they take
     * microseconds, while waking oneDNN's OpenMP team costs more and leaves its threads spin-waiting on the
     * cores the Java kernel after them needs. So small FCs run with one OpenMP thread (a per-calling-thread
     * setting, restored by {@link #restoreThreads}). Returns the thread count to restore, or 0 to change nothing.
     */
    private int fcThreads() {
        if (g.n() * g.c() * g.hidden() >= SINGLE_THREAD_FC_MACS) {
            return 0;
        }
        int threads = Dnnl.threads();
        if (threads > 1) {
            Dnnl.setThreads(1);
        }
        return threads;
    }

    private static void restoreThreads(int threads) {
        if (threads > 1) {
            Dnnl.setThreads(threads);
        }
    }

    private void requireActivation(Tensor t, String what) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": no tensor given for " + what);
        }
        if (!Arrays.equals(t.dims(), g.srcDims()) || !DenseLayout.isF32(t.desc(), layout.oneDnnLabel())) {
            throw new IllegalArgumentException(name + ": " + what + " must be " + srcDesc.shapeString() + " (N x C x H x W, "
                    + layout + "), got tensor '" + t.name() + "' " + t.desc().shapeString());
        }
    }

    public String name() {
        return name;
    }

    public Geometry geometry() {
        return g;
    }

    public Layout layout() {
        return layout;
    }

    /** The layout {@code src}, {@code dst} and their gradients must have. */
    public MemoryDesc srcDesc() {
        ensureOpen();
        return srcDesc;
    }

    /** {@code W1}, {@code C/r x C}. */
    public Tensor weights1() {
        ensureOpen();
        return w1;
    }

    public Tensor bias1() {
        ensureOpen();
        return b1;
    }

    /** {@code W2}, {@code C x C/r}. */
    public Tensor weights2() {
        ensureOpen();
        return w2;
    }

    public Tensor bias2() {
        ensureOpen();
        return b2;
    }

    public Tensor diffWeights1() {
        ensureOpen();
        return dw1;
    }

    public Tensor diffBias1() {
        ensureOpen();
        return db1;
    }

    public Tensor diffWeights2() {
        ensureOpen();
        return dw2;
    }

    public Tensor diffBias2() {
        ensureOpen();
        return db2;
    }

    /** The squeeze {@code z}, {@code N x C}, from the last forward. */
    public Tensor squeezed() {
        ensureOpen();
        return z;
    }

    /** The hidden activations {@code a = relu(W1 z + b1)}, {@code N x C/r}, from the last forward. */
    public Tensor hidden() {
        ensureOpen();
        return a;
    }

    /** The channel gates {@code s}, {@code N x C}, from the last forward. */
    public Tensor excitation() {
        ensureOpen();
        return s;
    }

    @Override
    public String describe() {
        return "SqueezeExcitation " + name + " " + Arrays.toString(g.srcDims()) + " " + layout + " r=" + g.r();
    }

    @Override
    public String toString() {
        return "SqueezeExcitation(" + g.c() + ", r=" + g.r() + (layout == Layout.NCHW ? "" : ", " + layout) + ")";
    }

    @Override
    public long nativeBytes() {
        // What the block holds is registered in its own child scope, which the owner's scope already counts.
        return 0;
    }

    @Override
    protected void release() {
        own.close();
    }
}
