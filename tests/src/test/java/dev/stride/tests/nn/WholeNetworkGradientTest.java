package dev.stride.tests.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.conv.Convolution;
import dev.stride.core.Dnnl;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Node;
import dev.stride.nn.Plan;
import dev.stride.nn.PlanOptions;
import dev.stride.ops.deform.DeformConv2d;
import dev.stride.ops.layers.CustomLayers;
import dev.stride.testing.Check;
import dev.stride.train.Parameter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The whole-network gradient check (issue 5): one small network with every layer type; the input gradient and
 * every parameter gradient of a training plan's {@link Plan#backward()} against central differences of the
 * scalar loss {@code L = sum(output * r)}, each {@code L} computed from a training-mode forward pass (batch
 * statistics, like the pass that was differentiated).
 *
 * <p><b>Numerics.</b> The forward passes are f32; {@code L} is summed in double, and each difference is divided
 * by the step actually taken in f32 ({@code (float) (x + h) - (float) (x - h)}), not by the nominal {@code 2h}.
 * {@code h = 4e-3} balances the two errors of a central difference of an f32 network: rounding noise in
 * {@code L} (about {@code 1e-7} here, so {@code 1e-7 / 2h ~ 2e-5} in the slope; the zero gradient of the
 * deformable conv's bias before a batch norm shows it) and curvature ({@code h^2 L''' / 6}, below 1%). Hence
 * the tolerance {@code |numeric - analytic| <= 1e-4 + 5% |numeric|}; measured errors stay under 2%.
 *
 * <p><b>Kinks.</b> A central difference is only meaningful where {@code L} is smooth within {@code h}. The
 * network avoids kinks: tanh, ELU and sigmoid instead of ReLU where one is free to choose (the residual block
 * around the SE layer is built by hand with ELU; the DenseBlock's and the SE's internal ReLUs remain), max
 * pooling over tanh outputs (no ties). Bilinear sampling (STN, deformable conv) is not differentiable in the
 * sampling point on pixel rows and columns, and a perturbation moves many points across them, each crossing
 * bending {@code L} by the image's second difference there; so the image is smooth (low-frequency waves
 * tapered to zero at the border, where zero padding would otherwise be a cliff), the offsets and {@code theta}
 * are moved off the integer grid the zero / identity initialisation would sample on.
 *
 * <p>It runs with one OpenMP thread: hundreds of forward passes of a tiny network are dominated by fork/join
 * hand-offs, which cost milliseconds each on a loaded 2-core machine. The multi-threaded kernels are checked by
 * the ops' own tests and by {@link CustomLayersPlanTest}.
 */
class WholeNetworkGradientTest {

    private static final Eltwise.Algorithm TANH = Eltwise.Algorithm.TANH;
    private static final Eltwise.Algorithm ELU = Eltwise.Algorithm.ELU;
    private static final double H = 4e-3;
    private static final double ATOL = 1e-4;
    private static final double RTOL = 5e-2;

    /**
     * Every layer type in one network (2 x 8 x 8 in, 5 class probabilities out): an STN front-end (conv, tanh,
     * max pooling, flatten, FC, the identity-initialised head, the sampler), a modulated deformable conv (offset
     * and mask convs, sigmoid), BN + ELU, a residual block with SE before the add (conv, BN, ELU, SE, add),
     * average pooling, a DenseBlock (BN-ReLU-conv, concat), then two branches (global average pooling | L2
     * pooling, flatten, LayerNorm, FC, tanh) joined by add, dropout (p = 0), FC and softmax.
     */
    static NetworkSpec everything() {
        NetworkBuilder b = NetworkBuilder.input(2, 8, 8);
        CustomLayers.spatialTransformer(b, loc -> loc.conv(Convolution.Params.of(4, 3).padding(1)).activation(TANH, 0, 0)
                .maxPool(2, 2).flatten().fc(8).activation(TANH, 0, 0));
        CustomLayers.deformConv(b, DeformConv2d.Params.of(4, 3).padding(1).modulated(true));
        b.batchNorm().activation(ELU, 1, 0);
        Node in = b.current();
        b.conv(Convolution.Params.of(4, 3).padding(1).bias(false)).batchNorm().activation(ELU, 1, 0);
        b.conv(Convolution.Params.of(4, 3).padding(1).bias(false)).batchNorm();
        CustomLayers.squeezeExcitation(b, 2);
        b.add(in).activation(ELU, 1, 0);
        b.avgPool(2, 2).denseBlock(1, 2, false);
        Node trunk = b.current();
        b.globalAvgPool().flatten();
        Node global = b.current();
        b.from(trunk).l2Pool(2, 2).flatten().layerNorm().fc(6).activation(TANH, 0, 0);
        return b.add(global).dropout(0).fc(5).softmax().build();
    }

    /**
     * Moves the custom ops off their kinks: zero offsets sample exactly on the input grid and the identity
     * {@code theta} exactly at pixel centres, where bilinear interpolation is not differentiable.
     */
    static void offTheGrid(Network net, SplittableRandom r) {
        for (String name : net.tensors().keySet()) {
            boolean bias = name.endsWith(".bias");
            if (name.startsWith("deform_offset") || name.startsWith("deform_mask")) {
                perturb(net.tensor(name), r, bias ? 0.6 : 0.15);
            } else if (name.startsWith("theta")) {
                perturb(net.tensor(name), r, bias ? 0.08 : 0.05);
            }
        }
    }

    /** Adds uniform noise in {@code [-scale, scale)} to every value. */
    static void perturb(Tensor t, SplittableRandom r, double scale) {
        MemorySegment s = t.segment();
        long n = s.byteSize() / Float.BYTES;
        for (long i = 0; i < n; i++) {
            float v = s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (v + scale * r.nextDouble(-1, 1)));
        }
    }

    /** Low-frequency waves, a little noise, tapered to zero at the border (see the class comment). */
    static float[] smoothImages(SplittableRandom r, long[] d) {
        float[] v = new float[(int) Check.count(d)];
        int i = 0;
        for (int n = 0; n < d[0]; n++) {
            for (int c = 0; c < d[1]; c++) {
                double a = r.nextDouble(-0.4, 0.4);
                double b = r.nextDouble(-0.4, 0.4);
                double phase = r.nextDouble(0, 2 * Math.PI);
                for (int y = 0; y < d[2]; y++) {
                    for (int x = 0; x < d[3]; x++) {
                        double taper = Math.sin(Math.PI * (y + 0.5) / d[2]) * Math.sin(Math.PI * (x + 0.5) / d[3]);
                        v[i++] = (float) (taper * (0.8 * Math.sin(a * y + b * x + phase) + 0.01 * r.nextDouble(-1, 1)));
                    }
                }
            }
        }
        return v;
    }

    private static double loss(Plan plan, double[] r) {
        float[] out = plan.forward().toFloatArray();
        double s = 0;
        for (int i = 0; i < out.length; i++) {
            s += out[i] * r[i];
        }
        return s;
    }

    @Test
    void everyLayerTypeMatchesCentralDifferences() {
        int threads = Dnnl.threads();
        Dnnl.setThreads(1);
        try (Scope check = Scope.leakChecked("gradient"); Network net = Network.create(everything(), 21)) {
            SplittableRandom random = new SplittableRandom(3);
            offTheGrid(net, random);
            Plan plan = net.plan(2, Mode.TRAINING, PlanOptions.defaults().inputGradient(true));
            plan.input().copyFrom(smoothImages(random, plan.input().dims()));
            double[] r = Check.toDouble(Check.random(random, Check.count(plan.output().dims())));
            loss(plan, r);
            plan.outputGradient().copyFrom(Check.toFloat(r));
            plan.backward();

            List<Parameter> probed = new ArrayList<>();
            probed.add(new Parameter("input", plan.input(), plan.inputGradient()));
            probed.addAll(net.parameters());
            List<float[]> analytic = probed.stream().map(p -> p.grad().toFloatArray()).toList();
            Set<String> informative = new LinkedHashSet<>();
            for (int t = 0; t < probed.size(); t++) {
                Parameter p = probed.get(t);
                MemorySegment v = p.value().segment();
                long n = p.elements();
                Set<Long> picks = new LinkedHashSet<>();
                int want = (int) Math.min(n, p.name().equals("input") ? 16 : 4);
                while (picks.size() < want) {
                    picks.add(random.nextLong(n));
                }
                for (long i : picks) {
                    float x = v.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    float up = (float) (x + H);
                    float down = (float) (x - H);
                    v.setAtIndex(ValueLayout.JAVA_FLOAT, i, up);
                    double plus = loss(plan, r);
                    v.setAtIndex(ValueLayout.JAVA_FLOAT, i, down);
                    double minus = loss(plan, r);
                    v.setAtIndex(ValueLayout.JAVA_FLOAT, i, x);
                    double numeric = (plus - minus) / ((double) up - down);
                    double a = analytic.get(t)[(int) i];
                    double err = Math.abs(numeric - a);
                    if (!(err <= ATOL + RTOL * Math.abs(numeric))) {
                        throw new AssertionError("d(sum(out*r))/d " + p.name() + Check.index(p.value().dims(), i)
                                + ": numeric " + numeric + " vs analytic " + a + " (|diff| " + err + " > " + ATOL + " + "
                                + RTOL + " * |numeric|)");
                    }
                    if (Math.abs(numeric) > 10 * ATOL) {
                        informative.add(p.name().substring(0, p.name().indexOf('.') < 0 ? p.name().length()
                                : p.name().indexOf('.')));
                    }
                }
            }
            // Not vacuous: the input and every custom layer had gradients well above the absolute tolerance.
            for (String layer : List.of("input", "conv1", "fc1", "theta1", "deform_offset1", "deform_mask1", "deform1",
                    "se1", "batchnorm1", "layernorm1", "fc3")) {
                assertTrue(informative.contains(layer), layer + " had no gradient above " + 10 * ATOL + ": " + informative);
            }
        } finally {
            Dnnl.setThreads(threads);
        }
    }
}
