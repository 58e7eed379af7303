package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.util.function.IntSupplier;

/**
 * Memory format tags ({@code dnnl_format_tag_t}): the plain layouts people read, and {@link #ANY}, which
 * lets a primitive choose its own (usually blocked, e.g. {@code nChw16c}) layout.
 *
 * <p>Immutable: an enum of constants.
 */
public enum FormatTag {
    ANY("any", 0, dnnl_h::dnnl_format_tag_any),
    A("a", 1, dnnl_h::dnnl_a),
    AB("ab", 2, dnnl_h::dnnl_ab),
    BA("ba", 2, dnnl_h::dnnl_ba),
    ABC("abc", 3, dnnl_h::dnnl_abc),
    ACB("acb", 3, dnnl_h::dnnl_acb),
    ABCD("abcd", 4, dnnl_h::dnnl_abcd),
    ACDB("acdb", 4, dnnl_h::dnnl_acdb),
    ABCDE("abcde", 5, dnnl_h::dnnl_abcde),
    ACDEB("acdeb", 5, dnnl_h::dnnl_acdeb),
    ABCDEF("abcdef", 6, dnnl_h::dnnl_abcdef),
    /** Channels blocked by 8 ({@code nChw8c}, AVX2's activation layout). */
    ABCD8B("aBcd8b", 4, dnnl_h::dnnl_aBcd8b),
    /** Channels blocked by 16 ({@code nChw16c}, AVX-512's activation layout). */
    ABCD16B("aBcd16b", 4, dnnl_h::dnnl_aBcd16b),
    /** 3D, channels blocked by 8 ({@code nCdhw8c}). */
    ABCDE8B("aBcde8b", 5, dnnl_h::dnnl_aBcde8b),
    /** 3D, channels blocked by 16 ({@code nCdhw16c}). */
    ABCDE16B("aBcde16b", 5, dnnl_h::dnnl_aBcde16b);

    /** Batch, channels, width: {@code ncw}. */
    public static final FormatTag NCW = ABC;
    /** Batch, channels, height, width: {@code nchw}. */
    public static final FormatTag NCHW = ABCD;
    /** Channels last: {@code nhwc}. */
    public static final FormatTag NHWC = ACDB;
    /** 3D: {@code ncdhw}. */
    public static final FormatTag NCDHW = ABCDE;
    /** Output channels, input channels, height, width: {@code oihw}. */
    public static final FormatTag OIHW = ABCD;
    /** Grouped weights: {@code goihw}. */
    public static final FormatTag GOIHW = ABCDE;
    /** 3D weights: {@code oidhw}. */
    public static final FormatTag OIDHW = ABCDE;
    /** Grouped 3D weights: {@code goidhw}. */
    public static final FormatTag GOIDHW = ABCDEF;

    private final String label;
    private final int ndims;
    private final IntSupplier value;

    FormatTag(String label, int ndims, IntSupplier value) {
        this.label = label;
        this.ndims = ndims;
        this.value = value;
    }

    /** The plain row-major tag for {@code ndims} dimensions ({@code a}, {@code ab}, ... {@code abcdef}). */
    public static FormatTag plain(int ndims) {
        return switch (ndims) {
            case 1 -> A;
            case 2 -> AB;
            case 3 -> ABC;
            case 4 -> ABCD;
            case 5 -> ABCDE;
            case 6 -> ABCDEF;
            default -> throw new IllegalArgumentException("no plain format for " + ndims + " dimensions (1..6 supported)");
        };
    }

    /**
     * The tag spelled {@code layout} as {@link MemoryDesc#layout()} spells it ({@code abcd}, {@code aBcd8b}),
     * or null when this enum has none.
     */
    public static FormatTag ofLayout(String layout) {
        for (FormatTag t : values()) {
            if (t != ANY && t.label.equals(layout)) {
                return t;
            }
        }
        return null;
    }

    /** Number of dimensions this tag describes (0 for {@link #ANY}). */
    public int ndims() {
        return ndims;
    }

    public String label() {
        return label;
    }

    /** The {@code dnnl_format_tag_t} value. */
    public int value() {
        return value.getAsInt();
    }
}
