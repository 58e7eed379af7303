package dev.stride.ops.stn;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.ops.stn.SamplerOptions.Padding;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PyTorch 1.13's {@code affine_grid} + {@code grid_sample} (written by {@code ops-custom/golden/stn.py}):
 * outputs, the grid, and the gradients of {@code sum(dst * diffDst)} for src, theta and the grid.
 */
class StnGoldenTest {

    private static final double ATOL = 2e-5;
    private static final double RTOL = 1e-4;

    private Npy.Floats read(String caseName, String tensor) throws Exception {
        return Npy.readFloats(Path.of(getClass().getResource("/golden/stn/" + caseName + "_" + tensor + ".npy").toURI()));
    }

    private Tensor load(Scope scope, String caseName, String tensor) throws Exception {
        Npy.Floats f = read(caseName, tensor);
        return Tensor.of(scope, tensor, f.data(), f.shape());
    }

    private void expect(String caseName, String tensor, Tensor got) throws Exception {
        Npy.Floats want = read(caseName, tensor);
        Check.close(caseName + " " + tensor, want.shape(), want.data(), got.toFloatArray(), ATOL, RTOL);
    }

    @ParameterizedTest
    @CsvSource({"affine_zeros, ZEROS, false", "affine_zeros_align, ZEROS, true", "affine_border, BORDER, false",
            "affine_border_align, BORDER, true", "affine_row, ZEROS, false", "affine_up, BORDER, false"})
    void affineGridAndSampleMatchPyTorch(String name, Padding padding, boolean align) throws Exception {
        SamplerOptions o = new SamplerOptions(padding, align);
        try (Scope scope = Scope.leakChecked(name)) {
            Tensor theta = load(scope, name, "theta");
            Tensor src = load(scope, name, "src");
            Tensor diffDst = load(scope, name, "diffDst");
            long[] s = src.dims();
            long[] d = diffDst.dims();
            Tensor dst = Tensor.zeros(scope, "dst", d);
            Tensor diffSrc = Tensor.zeros(scope, "diffSrc", s);
            Tensor diffTheta = Tensor.zeros(scope, "diffTheta", theta.dims());
            try (AffineSampler stn = AffineSampler.create(scope, name, s[0], s[1], s[2], s[3], d[2], d[3], o)) {
                stn.forward(theta, src, dst);
                expect(name, "grid", stn.grid());
                expect(name, "dst", dst);
                stn.backward(theta, src, diffDst, diffSrc, diffTheta);
                expect(name, "diffSrc", diffSrc);
                expect(name, "diffTheta", diffTheta);
            }
            // The stateless pieces one by one: the grid gradient, then theta's from it.
            Tensor grid = load(scope, name, "grid");
            Tensor diffGrid = Tensor.zeros(scope, "diffGrid", grid.dims());
            GridSampler.sampleBackward(src, grid, diffDst, null, diffGrid, o);
            expect(name, "diffGrid", diffGrid);
            AffineGrid.backward(diffGrid, diffTheta, align);
            expect(name, "diffTheta", diffTheta);
        }
    }

    @ParameterizedTest
    @CsvSource({"grid_zeros, ZEROS, false", "grid_border_align, BORDER, true"})
    void gridSampleMatchesPyTorch(String name, Padding padding, boolean align) throws Exception {
        SamplerOptions o = new SamplerOptions(padding, align);
        try (Scope scope = Scope.leakChecked(name)) {
            Tensor src = load(scope, name, "src");
            Tensor grid = load(scope, name, "grid");
            Tensor diffDst = load(scope, name, "diffDst");
            Tensor dst = Tensor.zeros(scope, "dst", diffDst.dims());
            Tensor diffSrc = Tensor.zeros(scope, "diffSrc", src.dims());
            Tensor diffGrid = Tensor.zeros(scope, "diffGrid", grid.dims());
            GridSampler.sample(src, grid, dst, o);
            expect(name, "dst", dst);
            GridSampler.sampleBackward(src, grid, diffDst, diffSrc, diffGrid, o);
            expect(name, "diffSrc", diffSrc);
            expect(name, "diffGrid", diffGrid);
        }
    }
}
