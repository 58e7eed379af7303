package dev.stride.tests;

import dev.stride.core.Scope;
import dev.stride.core.Stream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * One fuzz configuration of the public API: which family, what it does (a readable call), and whether it is
 * valid or invalid by exactly one mutated parameter, with the words an error message may use to name that
 * parameter. {@link #body} runs it; for a valid configuration it also compares the result against a naive
 * reference and throws {@link Wrong} on a mismatch.
 */
final class FuzzCase {

    /** Runs the configuration inside a leak-checked scope, on a fresh stream. */
    interface Body {
        void run(Scope scope, Stream stream) throws Exception;
    }

    /** A valid configuration's output differs from the reference (or holds NaN): silent garbage. */
    static final class Wrong extends RuntimeException {
        Wrong(String message) {
            super(message);
        }
    }

    final long id;
    final String family;
    final String description;
    /** The mutated parameter, or null for a valid configuration. */
    final String mutated;
    /** How the parameter was mutated (zero, negative, 2^31, null tensor, ...), or null. */
    final String mutation;
    /** Words any one of which names the mutated parameter in an error message. */
    final List<String> names;
    final Body body;

    FuzzCase(long id, String family, String description, String mutated, String mutation, List<String> names, Body body) {
        this.id = id;
        this.family = family;
        this.description = description;
        this.mutated = mutated;
        this.mutation = mutation;
        this.names = names;
        this.body = body;
    }

    boolean valid() {
        return mutated == null;
    }

    /**
     * Whether {@code message} names the mutated parameter: a short symbol ({@code S}, {@code K}, {@code C})
     * must stand as a whole word with its case; a longer name may appear in any case, with or without
     * underscores or spaces ({@code diffDst}, {@code DIFF_DST}, {@code diff dst}).
     */
    boolean namesParameter(String message) {
        if (message == null) {
            return false;
        }
        String flat = flatten(message);
        for (String n : names) {
            if (n.length() <= 2) {
                if (Pattern.compile("(?<![A-Za-z0-9])" + Pattern.quote(n) + "(?![A-Za-z0-9])").matcher(message).find()) {
                    return true;
                }
            } else if (flat.contains(flatten(n))) {
                return true;
            }
        }
        return false;
    }

    private static String flatten(String s) {
        return s.toLowerCase(Locale.ROOT).replace("_", "").replace(" ", "").replace("-", "");
    }

    @Override
    public String toString() {
        return "#" + id + " " + family + (valid() ? " valid" : " invalid " + mutated + "=" + mutation
                + " (message must name one of " + names + ")") + ": " + description;
    }

    /**
     * The random choices of one configuration. A family generator draws its valid parameters from here, asks
     * {@link #mutate} which one (if any) to break, and reads each parameter through {@link #dim}, {@link #num}
     * or {@link #is}, which apply the mutation to the chosen one.
     */
    static final class Gen {
        /** Out-of-range values for a size: zero, negative, and huge (2^31, 2^61, Long.MAX_VALUE). */
        static final long[] BAD_LONGS = {0, -1, -7, 1L << 31, 1L << 61, Long.MAX_VALUE};
        static final String[] BAD_LONG_NAMES = {"zero", "negative", "negative", "2^31", "2^61", "Long.MAX_VALUE"};
        /** Out-of-range values for an int setting. */
        static final int[] BAD_INTS = {0, -1, -3, Integer.MIN_VALUE, Integer.MAX_VALUE};
        static final String[] BAD_INT_NAMES = {"zero", "negative", "negative", "Integer.MIN_VALUE", "Integer.MAX_VALUE"};

        final SplittableRandom r;
        final long id;
        final String family;
        String mutated;
        String mutation;
        List<String> names = List.of();

        Gen(long seed, long id, String family) {
            this.r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + id * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL);
            this.id = id;
            this.family = family;
        }

        /**
         * Chooses the configuration's mutation: none (valid) about a third of the time, else one of
         * {@code params}, each written {@code "name|alias|alias"}: the first is the parameter, all are the
         * words that may name it in an error message.
         */
        void mutate(String... params) {
            if (r.nextInt(100) < 34) {
                return;
            }
            String[] p = params[r.nextInt(params.length)].split("\\|");
            mutated = p[0];
            List<String> n = new ArrayList<>(List.of(p));
            // The library's shape messages say "dimension 2 of [1, -1] is -1" and "no format for 13 dimensions".
            if (n.contains("dims")) n.add("dimension");
            if (n.contains("rank")) n.add("dimensions");
            names = List.copyOf(n);
        }

        boolean is(String param) {
            return param.equals(mutated);
        }

        /** A random int in {@code [lo, hi]}. */
        int between(int lo, int hi) {
            return lo + r.nextInt(hi - lo + 1);
        }

        long dim(long lo, long hi) {
            return lo + r.nextLong(hi - lo + 1);
        }

        boolean coin() {
            return r.nextBoolean();
        }

        <T> T pick(T[] values) {
            return values[r.nextInt(values.length)];
        }

        /** A size: {@code [lo, hi]}, or an out-of-range value when {@code param} is the mutated one. */
        long dim(String param, long lo, long hi) {
            return is(param) ? badLong() : dim(lo, hi);
        }

        /** An int setting: {@code [lo, hi]}, or an out-of-range one when {@code param} is the mutated one. */
        int num(String param, int lo, int hi) {
            return is(param) ? badInt() : between(lo, hi);
        }

        /** Zero or negative: out of range for a setting that a huge value would not always break (a stride, a dilation). */
        int nonPositive() {
            int i = r.nextInt(4); // BAD_INTS without Integer.MAX_VALUE
            mutation = BAD_INT_NAMES[i];
            return BAD_INTS[i];
        }

        long badLong() {
            int i = r.nextInt(BAD_LONGS.length);
            mutation = BAD_LONG_NAMES[i];
            return BAD_LONGS[i];
        }

        int badInt() {
            int i = r.nextInt(BAD_INTS.length);
            mutation = BAD_INT_NAMES[i];
            return BAD_INTS[i];
        }

        /** Records how the mutated parameter was changed, for a mutation that is not a plain bad value. */
        void how(String what) {
            mutation = what;
        }

        FuzzCase build(String description, Body body) {
            if (mutated != null && mutation == null) {
                throw new IllegalStateException("generator for " + family + " mutated " + mutated + " without saying how");
            }
            return new FuzzCase(id, family, description, mutated, mutation, names, body);
        }
    }

    /** {@code [1, 2, 3]} for messages and descriptions. */
    static String str(long[] v) {
        return Arrays.toString(v);
    }

    static String str(int[] v) {
        return Arrays.toString(v);
    }

    static List<String> list(String... s) {
        return new ArrayList<>(List.of(s));
    }
}
