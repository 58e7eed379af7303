package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.util.function.IntSupplier;

/**
 * Element types ({@code dnnl_data_type_t}) Stride works with.
 *
 * <p>Immutable: an enum of constants.
 */
public enum DataType {
    F32("f32", 4, dnnl_h::dnnl_f32),
    BF16("bf16", 2, dnnl_h::dnnl_bf16),
    F16("f16", 2, dnnl_h::dnnl_f16),
    S32("s32", 4, dnnl_h::dnnl_s32),
    S8("s8", 1, dnnl_h::dnnl_s8),
    U8("u8", 1, dnnl_h::dnnl_u8);

    private final String label;
    private final int bytes;
    private final IntSupplier value;

    DataType(String label, int bytes, IntSupplier value) {
        this.label = label;
        this.bytes = bytes;
        this.value = value;
    }

    public int bytes() {
        return bytes;
    }

    public String label() {
        return label;
    }

    /** The {@code dnnl_data_type_t} value. */
    public int value() {
        return value.getAsInt();
    }

    static DataType fromValue(int v) {
        for (DataType t : values()) {
            if (t.value() == v) {
                return t;
            }
        }
        throw new IllegalArgumentException("unsupported oneDNN data type " + v);
    }
}
