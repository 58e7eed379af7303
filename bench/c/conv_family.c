/* C twins of ConvFamilyBench: the convolution rows of issue 3's speed table. Every layout is
 * format_tag_any except the plain 1-D bias (as Stride's Convolution does), the forward is forward_training
 * (Convolution.Forward.create's default, and the hint of the backward primitives), user scratchpad.
 * Fills as the Java side: src 0.5, weights 0.01, bias 0.1, diff_dst 0.1.
 *
 * Usage: conv_family [case]; cases: fwd bwd_data bwd_weights dilated group8 depthwise conv3d (none: all),
 * one result line per case (see bench_common.h). */
#include "bench_common.h"

typedef struct {
    const char *key, *name;
    int sp;                    /* spatial dims: 2 or 3 */
    dnnl_dim_t n, c, k, groups;
    dnnl_dim_t in[3];          /* input spatial extent (D, H, W or H, W) */
    dnnl_dim_t f, pad, dil;    /* square kernel, symmetric padding, oneDNN dilation (0 = none) */
} conv_case;

static const conv_case CASES[] = {
    {"fwd", "conv_fwd_3x3_32x32x28x28_k64", 2, 32, 32, 64, 1, {28, 28}, 3, 1, 0},
    {"bwd_data", "conv_bwd_data_3x3_32x32x28x28_k64", 2, 32, 32, 64, 1, {28, 28}, 3, 1, 0},
    {"bwd_weights", "conv_bwd_weights_3x3_32x32x28x28_k64", 2, 32, 32, 64, 1, {28, 28}, 3, 1, 0},
    {"dilated", "conv_fwd_3x3_d2_32x64x28x28_k64", 2, 32, 64, 64, 1, {28, 28}, 3, 2, 1},
    {"group8", "conv_fwd_3x3_g8_32x64x28x28_k64", 2, 32, 64, 64, 8, {28, 28}, 3, 1, 0},
    {"depthwise", "conv_fwd_3x3_dw_32x64x28x28", 2, 32, 64, 64, 64, {28, 28}, 3, 1, 0},
    {"conv3d", "conv3d_fwd_3x3x3_4x16x16x32x32_k32", 3, 4, 16, 32, 1, {16, 32, 32}, 3, 1, 0},
};

static void run(const conv_case *cc, dnnl_engine_t eng, dnnl_stream_t stream) {
    int sp = cc->sp, nd = sp + 2;
    dnnl_dims_t src_dims = {cc->n, cc->c}, dst_dims = {cc->n, cc->k}, w_dims, b_dims = {cc->k};
    dnnl_dims_t strides, dilates, pad;
    dnnl_dim_t out_points = 1;
    for (int i = 0; i < sp; i++) {
        dnnl_dim_t eff = (cc->f - 1) * (cc->dil + 1) + 1;
        src_dims[2 + i] = cc->in[i];
        dst_dims[2 + i] = cc->in[i] + 2 * cc->pad - eff + 1;
        out_points *= dst_dims[2 + i];
        strides[i] = 1;
        dilates[i] = cc->dil;
        pad[i] = cc->pad;
    }
    int wnd;
    if (cc->groups == 1) { /* K x C x F.. */
        wnd = nd;
        w_dims[0] = cc->k;
        w_dims[1] = cc->c;
        for (int i = 0; i < sp; i++) w_dims[2 + i] = cc->f;
    } else { /* G x K/G x C/G x F.. */
        wnd = nd + 1;
        w_dims[0] = cc->groups;
        w_dims[1] = cc->k / cc->groups;
        w_dims[2] = cc->c / cc->groups;
        for (int i = 0; i < sp; i++) w_dims[3 + i] = cc->f;
    }
    dnnl_dim_t taps = 1;
    for (int i = 0; i < sp; i++) taps *= cc->f;
    double flops = 2.0 * (double)cc->n * (double)cc->k * (double)out_points * (double)(cc->c / cc->groups) * (double)taps;

    dnnl_memory_desc_t src = md_tag(nd, src_dims, dnnl_format_tag_any);
    dnnl_memory_desc_t wei = md_tag(wnd, w_dims, dnnl_format_tag_any);
    dnnl_memory_desc_t bia = md_tag(1, b_dims, dnnl_a);
    dnnl_memory_desc_t dst = md_tag(nd, dst_dims, dnnl_format_tag_any);
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t fwd;
    CHECK(dnnl_convolution_forward_primitive_desc_create(&fwd, eng, dnnl_forward_training, dnnl_convolution_direct,
            src, wei, bia, dst, strides, dilates, pad, pad, attr));
    if (strcmp(cc->key, "bwd_data") == 0) {
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_convolution_backward_data_primitive_desc_create(&pd, eng, dnnl_convolution_direct, src, wei, dst,
                strides, dilates, pad, pad, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_WEIGHTS, 0.01f}, {DNNL_ARG_DIFF_SRC, 0.0f}};
        bench_primitive(cc->name, pd, eng, stream, af, 3, flops);
        CHECK(dnnl_primitive_desc_destroy(pd));
    } else if (strcmp(cc->key, "bwd_weights") == 0) {
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_convolution_backward_weights_primitive_desc_create(&pd, eng, dnnl_convolution_direct, src, wei,
                bia, dst, strides, dilates, pad, pad, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_DIFF_WEIGHTS, 0.0f},
                {DNNL_ARG_DIFF_BIAS, 0.0f}};
        bench_primitive(cc->name, pd, eng, stream, af, 4, flops);
        CHECK(dnnl_primitive_desc_destroy(pd));
    } else {
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_WEIGHTS, 0.01f}, {DNNL_ARG_BIAS, 0.1f},
                {DNNL_ARG_DST, 0.0f}};
        bench_primitive(cc->name, fwd, eng, stream, af, 4, flops);
    }
    CHECK(dnnl_primitive_desc_destroy(fwd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(src));
    CHECK(dnnl_memory_desc_destroy(wei));
    CHECK(dnnl_memory_desc_destroy(bia));
    CHECK(dnnl_memory_desc_destroy(dst));
}

int main(int argc, char **argv) {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    int ran = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        if (wants(argc, argv, CASES[i].key)) {
            run(&CASES[i], eng, stream);
            fflush(stdout);
            ran++;
        }
    }
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    if (!ran) {
        fprintf(stderr, "conv_family: unknown case '%s' (fwd bwd_data bwd_weights dilated group8 depthwise conv3d)\n",
                argv[1]);
        return 2;
    }
    return 0;
}
