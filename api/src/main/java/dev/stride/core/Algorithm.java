package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import java.util.function.IntSupplier;

/**
 * oneDNN algorithm kinds ({@code dnnl_alg_kind_t}), grouped by the primitive that takes them.
 *
 * <p>Immutable: constants only.
 */
public final class Algorithm {
    private Algorithm() {}

    /** Element-wise functions: forward formula and its derivative are oneDNN's. */
    public enum Eltwise {
        RELU("relu", dnnl_h::dnnl_eltwise_relu),
        TANH("tanh", dnnl_h::dnnl_eltwise_tanh),
        ELU("elu", dnnl_h::dnnl_eltwise_elu),
        SQUARE("square", dnnl_h::dnnl_eltwise_square),
        ABS("abs", dnnl_h::dnnl_eltwise_abs),
        SQRT("sqrt", dnnl_h::dnnl_eltwise_sqrt),
        LINEAR("linear", dnnl_h::dnnl_eltwise_linear),
        SOFT_RELU("soft_relu", dnnl_h::dnnl_eltwise_soft_relu),
        LOGISTIC("sigmoid", dnnl_h::dnnl_eltwise_logistic),
        EXP("exp", dnnl_h::dnnl_eltwise_exp),
        GELU_TANH("gelu_tanh", dnnl_h::dnnl_eltwise_gelu_tanh),
        GELU_ERF("gelu_erf", dnnl_h::dnnl_eltwise_gelu_erf),
        SWISH("swish", dnnl_h::dnnl_eltwise_swish),
        LOG("log", dnnl_h::dnnl_eltwise_log),
        CLIP("clip", dnnl_h::dnnl_eltwise_clip),
        CLIP_V2("clip_v2", dnnl_h::dnnl_eltwise_clip_v2),
        POW("pow", dnnl_h::dnnl_eltwise_pow),
        HARDSWISH("hardswish", dnnl_h::dnnl_eltwise_hardswish),
        HARDSIGMOID("hardsigmoid", dnnl_h::dnnl_eltwise_hardsigmoid),
        RELU_USE_DST("relu(dst)", dnnl_h::dnnl_eltwise_relu_use_dst_for_bwd),
        TANH_USE_DST("tanh(dst)", dnnl_h::dnnl_eltwise_tanh_use_dst_for_bwd),
        ELU_USE_DST("elu(dst)", dnnl_h::dnnl_eltwise_elu_use_dst_for_bwd),
        SQRT_USE_DST("sqrt(dst)", dnnl_h::dnnl_eltwise_sqrt_use_dst_for_bwd),
        LOGISTIC_USE_DST("sigmoid(dst)", dnnl_h::dnnl_eltwise_logistic_use_dst_for_bwd),
        EXP_USE_DST("exp(dst)", dnnl_h::dnnl_eltwise_exp_use_dst_for_bwd);

        private final String label;
        private final IntSupplier value;

        Eltwise(String label, IntSupplier value) {
            this.label = label;
            this.value = value;
        }

        public String label() {
            return label;
        }

        public int value() {
            return value.getAsInt();
        }
    }
}
