package dev.stride.ops.stn;

import dev.stride.core.NativeResource;
import dev.stride.core.Tensor;
import dev.stride.ops.Parallel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The affine grid generator of the spatial transformer: for every output pixel, where to sample the input,
 * in normalized coordinates (PyTorch's {@code torch.nn.functional.affine_grid} for 2D).
 *
 * <p>{@code grid[n, h, w] = theta[n] . (x_w, y_h, 1)^T}, i.e.
 * {@code grid[n,h,w,0] = t00 x_w + t01 y_h + t02} (the x, or column, coordinate) and
 * {@code grid[n,h,w,1] = t10 x_w + t11 y_h + t12} (y, the row), where {@code x_w} runs over {@code W2} points
 * of {@code [-1, 1]}: with {@code align_corners} {@code x_w = -1 + 2w/(W2-1)} (the corner pixels' centres),
 * without it {@code x_w = (2w + 1)/W2 - 1} (the pixel centres when {@code -1, +1} are the outer edges); a
 * single point sits at 0 in both conventions. The identity {@code theta = [[1,0,0],[0,1,0]]} therefore
 * samples every input pixel at its own centre when {@code H2 x W2 = H x W}.
 *
 * <p>Backward: the grid is linear in {@code theta}, so
 * {@code dtheta[n, i, :] = sum_{h,w} dgrid[n, h, w, i] * (x_w, y_h, 1)}.
 *
 * <p><b>Shape</b>: theta {@code N x 2 x 3}; grid {@code N x H2 x W2 x 2}; all plain row-major f32. No
 * workspace: the base grid is computed on the fly, so these functions never allocate native memory.
 *
 * <p>Thread-safe: stateless functions (calls at the same time must not write the same tensors); while a call runs
 * its tensors are marked in use, so closing them from another thread is refused.
 *
 * @see <a href="https://arxiv.org/abs/1506.02025">Jaderberg et al., Spatial Transformer Networks (2015)</a>
 */
public final class AffineGrid {
    private AffineGrid() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** {@code [N, 2, 3]}: the shape of {@code theta} for a batch of {@code n}. */
    public static long[] thetaDims(long n) {
        return new long[] {n, 2, 3};
    }

    /** {@code [N, H2, W2, 2]}: the shape of the sampling grid. */
    public static long[] gridDims(long n, long h2, long w2) {
        return new long[] {n, h2, w2, 2};
    }

    /**
     * Writes the sampling grid for {@code theta} into {@code grid}; the output size {@code H2 x W2} is
     * {@code grid}'s. Shapes are checked before any work.
     *
     * @param theta        {@code N x 2 x 3}
     * @param grid         {@code N x H2 x W2 x 2}, overwritten
     * @param alignCorners PyTorch's {@code align_corners} (its default is {@code false})
     */
    public static void forward(Tensor theta, Tensor grid, boolean alignCorners) {
        long[] g = checkPair("affine_grid", theta, "grid", grid);
        NativeResource.beginUseAll("affine_grid", theta, grid);
        try {
            forwardKernel(theta.segment(), grid.segment(), (int) g[0], (int) g[1], (int) g[2], alignCorners);
        } finally {
            NativeResource.endUseAll(theta, grid);
        }
    }

    /**
     * Writes {@code dtheta} from the gradient of the grid ({@code dtheta} is overwritten, not accumulated).
     *
     * @param diffGrid     {@code N x H2 x W2 x 2}
     * @param diffTheta    {@code N x 2 x 3}, overwritten
     * @param alignCorners the convention the forward used
     */
    public static void backward(Tensor diffGrid, Tensor diffTheta, boolean alignCorners) {
        long[] g = checkPair("affine_grid backward", diffTheta, "diffGrid", diffGrid);
        NativeResource.beginUseAll("affine_grid backward", diffGrid, diffTheta);
        try {
            backwardKernel(diffGrid.segment(), diffTheta.segment(), (int) g[0], (int) g[1], (int) g[2], alignCorners);
        } finally {
            NativeResource.endUseAll(diffGrid, diffTheta);
        }
    }

    /** Validates theta-like {@code [N, 2, 3]} and grid-like {@code [N, H2, W2, 2]}; returns the grid dims. */
    private static long[] checkPair(String where, Tensor theta, String gridRole, Tensor grid) {
        String thetaRole = gridRole.startsWith("diff") ? "diffTheta" : "theta";
        StnChecks.requireRank(where, thetaRole, theta, "N, 2, 3", 3);
        long n = theta.dims()[0];
        StnChecks.require(where, thetaRole, theta, "N, 2, 3", thetaDims(n), "");
        StnChecks.requireRank(where, gridRole, grid, "N, H2, W2, 2", 4);
        long[] gd = grid.dims();
        StnChecks.require(where, gridRole, grid, "N, H2, W2, 2", gridDims(n, gd[1], gd[2]),
                " (N = " + n + " from " + thetaRole + ")");
        StnChecks.requireSizes(where, n, 1, 1, 1, gd[1], gd[2]);
        StnChecks.requireDisjoint(where, thetaRole, theta, gridRole, grid);
        return gd;
    }

    /**
     * The {@code i}-th of {@code steps} base coordinates, computed in f32 the way PyTorch does
     * ({@code linspace(-1, 1, steps)}, scaled by {@code (steps-1)/steps} without {@code align_corners}), so
     * that sample points land on the same side of a pixel boundary as PyTorch's.
     */
    static float base(int i, int steps, boolean alignCorners) {
        if (steps <= 1) {
            return 0f;
        }
        float step = 2f / (steps - 1);
        // linspace fills the first half from the start and the second half from the end (symmetric rounding).
        float v = i < steps / 2 ? -1f + step * i : 1f - step * (steps - 1 - i);
        return alignCorners ? v : v * (steps - 1) / steps;
    }

    static void forwardKernel(MemorySegment theta, MemorySegment grid, int n, int h2, int w2, boolean align) {
        Parallel.forRange(n * h2, Math.max(1, 256 / w2), row -> {
            int b = row / h2;
            int h = row - b * h2;
            long t = 6L * b;
            float t00 = theta.getAtIndex(F, t), t01 = theta.getAtIndex(F, t + 1), t02 = theta.getAtIndex(F, t + 2);
            float t10 = theta.getAtIndex(F, t + 3), t11 = theta.getAtIndex(F, t + 4), t12 = theta.getAtIndex(F, t + 5);
            float y = base(h, h2, align);
            float cx = t01 * y + t02;
            float cy = t11 * y + t12;
            long o = 2L * row * w2;
            for (int w = 0; w < w2; w++) {
                float x = base(w, w2, align);
                grid.setAtIndex(F, o + 2L * w, t00 * x + cx);
                grid.setAtIndex(F, o + 2L * w + 1, t10 * x + cy);
            }
        });
    }

    static void backwardKernel(MemorySegment diffGrid, MemorySegment diffTheta, int n, int h2, int w2,
            boolean align) {
        Parallel.forRange(n, 1, b -> {
            // Sums over H2*W2 points: accumulate in double so the result does not depend on the grid size.
            double s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0;
            long o = 2L * b * h2 * w2;
            for (int h = 0; h < h2; h++) {
                double y = base(h, h2, align);
                double rx = 0, ry = 0, rx1 = 0, ry1 = 0;
                for (int w = 0; w < w2; w++) {
                    double x = base(w, w2, align);
                    double gx = diffGrid.getAtIndex(F, o);
                    double gy = diffGrid.getAtIndex(F, o + 1);
                    o += 2;
                    rx += gx * x;
                    ry += gy * x;
                    rx1 += gx;
                    ry1 += gy;
                }
                s00 += rx;
                s10 += ry;
                s01 += rx1 * y;
                s11 += ry1 * y;
                s02 += rx1;
                s12 += ry1;
            }
            long t = 6L * b;
            diffTheta.setAtIndex(F, t, (float) s00);
            diffTheta.setAtIndex(F, t + 1, (float) s01);
            diffTheta.setAtIndex(F, t + 2, (float) s02);
            diffTheta.setAtIndex(F, t + 3, (float) s10);
            diffTheta.setAtIndex(F, t + 4, (float) s11);
            diffTheta.setAtIndex(F, t + 5, (float) s12);
        });
    }
}
