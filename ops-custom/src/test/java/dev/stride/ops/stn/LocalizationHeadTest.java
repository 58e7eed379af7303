package dev.stride.ops.stn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.linear.InnerProduct;
import dev.stride.testing.Check;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The pieces the SpatialTransformer layer (network builder, issue 5) will use: a localization FC initialised
 * to the identity outputs the identity theta for any input, its output is read as theta without a copy, and
 * the transformer then returns its input (the state an STN starts training from).
 */
class LocalizationHeadTest {

    @Test
    void identityInitialisedFcMakesTheTransformerAnIdentity() {
        int n = 3, c = 2, h = 6, w = 5, features = 4 * 3 * 3;
        SplittableRandom r = new SplittableRandom(5);
        try (Scope scope = Scope.leakChecked("localization"); Stream stream = Stream.create(scope)) {
            // The last FC of a localization net: 4x3x3 features -> 6, weights in whatever layout oneDNN chose.
            InnerProduct.Forward fc = InnerProduct.Forward.create(scope, "loc.fc", new long[] {n, 4, 3, 3},
                    LocalizationHead.THETA_FEATURES);
            Tensor weights = Tensor.allocate(scope, "loc.fc.weight", fc.weightsDesc());
            Tensor bias = Tensor.allocate(scope, "loc.fc.bias", fc.biasDesc());
            weights.copyFrom(StnReference.random(r, 6 * features, -1, 1));
            LocalizationHead.initIdentity(weights, bias);

            Tensor features4d = Tensor.of(scope, "features", StnReference.random(r, n * features, -3, 3), n, 4, 3, 3);
            Tensor fcOut = Tensor.zeros(scope, "loc.out", n, 6);
            fc.executePlain(stream, features4d, weights, bias, fcOut);
            Tensor theta = LocalizationHead.thetaView(scope, "theta", fcOut);
            assertArrayEquals(LocalizationHead.identityTheta(n), theta.toFloatArray());

            float[] x = StnReference.random(r, n * c * h * w, -1, 1);
            Tensor src = Tensor.of(scope, "src", x, n, c, h, w);
            Tensor dst = Tensor.zeros(scope, "dst", n, c, h, w);
            try (AffineSampler stn = AffineSampler.create(scope, "stn", n, c, h, w, h, w, SamplerOptions.DEFAULT)) {
                stn.forward(theta, src, dst);
            }
            Check.close("identity-initialised STN", dst.dims(), x, dst.toFloatArray(), 1e-6, 1e-6);
        }
    }
}
