package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.ExecArgs;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.norm.BatchNorm;
import dev.stride.norm.LayerNorm;
import dev.stride.testing.Check;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Cases computed by PyTorch 1.13 ({@code tests/golden/norm.py}): BatchNorm2d train step and eval, LayerNorm. */
class NormGoldenTest {

    private Npy.Floats load(String name) throws Exception {
        return Npy.readFloats(Path.of(getClass().getResource("/golden/norm/" + name + ".npy").toURI()));
    }

    @Test
    void batchNorm2dTrainingStepThenEvalMatchPyTorch() throws Exception {
        Npy.Floats x = load("bn_train_x");
        long[] dims = x.shape();
        int c = (int) dims[1];
        try (Scope scope = Scope.leakChecked("golden bn"); Stream s = Stream.create(scope)) {
            BatchNorm.Forward fwd = BatchNorm.Forward.create(scope, "bn", dims, BatchNorm.Params.defaults(), PropKind.TRAINING);
            BatchNorm.Backward bwd = BatchNorm.Backward.create(scope, "bn.bwd", fwd);
            Tensor src = Tensor.of(scope, "x", x.data(), dims);
            Tensor gamma = Tensor.of(scope, "gamma", load("bn_gamma").data(), c);
            Tensor beta = Tensor.of(scope, "beta", load("bn_beta").data(), c);
            Tensor mean = Tensor.zeros(scope, "mean", c);
            Tensor var = Tensor.zeros(scope, "var", c);
            Tensor y = Tensor.zeros(scope, "y", dims);
            Tensor rm = Tensor.of(scope, "running_mean", load("bn_running_mean_before").data(), c);
            Tensor rv = Tensor.of(scope, "running_var", load("bn_running_var_before").data(), c);
            ExecArgs args = fwd.bind(scope, src, gamma, beta, mean, var, y, null);
            fwd.execute(s, args);
            fwd.updateRunningStats(s, args, rm, rv);
            Tensor dy = Tensor.of(scope, "dy", load("bn_train_dy").data(), dims);
            Tensor dx = Tensor.zeros(scope, "dx", dims);
            Tensor dgamma = Tensor.zeros(scope, "dgamma", c);
            Tensor dbeta = Tensor.zeros(scope, "dbeta", c);
            bwd.execute(s, bwd.bind(scope, src, mean, var, gamma, null, dy, dx, dgamma, dbeta));
            s.await();
            Check.close("BatchNorm2d train y", dims, load("bn_train_y").data(), y.toFloatArray(), 1e-5, 1e-5);
            Check.close("running_mean after the step", null, load("bn_running_mean_after").data(), rm.toFloatArray(), 1e-6, 1e-6);
            Check.close("running_var after the step (unbiased)", null, load("bn_running_var_after").data(), rv.toFloatArray(), 1e-6, 1e-6);
            Check.close("x.grad", dims, load("bn_train_diff_x").data(), dx.toFloatArray(), 1e-5, 1e-4);
            Check.close("weight.grad", null, load("bn_train_diff_gamma").data(), dgamma.toFloatArray(), 1e-5, 1e-5);
            Check.close("bias.grad", null, load("bn_train_diff_beta").data(), dbeta.toFloatArray(), 1e-5, 1e-5);

            // eval(): the running statistics just updated, now inputs.
            Npy.Floats xe = load("bn_eval_x");
            BatchNorm.Forward inf = BatchNorm.Forward.create(scope, "bn.eval", xe.shape(), BatchNorm.Params.defaults(), PropKind.INFERENCE);
            Tensor ye = Tensor.zeros(scope, "ye", xe.shape());
            inf.execute(s, inf.bind(scope, Tensor.of(scope, "xe", xe.data(), xe.shape()), gamma, beta, rm, rv, ye, null));
            s.await();
            Check.close("BatchNorm2d eval y", xe.shape(), load("bn_eval_y").data(), ye.toFloatArray(), 1e-5, 1e-5);
        }
    }

    @Test
    void layerNormForwardAndGradientsMatchPyTorch() throws Exception {
        Npy.Floats x = load("ln_x");
        long[] dims = x.shape();
        assertArrayEquals(new long[] {2, 7, 16}, dims);
        int c = (int) dims[2];
        long[] stats = {dims[0], dims[1]};
        try (Scope scope = Scope.leakChecked("golden ln"); Stream s = Stream.create(scope)) {
            LayerNorm.Forward fwd = LayerNorm.Forward.create(scope, "ln", dims, LayerNorm.Params.defaults(), PropKind.TRAINING);
            LayerNorm.Backward bwd = LayerNorm.Backward.create(scope, "ln.bwd", fwd);
            Tensor src = Tensor.of(scope, "x", x.data(), dims);
            Tensor gamma = Tensor.of(scope, "gamma", load("ln_gamma").data(), c);
            Tensor beta = Tensor.of(scope, "beta", load("ln_beta").data(), c);
            Tensor mean = Tensor.zeros(scope, "mean", stats);
            Tensor var = Tensor.zeros(scope, "var", stats);
            Tensor y = Tensor.zeros(scope, "y", dims);
            fwd.execute(s, fwd.bind(scope, src, gamma, beta, mean, var, y));
            Tensor dx = Tensor.zeros(scope, "dx", dims);
            Tensor dgamma = Tensor.zeros(scope, "dgamma", c);
            Tensor dbeta = Tensor.zeros(scope, "dbeta", c);
            bwd.execute(s, bwd.bind(scope, src, mean, var, gamma, Tensor.of(scope, "dy", load("ln_dy").data(), dims), dx,
                    dgamma, dbeta));
            s.await();
            Check.close("LayerNorm y", dims, load("ln_y").data(), y.toFloatArray(), 1e-5, 1e-5);
            Check.close("x.grad", dims, load("ln_diff_x").data(), dx.toFloatArray(), 1e-5, 1e-4);
            Check.close("weight.grad", null, load("ln_diff_gamma").data(), dgamma.toFloatArray(), 1e-5, 1e-5);
            Check.close("bias.grad", null, load("ln_diff_beta").data(), dbeta.toFloatArray(), 1e-5, 1e-5);
        }
    }
}
