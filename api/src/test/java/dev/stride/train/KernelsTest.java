package dev.stride.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stride.testing.Check;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The chunked loops against the same formulas applied element by element in f32 (bit for bit), on lengths below,
 * at and across chunk boundaries, so that no element is skipped, repeated or shifted.
 */
class KernelsTest {

    static final int[] LENGTHS = {1, 7, Kernels.CHUNK - 1, Kernels.CHUNK, Kernels.CHUNK + 1, (Kernels.FLUSH + 3) * Kernels.CHUNK + 17};

    @Test
    void sgd() {
        for (int n : LENGTHS) {
            for (boolean l2 : new boolean[] {false, true}) {
                float[][] x = random(n, 2);
                float[] p = x[0].clone();
                for (int i = 0; i < n; i++) {
                    float g = l2 ? Math.fma(p[i], 0.01f, x[1][i]) : x[1][i];
                    p[i] = Math.fma(g, -0.1f, p[i]);
                }
                float[][] got = run(x, s -> new Kernels().sgd(s[0], s[1], n, l2, 0.01f, -0.1f));
                assertArrayEquals(p, got[0], "sgd l2=" + l2 + " n=" + n);
                assertArrayEquals(x[1], got[1], "the gradient is left as it was");
            }
        }
    }

    @Test
    void sgdMomentum() {
        for (int n : LENGTHS) {
            for (boolean l2 : new boolean[] {false, true}) {
                for (boolean first : new boolean[] {false, true}) {
                    for (boolean nesterov : new boolean[] {false, true}) {
                        float[][] x = random(n, 3);
                        float[] p = x[0].clone();
                        float[] b = x[2].clone();
                        float mom = 0.9f;
                        float keep = 0.8f;
                        for (int i = 0; i < n; i++) {
                            float g = l2 ? Math.fma(p[i], 1e-3f, x[1][i]) : x[1][i];
                            b[i] = first ? g : Math.fma(g, keep, b[i] * mom);
                            float d = nesterov ? Math.fma(b[i], mom, g) : b[i];
                            p[i] = Math.fma(d, -0.05f, p[i]);
                        }
                        float[][] got = run(x, s -> new Kernels().sgdMomentum(s[0], s[1], s[2], n, l2, 1e-3f, -0.05f, mom,
                                keep, first, nesterov));
                        String what = "momentum l2=" + l2 + " first=" + first + " nesterov=" + nesterov + " n=" + n;
                        assertArrayEquals(p, got[0], what + ": values");
                        assertArrayEquals(b, got[2], what + ": buffer");
                    }
                }
            }
        }
    }

    @Test
    void adam() {
        for (int n : LENGTHS) {
            for (boolean decoupled : new boolean[] {false, true}) {
                for (boolean l2 : new boolean[] {false, true}) {
                    float[][] x = random(n, 4);
                    float[] p = x[0].clone();
                    float[] m = x[2].clone();
                    float[] v = x[3].clone();
                    for (int i = 0; i < n; i++) {
                        float pi = decoupled ? p[i] * 0.999f : p[i];
                        float g = l2 ? Math.fma(pi, 0.01f, x[1][i]) : x[1][i];
                        m[i] = Math.fma(g, 0.1f, m[i] * 0.9f);
                        v[i] = v[i] * 0.999f + 0.001f * g * g;
                        p[i] = pi + -0.0123f * m[i] / ((float) Math.sqrt(v[i]) * 22.37f + 1e-8f);
                    }
                    float[][] got = run(x, s -> new Kernels().adam(s[0], s[1], s[2], s[3], n, decoupled, 0.999f, l2, 0.01f,
                            0.9f, 0.1f, 0.999f, 0.001f, 22.37f, 1e-8f, -0.0123f));
                    String what = "adam decoupled=" + decoupled + " l2=" + l2 + " n=" + n;
                    assertArrayEquals(p, got[0], what + ": values");
                    assertArrayEquals(m, got[2], what + ": exp_avg");
                    assertArrayEquals(v, got[3], what + ": exp_avg_sq");
                }
            }
        }
    }

    @Test
    void clippingLoops() {
        for (int n : LENGTHS) {
            float[][] x = random(n, 1);
            double want = 0;
            float[] scaled = x[0].clone();
            float[] clamped = x[0].clone();
            for (int i = 0; i < n; i++) {
                want += (double) x[0][i] * x[0][i];
                scaled[i] *= 0.37f;
                clamped[i] = Math.min(Math.max(clamped[i], -0.25f), 0.25f);
            }
            double w = want;
            float[][] unused = run(x, s -> assertEquals(w, new Kernels().sumOfSquares(s[0], n), 1e-6 * w, "n=" + n));
            assertArrayEquals(x[0], unused[0]);
            assertArrayEquals(scaled, run(x, s -> new Kernels().scale(s[0], n, 0.37f))[0], "scale n=" + n);
            assertArrayEquals(clamped, run(x, s -> new Kernels().clamp(s[0], n, 0.25f))[0], "clamp n=" + n);
        }
    }

    /** {@code count} random arrays of {@code n}; the fourth (a second moment) non-negative. */
    private static float[][] random(int n, int count) {
        SplittableRandom r = new SplittableRandom(n * 31L + count);
        float[][] x = new float[count][];
        for (int i = 0; i < count; i++) {
            x[i] = Check.random(r, n);
        }
        if (count == 4) {
            for (int j = 0; j < n; j++) {
                x[3][j] = Math.abs(x[3][j]);
            }
        }
        return x;
    }

    /** Copies the arrays into native segments (with a guard float after each), runs, checks guards, copies out. */
    private static float[][] run(float[][] x, java.util.function.Consumer<MemorySegment[]> kernel) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] s = new MemorySegment[x.length];
            MemorySegment[] whole = new MemorySegment[x.length];
            for (int i = 0; i < x.length; i++) {
                whole[i] = arena.allocate((x[i].length + 1L) * Float.BYTES, 64);
                MemorySegment.copy(x[i], 0, whole[i], ValueLayout.JAVA_FLOAT, 0, x[i].length);
                whole[i].setAtIndex(ValueLayout.JAVA_FLOAT, x[i].length, 12345f);
                s[i] = whole[i].asSlice(0, x[i].length * (long) Float.BYTES);
            }
            kernel.accept(s);
            float[][] out = new float[x.length][];
            for (int i = 0; i < x.length; i++) {
                out[i] = s[i].toArray(ValueLayout.JAVA_FLOAT);
                assertEquals(12345f, whole[i].getAtIndex(ValueLayout.JAVA_FLOAT, x[i].length), "wrote past the end");
            }
            return out;
        }
    }
}
