package dev.stride.tests.nn;

import dev.stride.conv.Convolution;
import dev.stride.conv.ConvolutionReference;
import dev.stride.core.Scope;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.testing.Check;
import dev.stride.train.Parameter;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A regression head with one output ({@code fc(1)}) straight after a convolution and after a flatten: the
 * inference plans (optimised and not) and the training plan give the naive loop's numbers. oneDNN once chose
 * mismatched layouts for exactly this head in inference only, so the plans disagreed with each other.
 */
class SingleOutputHeadTest {

    private static final int C = 2, H = 6, W = 6, K = 4, F = 3;

    /** conv(K, F) ("same" padding) -> relu -> [flatten ->] fc(1), all on a {@code C x H x W} input. */
    private static NetworkSpec spec(boolean flatten) {
        NetworkBuilder b = NetworkBuilder.input(C, H, W).conv(K, F).relu();
        return (flatten ? b.flatten() : b).fc(1).build();
    }

    @ParameterizedTest(name = "flatten={0}")
    @ValueSource(booleans = {false, true})
    void inferenceAndTrainingPlansEqualTheNaiveLoop(boolean flatten) {
        int batch = 3;
        try (Scope check = Scope.leakChecked("head"); Network net = Network.create(spec(flatten), 1)) {
            SplittableRandom r = new SplittableRandom(flatten ? 2 : 3);
            List<Parameter> ps = net.parameters(); // conv weight, conv bias, fc weight, fc bias
            float[][] values = new float[ps.size()][];
            for (int i = 0; i < ps.size(); i++) {
                values[i] = Check.random(r, ps.get(i).elements());
                ps.get(i).value().copyFrom(values[i]);
            }
            float[] x = Check.random(r, (long) batch * C * H * W);
            float[] want = naive(batch, x, values);
            long[] shape = {batch, 1};
            for (Mode mode : List.of(Mode.INFERENCE, Mode.TRAINING)) {
                for (PlanOptions options : List.of(PlanOptions.defaults(), PlanOptions.unoptimised())) {
                    Plan plan = net.plan(batch, mode, options);
                    plan.input().copyFrom(x);
                    Check.close(mode + " " + options + " plan", shape, want, plan.forward().toFloatArray(), 1e-4, 1e-4);
                }
            }
        }
    }

    private static float[] naive(int batch, float[] x, float[][] p) {
        Convolution.Geometry g = Convolution.Geometry.of("conv", new long[] {batch, C, H, W}, Convolution.Params.of(K, F).samePadding()); // the builder's conv(K, F)
        float[] conv = ConvolutionReference.forward(g, x, p[0], p[1]);
        int in = conv.length / batch;
        float[] out = new float[batch];
        for (int n = 0; n < batch; n++) {
            double acc = p[3][0];
            for (int i = 0; i < in; i++) {
                acc += Math.max(0, conv[n * in + i]) * p[2][i];
            }
            out[n] = (float) acc;
        }
        return out;
    }
}
