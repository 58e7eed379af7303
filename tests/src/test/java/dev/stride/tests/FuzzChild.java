package dev.stride.tests;

import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import java.io.PrintStream;
import java.util.SplittableRandom;

/**
 * The child JVM of {@link FuzzTest}: regenerates configurations from the seed and their ids, runs each one, and
 * streams {@code @@FZ S id} before and {@code @@FZ E id OUTCOME detail} after it, so that when the process
 * dies the parent knows which configuration killed it. After every configuration that threw, a small eltwise
 * must still run correctly; if not, the process is poisoned: it reports {@code @@FZ P id} and exits.
 *
 * <p>Arguments: the seed, then ids as {@code a-b} ranges (inclusive) or single ids, comma-separated.
 */
public final class FuzzChild {
    private FuzzChild() {}

    static final String PREFIX = "@@FZ ";

    private static long canaries;

    public static void main(String[] args) {
        long seed = Long.parseLong(args[0]);
        PrintStream out = System.out;
        for (String part : args[1].split(",")) {
            String[] ab = part.split("-");
            long from = Long.parseLong(ab[0]);
            long to = ab.length == 1 ? from : Long.parseLong(ab[1]);
            for (long id = from; id <= to; id++) {
                FuzzCase c = FuzzFamilies.generate(seed, id);
                out.println(PREFIX + "S " + id);
                out.flush();
                long t0 = System.nanoTime();
                Result res = run(c);
                long micros = (System.nanoTime() - t0) / 1000;
                out.println(PREFIX + "E " + id + " " + res.outcome + " " + micros + " " + oneLine(res.detail));
                out.flush();
                if (res.threw) {
                    String poison = canary();
                    if (poison != null) {
                        out.println(PREFIX + "P " + id + " " + oneLine(poison));
                        out.flush();
                        System.exit(3);
                    }
                }
            }
        }
        out.println(PREFIX + "DONE");
        out.flush();
        System.exit(0);
    }

    record Result(String outcome, String detail, boolean threw) {}

    /** Runs one configuration in a leak-checked scope and classifies what happened. */
    static Result run(FuzzCase c) {
        Throwable thrown = null;
        String leak = null;
        try (Scope scope = Scope.leakChecked("fuzz#" + c.id)) {
            try (Stream stream = Stream.create(scope)) {
                c.body.run(scope, stream);
            } catch (Throwable t) {
                thrown = t;
            }
        } catch (Throwable t) {
            leak = t.getClass().getSimpleName() + ": " + t.getMessage();
        }
        if (thrown instanceof FuzzCase.Wrong w) {
            return new Result("WRONG", w.getMessage(), false);
        }
        // Sizes oneDNN can take but this process cannot hold (the child runs under an address-space limit) are
        // refused by Tensor.allocate with an OutOfMemoryError that names the tensor and its bytes: an honest
        // answer for a valid configuration too, never a crash.
        if (thrown instanceof OutOfMemoryError && thrown.getMessage() != null
                && thrown.getMessage().startsWith("tensor '") && thrown.getMessage().contains("cannot allocate")) {
            return leak != null ? new Result("LEAK", leak + " (after " + describe(thrown) + ")", true)
                    : new Result("PASS", describe(thrown), true);
        }
        if (c.valid()) {
            if (thrown != null) return new Result("REFUSED", describe(thrown), true);
            if (leak != null) return new Result("LEAK", leak, false);
            return new Result("PASS", "", false);
        }
        if (thrown == null) {
            return new Result(leak != null ? "LEAK" : "NOERROR", leak == null ? "" : leak, false);
        }
        boolean typed = thrown instanceof IllegalArgumentException || thrown instanceof IllegalStateException;
        if (!typed) return new Result("UNCLEAR", "wrong type: " + describe(thrown), true);
        if (!c.namesParameter(thrown.getMessage())) return new Result("UNCLEAR", "names no parameter: " + describe(thrown), true);
        if (leak != null) return new Result("LEAK", leak + " (after " + describe(thrown) + ")", true);
        return new Result("PASS", describe(thrown), true);
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder(t.getClass().getName() + ": " + t.getMessage());
        StackTraceElement[] st = t.getStackTrace();
        if (!(t instanceof IllegalArgumentException || t instanceof IllegalStateException) && st.length > 0) {
            sb.append(" at ").append(st[0]);
        }
        return sb.toString();
    }

    static String oneLine(String s) {
        String t = s == null ? "null" : s.replace('\n', ' ').replace('\r', ' ');
        return t.length() > 600 ? t.substring(0, 600) + "..." : t;
    }

    /** Null when a small ReLU still runs correctly in this process, else what went wrong. */
    static String canary() {
        // A new shape every time: oneDNN's primitive cache would otherwise hand back a primitive made before the damage.
        long[] dims = {1, 3, 4, 4 + canaries++};
        try (Scope scope = Scope.open("canary"); Stream s = Stream.create(scope)) {
            float[] x = FuzzSupport.random(new SplittableRandom(canaries), FuzzSupport.count(dims), -1, 1);
            Tensor src = Tensor.of(scope, "src", x, dims);
            Tensor dst = Tensor.zeros(scope, "dst", dims);
            Eltwise.Forward f = Eltwise.Forward.create(scope, "canary", MemoryDesc.plain(scope, dims),
                    Eltwise.Algorithm.RELU, 0f, 0f, PropKind.INFERENCE);
            f.execute(s, f.bind(scope, src, dst));
            s.await();
            float[] y = dst.toFloatArray();
            for (int i = 0; i < x.length; i++) {
                if (y[i] != Math.max(0f, x[i])) {
                    return "canary ReLU element " + i + " is " + y[i] + ", want " + Math.max(0f, x[i]);
                }
            }
            return null;
        } catch (Throwable t) {
            return "canary ReLU failed: " + describe(t);
        }
    }
}
