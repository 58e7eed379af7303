package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.util.Locale;
import java.util.function.IntSupplier;

/**
 * oneDNN's CPU instruction-set levels ({@code dnnl_cpu_isa_t}), by the names oneDNN uses.
 *
 * <p>Immutable: an enum of constants.
 */
public enum CpuIsa {
    DEFAULT("default", dnnl_h::dnnl_cpu_isa_default),
    SSE41("sse41", dnnl_h::dnnl_cpu_isa_sse41),
    AVX("avx", dnnl_h::dnnl_cpu_isa_avx),
    AVX2("avx2", dnnl_h::dnnl_cpu_isa_avx2),
    AVX2_VNNI("avx2_vnni", dnnl_h::dnnl_cpu_isa_avx2_vnni),
    AVX2_VNNI_2("avx2_vnni_2", dnnl_h::dnnl_cpu_isa_avx2_vnni_2),
    AVX512_CORE("avx512_core", dnnl_h::dnnl_cpu_isa_avx512_core),
    AVX512_CORE_VNNI("avx512_core_vnni", dnnl_h::dnnl_cpu_isa_avx512_core_vnni),
    AVX512_CORE_BF16("avx512_core_bf16", dnnl_h::dnnl_cpu_isa_avx512_core_bf16),
    AVX10_1_512("avx10_1_512", dnnl_h::dnnl_cpu_isa_avx10_1_512),
    AVX512_CORE_FP16("avx512_core_fp16", dnnl_h::dnnl_cpu_isa_avx512_core_fp16),
    AVX10_1_512_AMX("avx10_1_512_amx", dnnl_h::dnnl_cpu_isa_avx10_1_512_amx),
    AVX512_CORE_AMX("avx512_core_amx", dnnl_h::dnnl_cpu_isa_avx512_core_amx),
    AVX10_1_512_AMX_FP16("avx10_1_512_amx_fp16", dnnl_h::dnnl_cpu_isa_avx10_1_512_amx_fp16),
    AVX512_CORE_AMX_FP16("avx512_core_amx_fp16", dnnl_h::dnnl_cpu_isa_avx512_core_amx_fp16),
    AVX10_2_512("avx10_2_512", dnnl_h::dnnl_cpu_isa_avx10_2_512),
    AVX10_2_512_AMX_2("avx10_2_512_amx_2", dnnl_h::dnnl_cpu_isa_avx10_2_512_amx_2);

    private final String label;
    private final IntSupplier value;

    CpuIsa(String label, IntSupplier value) {
        this.label = label;
        this.value = value;
    }

    public String label() {
        return label;
    }

    int value() {
        return value.getAsInt();
    }

    static CpuIsa fromValue(int v) {
        // Aliases share a value (avx512_core_fp16 = avx10_1_512): the first, newer name wins.
        for (CpuIsa isa : values()) {
            if (isa.value() == v) {
                return isa;
            }
        }
        return DEFAULT;
    }

    /** Parses oneDNN's spelling ({@code avx2}, {@code AVX512_CORE}, ...). */
    public static CpuIsa parse(String s) {
        String key = s.trim().toLowerCase(Locale.ROOT);
        for (CpuIsa isa : values()) {
            if (isa.label.equals(key)) {
                return isa;
            }
        }
        StringBuilder known = new StringBuilder();
        for (CpuIsa isa : values()) {
            known.append(known.isEmpty() ? "" : ", ").append(isa.label);
        }
        throw new IllegalArgumentException("unknown CPU ISA '" + s + "'; known: " + known);
    }
}
