/* C twins of NormFamilyBench: batch normalization (32x64x56x56 f32, nhwc: the network's concrete layout) and
 * layer normalization ((6272, 256) f32, plain ab, statistics over the last dim in a plain (6272) descriptor,
 * as LayerNorm passes it), both with scale and shift, epsilon 1e-5, forward_training (computes and writes mean
 * and variance), backward with prop kind dnnl_backward (diff_src, diff_scale, diff_shift) and the forward as
 * hint, dst and diff layouts as the src's, user scratchpad, as Stride's BatchNorm and LayerNorm do.
 * Fills: src 0.5, scale 1, shift 0, mean 0.5, variance 1, diff_dst 0.1.
 *
 * Usage: norm_family [case]; cases: bn_fwd bn_bwd ln_fwd ln_bwd (none: all). */
#include "bench_common.h"

#define EPS 1e-5f
#define FLAGS (dnnl_use_scale | dnnl_use_shift)

static const char *const KEYS = "bn_fwd bn_bwd ln_fwd ln_bwd";

static void run_bn(int backward, dnnl_engine_t eng, dnnl_stream_t stream) {
    const dnnl_dims_t dims = {32, 64, 56, 56};
    dnnl_memory_desc_t src = md_tag(4, dims, dnnl_nhwc);
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t fwd;
    CHECK(dnnl_batch_normalization_forward_primitive_desc_create(&fwd, eng, dnnl_forward_training, src, src, EPS,
            FLAGS, attr));
    if (backward) {
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_batch_normalization_backward_primitive_desc_create(&pd, eng, dnnl_backward, src, src, src, EPS,
                FLAGS, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_MEAN, 0.5f}, {DNNL_ARG_VARIANCE, 1.0f},
                {DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_SCALE, 1.0f}, {DNNL_ARG_DIFF_SRC, 0.0f},
                {DNNL_ARG_DIFF_SCALE, 0.0f}, {DNNL_ARG_DIFF_SHIFT, 0.0f}};
        bench_primitive("bnorm_bwd_32x64x56x56", pd, eng, stream, af, 8, 0);
        CHECK(dnnl_primitive_desc_destroy(pd));
    } else {
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_SCALE, 1.0f}, {DNNL_ARG_SHIFT, 0.0f},
                {DNNL_ARG_DST, 0.0f}, {DNNL_ARG_MEAN, 0.0f}, {DNNL_ARG_VARIANCE, 0.0f}};
        bench_primitive("bnorm_fwd_training_32x64x56x56", fwd, eng, stream, af, 6, 0);
    }
    CHECK(dnnl_primitive_desc_destroy(fwd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(src));
}

static void run_ln(int backward, dnnl_engine_t eng, dnnl_stream_t stream) {
    const dnnl_dims_t dims = {6272, 256}, stat_dims = {6272};
    dnnl_memory_desc_t src = md_tag(2, dims, dnnl_ab);
    dnnl_memory_desc_t stat = md_tag(1, stat_dims, dnnl_a); /* plain, as LayerNorm passes it */
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t fwd;
    CHECK(dnnl_layer_normalization_forward_primitive_desc_create(&fwd, eng, dnnl_forward_training, src, src, stat,
            EPS, FLAGS, attr));
    if (backward) {
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_layer_normalization_backward_primitive_desc_create(&pd, eng, dnnl_backward, src, src, src, stat,
                EPS, FLAGS, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_MEAN, 0.5f}, {DNNL_ARG_VARIANCE, 1.0f},
                {DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_SCALE, 1.0f}, {DNNL_ARG_DIFF_SRC, 0.0f},
                {DNNL_ARG_DIFF_SCALE, 0.0f}, {DNNL_ARG_DIFF_SHIFT, 0.0f}};
        bench_primitive("lnorm_bwd_6272x256", pd, eng, stream, af, 8, 0);
        CHECK(dnnl_primitive_desc_destroy(pd));
    } else {
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_SCALE, 1.0f}, {DNNL_ARG_SHIFT, 0.0f},
                {DNNL_ARG_DST, 0.0f}, {DNNL_ARG_MEAN, 0.0f}, {DNNL_ARG_VARIANCE, 0.0f}};
        bench_primitive("lnorm_fwd_training_6272x256", fwd, eng, stream, af, 6, 0);
    }
    CHECK(dnnl_primitive_desc_destroy(fwd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(stat));
    CHECK(dnnl_memory_desc_destroy(src));
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "all") != 0 && !strstr(KEYS, argv[1])) {
        fprintf(stderr, "norm_family: unknown case '%s' (%s)\n", argv[1], KEYS);
        return 2;
    }
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    if (wants(argc, argv, "bn_fwd")) { run_bn(0, eng, stream); fflush(stdout); }
    if (wants(argc, argv, "bn_bwd")) { run_bn(1, eng, stream); fflush(stdout); }
    if (wants(argc, argv, "ln_fwd")) { run_ln(0, eng, stream); fflush(stdout); }
    if (wants(argc, argv, "ln_bwd")) { run_ln(1, eng, stream); fflush(stdout); }
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    return 0;
}
