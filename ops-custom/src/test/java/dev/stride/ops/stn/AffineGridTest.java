package dev.stride.ops.stn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AffineGridTest {

    /** The identity grid is the base grid; hand-computed for both conventions, and a single point at 0. */
    @Test
    void identityGridIsTheBaseGrid() {
        try (Scope scope = Scope.leakChecked("base")) {
            Tensor theta = Tensor.of(scope, "theta", LocalizationHead.identityTheta(), 1, 2, 3);
            Tensor grid = Tensor.zeros(scope, "grid", 1, 1, 4, 2);
            // align_corners=False: pixel centres of 4 pixels spanning [-1, 1] edge to edge; one row -> y = 0.
            AffineGrid.forward(theta, grid, false);
            assertArrayEquals(new float[] {-0.75f, 0, -0.25f, 0, 0.25f, 0, 0.75f, 0}, grid.toFloatArray(), 1e-7f);
            // align_corners=True: the corner centres at -1 and +1.
            AffineGrid.forward(theta, grid, true);
            assertArrayEquals(new float[] {-1, 0, -1f / 3, 0, 1f / 3, 0, 1, 0}, grid.toFloatArray(), 1e-7f);
            // A translation adds (t02, t12) to every point; x and y are not swapped.
            Tensor shift = Tensor.of(scope, "shift", new float[] {1, 0, 0.5f, 0, 1, -0.25f}, 1, 2, 3);
            Tensor one = Tensor.zeros(scope, "one", 1, 1, 1, 2);
            AffineGrid.forward(shift, one, false);
            assertArrayEquals(new float[] {0.5f, -0.25f}, one.toFloatArray());
        }
    }

    /** Forward against the double reference; backward (linear in theta) against exact finite differences. */
    @ParameterizedTest
    @CsvSource({"1, 1, 1, false", "2, 3, 5, false", "2, 3, 5, true", "3, 7, 2, true", "1, 28, 28, false"})
    void forwardAndBackwardMatchTheReference(int n, int h2, int w2, boolean align) {
        SplittableRandom r = new SplittableRandom(n * 1000 + h2 * 10 + w2);
        double[] theta = Check.toDouble(StnReference.random(r, 6 * n, -1.5, 1.5));
        double[] dg = Check.toDouble(StnReference.random(r, n * h2 * w2 * 2, -1, 1));
        try (Scope scope = Scope.leakChecked("affine-grid")) {
            Tensor t = Tensor.of(scope, "theta", Check.toFloat(theta), n, 2, 3);
            Tensor grid = Tensor.zeros(scope, "grid", n, h2, w2, 2);
            Tensor diffGrid = Tensor.of(scope, "diffGrid", Check.toFloat(dg), n, h2, w2, 2);
            Tensor diffTheta = Tensor.zeros(scope, "diffTheta", n, 2, 3);
            int live = NativeResource.liveCount();
            AffineGrid.forward(t, grid, align);
            AffineGrid.backward(diffGrid, diffTheta, align);
            assertArrayEquals(new int[] {live}, new int[] {NativeResource.liveCount()});
            Check.close("grid", grid.dims(), StnReference.affineGrid(theta, n, h2, w2, align),
                    grid.toFloatArray(), 1e-6, 1e-6);
            double[] want = StnReference.numericGradient(th -> StnReference.affineGrid(th, n, h2, w2, align), theta, dg, 0.5);
            Check.close("diffTheta", diffTheta.dims(), want, diffTheta.toFloatArray(), 1e-5, 1e-5);
        }
    }
}
