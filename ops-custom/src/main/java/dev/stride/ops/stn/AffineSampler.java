package dev.stride.ops.stn;

import dev.stride.core.Confinement;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.Arrays;

/**
 * The differentiable core of a spatial transformer: the affine grid generator followed by the bilinear
 * sampler, {@code dst = grid_sample(src, affine_grid(theta, [N, C, H2, W2]))} in PyTorch's words, with the
 * gradients for {@code src} and {@code theta}. Created once for its shapes; owns the sampling grid, its
 * gradient and the sampler's workspaces, so {@link #forward} and {@link #backward} allocate no native memory.
 *
 * <p>The localization network that predicts {@code theta} (and its last FC initialised to the identity,
 * see {@link LocalizationHead}) belongs to the layer built with the network builder; this object is what
 * that layer runs after it.
 *
 * <p><b>Shape</b>: theta {@code N x 2 x 3}; src {@code N x C x H x W}; dst {@code N x C x H2 x W2}; the grid
 * {@code N x H2 x W2 x 2}. All f32 in the plain row-major layout (see {@link GridSampler} for why).
 *
 * @see AffineGrid the grid formula and both {@code align_corners} conventions
 * @see GridSampler the sampling formula and the padding modes
 *
 * <p>Not thread-safe; confined to one thread at a time: a second thread that calls {@code forward} or
 * {@code backward} while another is inside gets an {@link IllegalStateException} naming both threads (its
 * workspaces hold one call's intermediates); give each thread its own. While a call runs, its tensors and the op
 * are marked in use, so closing them from another thread is refused instead of freeing memory under it.
 */
public final class AffineSampler extends NativeResource {

    /** One call at a time: the op's workspaces hold one call's intermediate results. */
    private final Confinement confinement = new Confinement();

    private final String name;
    private final Scope own;
    private final GridSampler sampler;
    private final Tensor grid;
    private final Tensor diffGrid;

    private AffineSampler(Scope scope, String name, long n, long c, long h, long w, long h2, long w2,
            SamplerOptions options) {
        super(scope);
        this.name = name;
        this.own = scope.child(name);
        try {
            this.sampler = GridSampler.create(own, name, n, c, h, w, h2, w2, options);
            this.grid = Tensor.zeros(own, name + ".grid", AffineGrid.gridDims(n, h2, w2));
            this.diffGrid = Tensor.zeros(own, name + ".diffGrid", AffineGrid.gridDims(n, h2, w2));
        } catch (RuntimeException e) {
            own.close();
            throw e;
        }
        register();
    }

    /**
     * Creates the transformer of {@code N x C x H x W} inputs into {@code N x C x H2 x W2} outputs.
     *
     * @param options padding and {@code align_corners}, used by both the generator and the sampler
     *                ({@link SamplerOptions#DEFAULT}: zeros, {@code align_corners=False}, as PyTorch)
     */
    public static AffineSampler create(Scope scope, String name, long n, long c, long h, long w, long h2, long w2,
            SamplerOptions options) {
        StnChecks.requireSizes(name, n, c, h, w, h2, w2);
        if (options == null) {
            throw new IllegalArgumentException(name + ": options must not be null (SamplerOptions.DEFAULT)");
        }
        return new AffineSampler(scope, name, n, c, h, w, h2, w2, options);
    }

    /**
     * One-off transform: creates an {@link AffineSampler} for these shapes ({@code H2 x W2} from
     * {@code dst}), runs it and frees it. Allocates its workspaces every call.
     */
    public static void transform(Tensor theta, Tensor src, Tensor dst, SamplerOptions options) {
        String where = "affine transform";
        StnChecks.requireRank(where, "src", src, "N, C, H, W", 4);
        StnChecks.requireRank(where, "dst", dst, "N, C, H2, W2", 4);
        long[] s = src.dims();
        long[] d = dst.dims();
        StnChecks.requireSizes(where, s[0], s[1], s[2], s[3], d[2], d[3]);
        checkForward(where, s, new long[] {s[0], s[1], d[2], d[3]}, theta, src, dst);
        try (Scope tmp = Scope.open(where)) {
            create(tmp, where, s[0], s[1], s[2], s[3], d[2], d[3], options).forward(theta, src, dst);
        }
    }

    private static void checkForward(String name, long[] srcDims, long[] dstDims, Tensor theta, Tensor src, Tensor dst) {
        StnChecks.require(name, "theta", theta, "N, 2, 3", AffineGrid.thetaDims(srcDims[0]), "");
        StnChecks.require(name, "src", src, "N, C, H, W", srcDims, "");
        StnChecks.require(name, "dst", dst, "N, C, H2, W2", dstDims, "");
        StnChecks.requireDisjoint(name, "dst", dst, "theta", theta);
        StnChecks.requireDisjoint(name, "dst", dst, "src", src);
    }

    public long[] thetaDims() {
        return AffineGrid.thetaDims(sampler.srcDims()[0]);
    }

    public long[] srcDims() {
        return sampler.srcDims();
    }

    public long[] dstDims() {
        return sampler.dstDims();
    }

    public SamplerOptions options() {
        return sampler.options();
    }

    /** The sampling grid {@code N x H2 x W2 x 2} of the last {@link #forward} or {@link #backward}; owned here. */
    public Tensor grid() {
        ensureOpen();
        return grid;
    }

    /** The sampler this transformer runs (e.g. to sample with a grid made elsewhere). */
    public GridSampler sampler() {
        ensureOpen();
        return sampler;
    }

    /** {@code dst = sample(src, affine_grid(theta))}; {@code dst} is overwritten. */
    public void forward(Tensor theta, Tensor src, Tensor dst) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, theta, src, dst);
            try {
                // The sampler checks src and dst again; check everything here so that nothing runs before that.
                checkForward(name, srcDims(), dstDims(), theta, src, dst);
                long[] g = grid.dims();
                AffineGrid.forwardKernel(theta.segment(), grid.segment(), (int) g[0], (int) g[1], (int) g[2],
                        options().alignCorners());
                sampler.forward(src, grid, dst);
            } finally {
                NativeResource.endUseAll(this, theta, src, dst);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    /**
     * Gradients for {@code src} and {@code theta} (both overwritten); either may be null when not wanted
     * (raw images need no {@code diffSrc}). The grid is recomputed from {@code theta}, so no state from the
     * forward call is relied on.
     */
    public void backward(Tensor theta, Tensor src, Tensor diffDst, Tensor diffSrc, Tensor diffTheta) {
        boolean entered = confinement.enter(this);
        try {
            ensureOpen();
            NativeResource.beginUseAll(name, this, theta, src, diffDst, diffSrc, diffTheta);
            try {
                StnChecks.require(name, "theta", theta, "N, 2, 3", thetaDims(), "");
                StnChecks.require(name, "src", src, "N, C, H, W", srcDims(), "");
                StnChecks.require(name, "diffDst", diffDst, "N, C, H2, W2", dstDims(), "");
                if (diffSrc == null && diffTheta == null) {
                    throw new IllegalArgumentException(name + ": backward with neither diffSrc nor diffTheta has nothing to compute");
                }
                if (diffSrc != null) {
                    StnChecks.require(name, "diffSrc", diffSrc, "N, C, H, W", srcDims(), "");
                    StnChecks.requireDisjoint(name, "diffSrc", diffSrc, "theta", theta);
                    StnChecks.requireDisjoint(name, "diffSrc", diffSrc, "src", src);
                    StnChecks.requireDisjoint(name, "diffSrc", diffSrc, "diffDst", diffDst);
                }
                if (diffTheta != null) {
                    StnChecks.require(name, "diffTheta", diffTheta, "N, 2, 3", thetaDims(), "");
                    StnChecks.requireDisjoint(name, "diffTheta", diffTheta, "theta", theta);
                    StnChecks.requireDisjoint(name, "diffTheta", diffTheta, "diffSrc", diffSrc);
                }
                long[] g = grid.dims();
                boolean align = options().alignCorners();
                AffineGrid.forwardKernel(theta.segment(), grid.segment(), (int) g[0], (int) g[1], (int) g[2], align);
                sampler.backward(src, grid, diffDst, diffSrc, diffTheta == null ? null : diffGrid);
                if (diffTheta != null) {
                    AffineGrid.backwardKernel(diffGrid.segment(), diffTheta.segment(), (int) g[0], (int) g[1], (int) g[2], align);
                }
            } finally {
                NativeResource.endUseAll(this, theta, src, diffDst, diffSrc, diffTheta);
            }
        } finally {
            confinement.exit(entered);
        }
    }

    @Override
    public String describe() {
        String opts = options().toString();
        return "AffineSampler '" + name + "' " + Arrays.toString(srcDims()) + " -> " + Arrays.toString(dstDims())
                + (opts.isEmpty() ? "" : ", " + opts);
    }

    /** 0: the grid and the workspaces are tensors in this object's own child scope and count there. */
    @Override
    public long nativeBytes() {
        return 0;
    }

    @Override
    protected void release() {
        own.close();
    }

    @Override
    public String toString() {
        return describe();
    }
}
