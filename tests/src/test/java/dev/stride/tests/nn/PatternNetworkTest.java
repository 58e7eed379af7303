package dev.stride.tests.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.nn.Shape;
import dev.stride.testing.Check;
import dev.stride.train.Parameter;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The seed's pattern {@code INPUT -> ((CONV -> RELU)*N -> POOL?)*M -> (FC -> RELU)*K -> FC} with random
 * {@code N, M, K}, filter counts and widths (fixed seed): valid ones build, count their parameters by the
 * seed's formulas, and run a training step; invalid ones fail when built, with the formula and its numbers.
 */
class PatternNetworkTest {

    record Case(Shape input, int n, int m, int k, int[] filters, boolean pool, long[] widths, long classes) {
        NetworkBuilder build() {
            return NetworkBuilder.pattern(input, n, m, k, filters, pool, widths, classes);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "input %s, N=%d, M=%d, K=%d, filters %s, pool %s, widths %s, %d classes",
                    input, n, m, k, Arrays.toString(filters), pool, Arrays.toString(widths), classes);
        }
    }

    /**
     * A random case; with {@code valid}, {@code H = W = 2^M * q} so that every 2x2/2 pooling divides; without,
     * {@code 2^j * odd} for a {@code j < M}, so that stage {@code j + 1}'s pooling sees an odd size.
     */
    static Case random(SplittableRandom r, boolean valid) {
        int n = r.nextInt(0, 3);
        int m = valid ? r.nextInt(0, 4) : r.nextInt(1, 4);
        int k = r.nextInt(0, 3);
        int[] filters = r.ints(m, 1, 9).toArray();
        long[] widths = r.longs(k, 1, 17).toArray();
        long side = valid ? (1L << m) * r.nextInt(1, 4) : (1L << r.nextInt(0, m)) * (2L * r.nextInt(0, 3) + 3);
        long channels = r.nextBoolean() ? 1 : 3;
        boolean pool = !valid || r.nextBoolean();
        return new Case(Shape.of(channels, side, side), n, m, k, filters, pool, widths, r.nextLong(2, 11));
    }

    /** {@code F*F*D1*K + K} per conv (3x3, "same"), {@code in*out + out} per FC, following the shapes. */
    static long expectedParameters(Case c) {
        long params = 0;
        long depth = c.input().channels();
        long side = c.input().dim(1);
        for (int s = 0; s < c.m(); s++) {
            for (int i = 0; i < c.n(); i++) {
                params += 3L * 3 * depth * c.filters()[s] + c.filters()[s];
                depth = c.filters()[s];
            }
            if (c.pool()) {
                side /= 2;
            }
        }
        long features = depth * side * side;
        for (long w : c.widths()) {
            params += features * w + w;
            features = w;
        }
        return params + features * c.classes() + c.classes();
    }

    @Test
    void randomValidPatternsBuildAndTrain() {
        SplittableRandom r = new SplittableRandom(2024);
        try (Scope check = Scope.leakChecked("pattern")) {
            for (int i = 0; i < 6; i++) {
                Case c = random(r, true);
                NetworkSpec spec = c.build().build();
                assertEquals(expectedParameters(c), spec.parameterCount(), c.toString());
                assertEquals(Shape.of(c.classes()), spec.output().shape(), c.toString());
                try (Network net = Network.create(spec, i)) {
                    Plan plan = net.plan(2, Mode.TRAINING);
                    plan.input().copyFrom(Check.random(r, Check.count(plan.input().dims())));
                    float[] out = plan.forward().toFloatArray();
                    assertArrayEquals(new long[] {2, c.classes()}, plan.output().dims(), c.toString());
                    plan.outputGradient().copyFrom(Check.random(r, out.length));
                    plan.backward();
                    for (float v : out) {
                        assertTrue(Float.isFinite(v), c + ": output " + Arrays.toString(out));
                    }
                    // The last FC's bias gradient is the upstream gradient summed over the batch: never all zero.
                    Parameter last = net.parameters().getLast();
                    assertTrue(last.name().endsWith(".bias"), last.name());
                    float[] g = last.grad().toFloatArray();
                    assertTrue(Arrays.stream(Check.toDouble(g)).anyMatch(v -> v != 0), c + ": " + last.name());
                }
            }
        }
    }

    @Test
    void randomInvalidPatternsFailWithTheFormula() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 6; i++) {
            Case c = random(r, false);
            // The first pooling that sees an odd size W1 = 2q + 1: W2 = (W1 - 2 + 0)/2 + 1 = q + 0.5.
            long w1 = c.input().dim(1);
            while (w1 % 2 == 0) {
                w1 /= 2;
            }
            String formula = "(" + w1 + " - 2 + 0)/2 + 1 = " + (w1 / 2) + ".5 is not an integer";
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::build, c.toString());
            assertTrue(e.getMessage().contains(formula) && e.getMessage().contains("maxpool"),
                    c + ": expected '" + formula + "' in: " + e.getMessage());
        }
        IllegalArgumentException counts = assertThrows(IllegalArgumentException.class,
                () -> NetworkBuilder.pattern(Shape.of(1, 8, 8), 1, 2, 0, new int[] {4}, true, new long[0], 10));
        assertTrue(counts.getMessage().contains("2 stages need 2 filter counts"), counts.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> NetworkBuilder.pattern(Shape.of(1, 8, 8), -1, 1, 0, new int[] {4}, true, new long[0], 10));
        assertTrue(negative.getMessage().contains("N, M, K >= 0"), negative.getMessage());
    }
}
