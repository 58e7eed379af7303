package dev.stride.eltwise;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.function.IntSupplier;

/**
 * Element-wise functions {@code dst = f(src; alpha, beta)} (ReLU, tanh, sigmoid, ...), oneDNN's eltwise
 * primitive, and their derivatives {@code diff_src = diff_dst * f'(x)}.
 *
 * <p>The algorithms, with the role of {@code alpha} and {@code beta} (unused ones are ignored):
 * <ul>
 *   <li>{@code RELU}: {@code x > 0 ? x : alpha*x} (leaky ReLU with {@code alpha} the negative slope; 0 = ReLU)
 *   <li>{@code ELU}: {@code x > 0 ? x : alpha*(e^x - 1)}
 *   <li>{@code GELU_TANH}: {@code 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))}; {@code GELU_ERF}:
 *       {@code 0.5x(1 + erf(x/sqrt 2))}
 *   <li>{@code LOGISTIC}: {@code 1/(1 + e^-x)}; {@code TANH}; {@code SWISH}: {@code x * sigmoid(alpha*x)}
 *   <li>{@code SQUARE}: {@code x^2}; {@code SQRT}: {@code sqrt(x)}; {@code ABS}: {@code |x|}
 *   <li>{@code LINEAR}: {@code alpha*x + beta}; {@code CLIP}: {@code min(beta, max(alpha, x))}
 * </ul>
 * The {@code *_USE_DST} variants compute the same forward but take their derivative from {@code dst} instead
 * of {@code src}, so a network may drop the source (or run the forward in place): {@code relu'} from
 * {@code dst > 0}, {@code tanh' = 1 - dst^2}, {@code sigmoid' = dst(1 - dst)}, {@code elu' = dst + alpha}
 * for negative inputs, {@code sqrt' = 1/(2 dst)}.
 *
 * <p><b>Shape</b>: any; dst and the gradients have the source's dims and layout.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Eltwise {
    private Eltwise() {}

    /** Element-wise functions: forward formula and its derivative are oneDNN's. */
    public enum Algorithm {
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

        Algorithm(String label, IntSupplier value) {
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

    /** Whether {@code alg}'s backward pass reads {@code dst} (the {@code *_USE_DST} variants) instead of {@code src}. */
    public static boolean usesDstForBackward(Algorithm alg) {
        return switch (alg) {
            case RELU_USE_DST, TANH_USE_DST, ELU_USE_DST, SQRT_USE_DST, LOGISTIC_USE_DST, EXP_USE_DST -> true;
            default -> false;
        };
    }

    /** Rejects parameters oneDNN would refuse or that make no sense, before any native call. */
    static void validate(String name, Algorithm alg, float alpha, float beta) {
        if (!Float.isFinite(alpha) || !Float.isFinite(beta)) {
            throw new IllegalArgumentException(name + ": eltwise " + alg.label() + " needs finite alpha and beta, got alpha="
                    + alpha + ", beta=" + beta);
        }
        if ((alg == Algorithm.CLIP || alg == Algorithm.CLIP_V2) && alpha > beta) {
            throw new IllegalArgumentException(name + ": " + alg.label() + " = min(beta, max(alpha, x)) needs alpha <= beta, got alpha="
                    + alpha + " > beta=" + beta);
        }
        // Recovering the derivative from dst needs a monotone map with dst and src of the same sign.
        if ((alg == Algorithm.RELU_USE_DST || alg == Algorithm.ELU_USE_DST) && alpha < 0) {
            throw new IllegalArgumentException(name + ": " + alg.label() + " takes its derivative from dst, which needs alpha >= 0, got alpha="
                    + alpha);
        }
    }

    /** The forward primitive for one source layout. */
    public static final class Forward extends PrimitiveOp {
        private final Algorithm alg;
        private final float alpha;
        private final float beta;
        private final PropKind mode;

        private Forward(Scope scope, String name, Algorithm alg, float alpha, float beta, PropKind mode,
                Primitive primitive) {
            this.alg = alg;
            this.alpha = alpha;
            this.beta = beta;
            this.mode = mode;
            super(scope, name, primitive);
        }

        /**
         * Creates {@code dst = alg(src; alpha, beta)} for sources laid out as {@code src} (a concrete layout,
         * not {@code any}); {@code mode} says whether the backward pass will follow.
         */
        public static Forward create(Scope scope, String name, MemoryDesc src, Algorithm alg, float alpha,
                float beta, PropKind mode) {
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": eltwise needs a concrete source layout, not 'any'");
            }
            validate(name, alg, alpha, beta);
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                int prop = mode.value();
                Primitive p = Primitive.create(scope, name + " (eltwise " + alg.label() + ")",
                        out -> dnnl_h.dnnl_eltwise_forward_primitive_desc_create(out, e.handle(), prop, alg.value(),
                                src.handle(), src.handle(), alpha, beta, attr.handle()));
                return new Forward(scope, name, alg, alpha, beta, mode, p);
            }
        }

        public Algorithm algorithm() {
            return alg;
        }

        public float alpha() {
            return alpha;
        }

        public float beta() {
            return beta;
        }

        public PropKind mode() {
            return mode;
        }

        public MemoryDesc srcDesc() {
            return argDesc(Arg.SRC);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Binds source and destination (the same tensor for in-place) once for repeated execution. */
        public ExecArgs bind(Scope scope, Tensor src, Tensor dst) {
            return primitive.args().add(Arg.SRC, src).add(Arg.DST, dst).build(scope);
        }

        @Override
        public String describe() {
            return "Eltwise.Forward " + name + " (" + alg.label() + ")";
        }
    }

    /**
     * The backward pass {@code diff_src = diff_dst * f'(x)}, with {@code x} read from {@code src}, or from
     * {@code dst} for the {@code *_USE_DST} algorithms (see {@link #usesDstForBackward}).
     */
    public static final class Backward extends PrimitiveOp {
        private final Forward forward;

        private Backward(Scope scope, String name, Forward forward, Primitive primitive) {
            this.forward = forward;
            super(scope, name, primitive);
        }

        /**
         * Creates the backward pass of {@code forward} (a {@code TRAINING} forward), with its algorithm,
         * {@code alpha} and {@code beta}; gradients take the forward's layout.
         */
        public static Backward create(Scope scope, String name, Forward forward) {
            if (forward.mode() != PropKind.TRAINING) {
                throw new IllegalArgumentException(name + ": a backward pass needs a forward created for TRAINING, '"
                        + forward.name() + "' was created for " + forward.mode());
            }
            Algorithm alg = forward.algorithm();
            MemoryDesc data = usesDstForBackward(alg) ? forward.dstDesc() : forward.srcDesc();
            float alpha = forward.alpha();
            float beta = forward.beta();
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                Primitive p = Primitive.create(scope, name + " (eltwise " + alg.label() + " backward)",
                        out -> dnnl_h.dnnl_eltwise_backward_primitive_desc_create(out, e.handle(), alg.value(),
                                data.handle(), data.handle(), data.handle(), alpha, beta,
                                forward.primitive().descHandle(), attr.handle()));
                return new Backward(scope, name, forward, p);
            }
        }

        /** True when {@link #bind} wants the forward's {@code dst} as {@code data}, false for its {@code src}. */
        public boolean usesDst() {
            return usesDstForBackward(forward.algorithm());
        }

        /** The layout of the tensor the derivative is computed from ({@code src} or {@code dst}). */
        public MemoryDesc dataDesc() {
            return argDesc(usesDst() ? Arg.DST : Arg.SRC);
        }

        public MemoryDesc diffDstDesc() {
            return argDesc(Arg.DIFF_DST);
        }

        public MemoryDesc diffSrcDesc() {
            return argDesc(Arg.DIFF_SRC);
        }

        /**
         * Binds the tensors once: {@code data} is the forward's {@code src}, or its {@code dst} when
         * {@link #usesDst()}; {@code diffSrc} may be {@code diffDst} itself (in place).
         */
        public ExecArgs bind(Scope scope, Tensor data, Tensor diffDst, Tensor diffSrc) {
            return primitive.args().add(usesDst() ? Arg.DST : Arg.SRC, data).add(Arg.DIFF_DST, diffDst)
                    .add(Arg.DIFF_SRC, diffSrc).build(scope);
        }

        @Override
        public String describe() {
            return "Eltwise.Backward " + name + " (" + forward.algorithm().label() + ")";
        }
    }
}
