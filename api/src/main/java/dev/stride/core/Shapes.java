package dev.stride.core;

/**
 * Shape arithmetic shared by the sliding-window families (convolution, pooling), with errors that quote
 * the formula and the numbers, e.g. {@code W2 = (W1 - F + 2P)/S + 1 = (28 - 5 + 0)/2 + 1 = 12.5 is not an
 * integer}.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class Shapes {
    private Shapes() {}

    /** Names of the spatial dimensions for 1, 2 or 3 spatial dims: {@code W}, {@code H W}, {@code D H W}. */
    public static String spatialName(int spatialDims, int i) {
        String names = switch (spatialDims) {
            case 1 -> "W";
            case 2 -> "HW";
            case 3 -> "DHW";
            default -> throw new IllegalArgumentException("1 to 3 spatial dimensions supported, got " + spatialDims);
        };
        return String.valueOf(names.charAt(i));
    }

    /**
     * Output extent of a sliding window: {@code (in - dilation*(f-1) - 1 + padL + padR)/s + 1}. Throws when
     * the result is not a positive integer, quoting the formula in the seed's notation with the numbers in.
     *
     * @param where    layer name for the message, e.g. {@code conv1}
     * @param dim      dimension letter ({@code W}, {@code H}, {@code D})
     * @param dilation public convention: 1 = none
     */
    public static long windowOutput(String where, String dim, long in, long f, long s, long padL, long padR, long dilation) {
        requireWindow(where, dim, f, s, padL, padR, dilation);
        long span = dilation * (f - 1) + 1;
        long numerator = in - span + padL + padR;
        String formula = formula(dim, in, f, s, padL, padR, dilation);
        if (numerator < 0) {
            throw new IllegalArgumentException(where + ": " + formula + " = " + fmt((double) numerator / s + 1)
                    + " is not positive: the window (" + span + " wide) is larger than the padded input ("
                    + (in + padL + padR) + ")");
        }
        if (numerator % s != 0) {
            throw new IllegalArgumentException(where + ": " + formula + " = " + fmt((double) numerator / s + 1)
                    + " is not an integer");
        }
        return numerator / s + 1;
    }

    /**
     * Checks one dimension's window settings on their own (extent, stride and dilation >= 1, padding >= 0), so a
     * family can check every dimension's settings before any output size is computed: a bad setting is then
     * named as such, not reported as a shape that does not divide.
     */
    public static void requireWindow(String where, String dim, long f, long s, long padL, long padR, long dilation) {
        requireWindow(where, dim, f, s, dilation);
        if (padL < 0 || padR < 0) {
            throw new IllegalArgumentException(where + ": padding P" + dim + " must be >= 0, got " + padL
                    + (padL == padR ? "" : "/" + padR));
        }
    }

    private static String formula(String dim, long in, long f, long s, long padL, long padR, long dilation) {
        String w1 = dim + "1";
        String w2 = dim + "2";
        String pads = padL == padR ? "2P" : "PL + PR";
        String padNums = padL == padR ? String.valueOf(2 * padL) : padL + " + " + padR;
        if (dilation == 1) {
            return w2 + " = (" + w1 + " - F + " + pads + ")/S + 1 = (" + in + " - " + f + " + " + padNums + ")/" + s + " + 1";
        }
        return w2 + " = (" + w1 + " - D*(F-1) - 1 + " + pads + ")/S + 1 = (" + in + " - " + dilation + "*(" + f
                + "-1) - 1 + " + padNums + ")/" + s + " + 1";
    }

    private static String fmt(double v) {
        if (v == Math.rint(v)) {
            return String.valueOf((long) v);
        }
        String s = String.format(java.util.Locale.ROOT, "%.4f", v);
        return s.replaceAll("0+$", "");
    }

    /**
     * "same" padding (TensorFlow's rule): output {@code ceil(in/s)} for every extent, stride and dilation, the
     * odd pixel of padding on the right/bottom. Returns {@code {padLeft, padRight}}. Where the window is
     * shorter than the stride the padding needed is negative: none is added and the last input pixels are not
     * read (as in TensorFlow); the output is then {@link #sameOutput}, which {@link #windowOutput} would reject as
     * not an integer, and oneDNN accepts it (it rounds the output size down).
     *
     * @param where    layer name for the message, e.g. {@code conv1}
     * @param dim      dimension letter ({@code W}, {@code H}, {@code D})
     * @param dilation public convention: 1 = none
     */
    public static long[] samePadding(String where, String dim, long in, long f, long s, long dilation) {
        requireWindow(where, dim, f, s, dilation);
        long out = sameOutput(in, s);
        long total = Math.max((out - 1) * s + dilation * (f - 1) + 1 - in, 0);
        return new long[] {total / 2, total - total / 2};
    }

    /** The output extent of "same" padding, {@code ceil(in/s)} ({@code s >= 1}). */
    public static long sameOutput(long in, long s) {
        return (in + s - 1) / s;
    }

    private static void requireWindow(String where, String dim, long f, long s, long dilation) {
        if (f < 1) {
            throw new IllegalArgumentException(where + ": extent F" + dim + " must be >= 1, got " + f);
        }
        if (s < 1) {
            throw new IllegalArgumentException(where + ": stride S" + dim + " must be >= 1, got " + s);
        }
        if (dilation < 1) {
            throw new IllegalArgumentException(where + ": dilation " + dim + " must be >= 1 (1 = none), got " + dilation);
        }
    }

    /** Throws unless {@code dims} has one of the allowed ranks, in PyTorch's words. */
    public static void requireRank(String where, long[] dims, int... ranks) {
        for (int r : ranks) {
            if (dims.length == r) {
                return;
            }
        }
        StringBuilder want = new StringBuilder();
        for (int i = 0; i < ranks.length; i++) {
            want.append(i == 0 ? "" : i == ranks.length - 1 ? " or " : ", ").append(ranks[i]).append("D");
        }
        throw new IllegalArgumentException(where + ": expected " + want + " input (got " + dims.length + "D: "
                + java.util.Arrays.toString(dims) + ")");
    }

    /**
     * The conventional names of an activation's dims: {@code N, C, [[D,] H,] W} for rank 3 to 5, {@code N, C}
     * for rank 2, {@code d0, d1, ...} otherwise.
     */
    public static String[] activationDimNames(int rank) {
        return switch (rank) {
            case 2 -> new String[] {"N", "C"};
            case 3 -> new String[] {"N", "C", "W"};
            case 4 -> new String[] {"N", "C", "H", "W"};
            case 5 -> new String[] {"N", "C", "D", "H", "W"};
            default -> {
                String[] n = new String[rank];
                for (int i = 0; i < rank; i++) {
                    n[i] = "d" + i;
                }
                yield n;
            }
        };
    }

    /**
     * Checks the dims of argument {@code what} of {@code where} against {@link MemoryDesc}'s limits (each in
     * {@code 1..MAX_DIM}, at most {@code MAX_ELEMENTS} in all) before any descriptor is made, and names the
     * offending dimension: {@code conv1: src dimension C = 2147483648 is over oneDNN's limit of 2147483647
     * (src dims [2, 2147483648, 7, 7])}. {@code names} holds one name per dim, or is null for activation names.
     * {@code causes}, when the dims are derived (a weights or dst shape), says which settings produce them.
     */
    public static void requireDims(String where, String what, long[] dims, String[] names, String causes) {
        if (dims == null) {
            throw new IllegalArgumentException(where + ": no " + what + " dims given");
        }
        String[] n = names != null ? names : activationDimNames(dims.length);
        String from = causes == null ? "" : "; it follows from " + causes;
        for (int i = 0; i < dims.length; i++) {
            String dim = i < n.length ? n[i] : "d" + i;
            if (dims[i] <= 0) {
                throw new IllegalArgumentException(where + ": " + what + " dimension " + dim + " = " + dims[i]
                        + " must be positive (" + what + " dims " + java.util.Arrays.toString(dims) + ")" + from);
            }
            if (dims[i] > MemoryDesc.MAX_DIM) {
                throw new IllegalArgumentException(where + ": " + what + " dimension " + dim + " = " + dims[i]
                        + " is over oneDNN's limit of " + MemoryDesc.MAX_DIM + " (MemoryDesc.MAX_DIM; " + what
                        + " dims " + java.util.Arrays.toString(dims) + ")" + from);
            }
        }
        long count = 1;
        for (long d : dims) {
            count = count > MemoryDesc.MAX_ELEMENTS ? count : count * d; // each factor <= 2^31: no overflow
        }
        if (count > MemoryDesc.MAX_ELEMENTS) {
            throw new IllegalArgumentException(where + ": " + what + " " + java.util.Arrays.toString(dims) + " ("
                    + String.join(" x ", java.util.Arrays.copyOf(n, Math.min(n.length, dims.length)))
                    + ") holds more than " + MemoryDesc.MAX_ELEMENTS
                    + " elements, the most one tensor may hold (MemoryDesc.MAX_ELEMENTS)" + from);
        }
    }

    /** {@link #requireDims(String, String, long[], String[], String)} for an activation given by the user. */
    public static void requireDims(String where, String what, long[] dims) {
        requireDims(where, what, dims, null, null);
    }
}
