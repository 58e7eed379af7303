package dev.stride.nn.layers;

import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PostOps;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Mode;
import dev.stride.nn.PlanContext;
import java.util.ArrayList;
import java.util.List;

/**
 * The planned form of a layer with weights (convolution, fully connected): forward with bias and a fused
 * activation as post-ops, backward data and backward weights. Weights stay plain in the network (what
 * optimizers, checkpoints and users see); when a primitive chose a blocked weights layout, a reorder before it
 * brings the current values in (a few hundred KB at most: far cheaper than the convolution), and the weight
 * gradient is reordered back to plain.
 */
final class WeightedOp implements LayerOp {

    /** A primitive with its three layouts and how to bind them. */
    interface Prim {
        PrimitiveOp op();

        MemoryDesc a();

        MemoryDesc b();

        MemoryDesc c();

        ExecArgs bind(Scope scope, Tensor a, Tensor b, Tensor c, Tensor d);
    }

    /** The family's three primitives: forward (src, weights, dst), backward data, backward weights. */
    interface Family {
        /** Forward: a = src, b = weights, c = dst; bind(src, weights, bias, dst). */
        Prim forward(PostOps postOps, boolean withBias);

        /** Backward data: a = diff_dst, b = weights, c = diff_src; bind(diffDst, weights, diffSrc, unused). */
        Prim backwardData();

        /** Backward weights: a = src, b = diff_dst, c = diff_weights; bind(src, diffDst, diffWeights, diffBias). */
        Prim backwardWeights();
    }

    private final PlanContext ctx;
    private final Family family;
    private final String describe;
    private final List<Runnable> before = new ArrayList<>();
    private final Runnable forward;
    private final Tensor src;
    private final Tensor dst;
    private final Tensor weights;
    private final Tensor bias;
    private final List<Runnable> backward = new ArrayList<>();

    WeightedOp(PlanContext ctx, Family family, String kind) {
        this.ctx = ctx;
        this.family = family;
        ActivationLayer act = ctx.fusedActivation();
        PostOps post = null;
        if (act != null) {
            post = PostOps.create(ctx.scope()).eltwise(act.algorithm(), act.alpha(), act.beta());
        }
        BatchNormFolding folding = ctx.foldedBatchNorm() == null ? null : new BatchNormFolding(ctx);
        boolean hasBias = ctx.hasTensor("bias") || folding != null;
        Prim f = family.forward(post, hasBias);
        this.src = ctx.inLayout(ctx.input(), f.a(), before, "src");
        Tensor plainWeights = folding != null ? folding.weights() : ctx.tensor("weight");
        this.weights = ctx.inLayout(plainWeights, f.b(), before, "weights");
        this.bias = folding != null ? folding.bias() : hasBias ? ctx.tensor("bias") : null;
        if (folding != null) {
            before.addFirst(folding);
        }
        this.dst = ctx.output(f.c());
        this.forward = ctx.step(f.op(), f.bind(ctx.scope(), src, weights, bias, dst));
        this.describe = kind + " src " + f.a().layout() + ", weights " + f.b().layout() + ", dst " + f.c().layout()
                + (act != null ? ", post-op " + act.algorithm().label() : "") + (folding != null ? ", BN folded" : "");
    }

    @Override
    public Tensor output() {
        return dst;
    }

    @Override
    public void forward() {
        for (Runnable r : before) {
            r.run();
        }
        forward.run();
    }

    @Override
    public void planBackward(Tensor diffOutput, List<Tensor> diffInputs) {
        Tensor diffDst = diffOutput;
        ActivationLayer act = ctx.fusedActivation();
        if (act != null) {
            // The post-op's derivative, recovered from its output (the *_USE_DST algorithms).
            Eltwise.Algorithm fromDst = fromDst(act.algorithm());
            Eltwise.Forward hint = Eltwise.Forward.create(ctx.scope(), ctx.name() + ".act", dst.desc(), fromDst,
                    act.alpha(), act.beta(), PropKind.TRAINING);
            Eltwise.Backward eb = Eltwise.Backward.create(ctx.scope(), ctx.name() + ".act", hint);
            diffDst = ctx.buffer("diff_pre_activation", dst.desc());
            backward.add(ctx.step(eb, eb.bind(ctx.scope(), dst, diffOutput, diffDst)));
        }
        if (ctx.trainsParameters()) {
            Prim bw = family.backwardWeights();
            Tensor s = ctx.inLayout(src, bw.a(), backward, "src_bwd");
            Tensor dd = ctx.inLayout(diffDst, bw.b(), backward, "diff_dst_bwd_weights");
            List<Runnable> after = new ArrayList<>();
            Tensor dw = ctx.outLayout(ctx.grad("weight"), bw.c(), after, "diff_weights");
            Tensor db = bias == null ? null : ctx.grad("bias");
            backward.add(ctx.step(bw.op(), bw.bind(ctx.scope(), s, dd, dw, db)));
            backward.addAll(after);
        }
        Tensor diffSrc = diffInputs.getFirst();
        if (diffSrc != null) {
            Prim bd = family.backwardData();
            Tensor dd = ctx.inLayout(diffDst, bd.a(), backward, "diff_dst_bwd_data");
            Tensor w = ctx.inLayout(ctx.tensor("weight"), bd.b(), backward, "weights_bwd");
            List<Runnable> after = new ArrayList<>();
            Tensor ds = ctx.outLayout(diffSrc, bd.c(), after, "diff_src");
            backward.add(ctx.step(bd.op(), bd.bind(ctx.scope(), dd, w, ds, null)));
            backward.addAll(after);
        }
    }

    @Override
    public void backward() {
        for (Runnable r : backward) {
            r.run();
        }
    }

    @Override
    public String describe() {
        return describe;
    }

    /** Whether a layer with weights can run {@code act} as a post-op in plans of {@code mode}. */
    static boolean canFuse(ActivationLayer act, Mode mode) {
        if (mode == Mode.INFERENCE) {
            return !Eltwise.usesDstForBackward(act.algorithm());
        }
        return fromDst(act.algorithm()) != null && act.alpha() >= 0;
    }

    /** The variant of {@code alg} whose derivative comes from its output, or null when there is none. */
    static Eltwise.Algorithm fromDst(Eltwise.Algorithm alg) {
        return switch (alg) {
            case RELU -> Eltwise.Algorithm.RELU_USE_DST;
            case TANH -> Eltwise.Algorithm.TANH_USE_DST;
            case ELU -> Eltwise.Algorithm.ELU_USE_DST;
            case SQRT -> Eltwise.Algorithm.SQRT_USE_DST;
            case LOGISTIC -> Eltwise.Algorithm.LOGISTIC_USE_DST;
            case EXP -> Eltwise.Algorithm.EXP_USE_DST;
            default -> null;
        };
    }
}
