package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;

/**
 * Execution argument kinds ({@code DNNL_ARG_*}) with their names, for binding and for error messages.
 *
 * <p>Immutable: constants only.
 */
public final class Arg {
    private Arg() {}

    public static final int SRC = dnnl_h.DNNL_ARG_SRC();
    public static final int SRC_1 = dnnl_h.DNNL_ARG_SRC_1();
    public static final int DST = dnnl_h.DNNL_ARG_DST();
    public static final int WEIGHTS = dnnl_h.DNNL_ARG_WEIGHTS();
    public static final int BIAS = dnnl_h.DNNL_ARG_BIAS();
    public static final int MEAN = dnnl_h.DNNL_ARG_MEAN();
    public static final int VARIANCE = dnnl_h.DNNL_ARG_VARIANCE();
    public static final int SCALE = dnnl_h.DNNL_ARG_SCALE();
    public static final int SHIFT = dnnl_h.DNNL_ARG_SHIFT();
    public static final int WORKSPACE = dnnl_h.DNNL_ARG_WORKSPACE();
    public static final int SCRATCHPAD = dnnl_h.DNNL_ARG_SCRATCHPAD();
    public static final int DIFF_SRC = dnnl_h.DNNL_ARG_DIFF_SRC();
    public static final int DIFF_SRC_1 = dnnl_h.DNNL_ARG_DIFF_SRC_1();
    public static final int DIFF_DST = dnnl_h.DNNL_ARG_DIFF_DST();
    public static final int DIFF_WEIGHTS = dnnl_h.DNNL_ARG_DIFF_WEIGHTS();
    public static final int DIFF_BIAS = dnnl_h.DNNL_ARG_DIFF_BIAS();
    public static final int DIFF_SCALE = dnnl_h.DNNL_ARG_DIFF_SCALE();
    public static final int DIFF_SHIFT = dnnl_h.DNNL_ARG_DIFF_SHIFT();
    public static final int MULTIPLE_SRC = dnnl_h.DNNL_ARG_MULTIPLE_SRC();
    public static final int FROM = dnnl_h.DNNL_ARG_FROM();
    public static final int TO = dnnl_h.DNNL_ARG_TO();

    /** The {@code DNNL_ARG_*} name of an argument kind. */
    public static String name(int arg) {
        if (arg >= MULTIPLE_SRC && arg < MULTIPLE_SRC + 1024) {
            return "DNNL_ARG_MULTIPLE_SRC + " + (arg - MULTIPLE_SRC);
        }
        String n;
        if (arg == SRC) n = "SRC";
        else if (arg == SRC_1) n = "SRC_1";
        else if (arg == DST) n = "DST";
        else if (arg == WEIGHTS) n = "WEIGHTS";
        else if (arg == BIAS) n = "BIAS";
        else if (arg == MEAN) n = "MEAN";
        else if (arg == VARIANCE) n = "VARIANCE";
        else if (arg == SCALE) n = "SCALE";
        else if (arg == SHIFT) n = "SHIFT";
        else if (arg == WORKSPACE) n = "WORKSPACE";
        else if (arg == SCRATCHPAD) n = "SCRATCHPAD";
        else if (arg == DIFF_SRC) n = "DIFF_SRC";
        else if (arg == DIFF_SRC_1) n = "DIFF_SRC_1";
        else if (arg == DIFF_DST) n = "DIFF_DST";
        else if (arg == DIFF_WEIGHTS) n = "DIFF_WEIGHTS";
        else if (arg == DIFF_BIAS) n = "DIFF_BIAS";
        else if (arg == DIFF_SCALE) n = "DIFF_SCALE";
        else if (arg == DIFF_SHIFT) n = "DIFF_SHIFT";
        else n = String.valueOf(arg);
        return "DNNL_ARG_" + n;
    }
}
