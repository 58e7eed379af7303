/* C twins of PoolFamilyBench: 2x2 stride-2 pooling of a 32x64x56x56 f32 source in nhwc (a concrete layout, as
 * Stride's Pooling.Forward takes the network's), destination format_tag_any, forward_training (max keeps its
 * workspace), user scratchpad. Backward: diff_src in the source's layout, diff_dst in the forward's chosen dst
 * layout, the forward as hint (as Pooling.Backward does). Average pooling counts padding (PyTorch's default;
 * there is none here). Fills: src 0.5, diff_dst 0.1; max's workspace holds index 0 everywhere, which is what
 * a forward over the constant source writes (ties pick the first element).
 *
 * Usage: pool_family [case]; cases: max_fwd max_bwd avg_fwd avg_bwd (none: all). */
#include "bench_common.h"

typedef struct {
    const char *key, *name;
    dnnl_alg_kind_t alg;
    int backward;
} pool_case;

static const pool_case CASES[] = {
    {"max_fwd", "pool_max_fwd_2x2s2_32x64x56x56", dnnl_pooling_max, 0},
    {"max_bwd", "pool_max_bwd_2x2s2_32x64x56x56", dnnl_pooling_max, 1},
    {"avg_fwd", "pool_avg_fwd_2x2s2_32x64x56x56", dnnl_pooling_avg_include_padding, 0},
    {"avg_bwd", "pool_avg_bwd_2x2s2_32x64x56x56", dnnl_pooling_avg_include_padding, 1},
};

static void run(const pool_case *pc, dnnl_engine_t eng, dnnl_stream_t stream) {
    const dnnl_dims_t src_dims = {32, 64, 56, 56}, dst_dims = {32, 64, 28, 28};
    const dnnl_dims_t kernel = {2, 2}, strides = {2, 2}, dilation = {0, 0}, pad = {0, 0};
    dnnl_memory_desc_t src = md_tag(4, src_dims, dnnl_nhwc);
    dnnl_memory_desc_t dst = md_tag(4, dst_dims, dnnl_format_tag_any);
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t fwd;
    CHECK(dnnl_pooling_forward_primitive_desc_create(&fwd, eng, dnnl_forward_training, pc->alg, src, dst, strides,
            kernel, dilation, pad, pad, attr));
    if (pc->backward) {
        const_dnnl_memory_desc_t chosen_dst = dnnl_primitive_desc_query_md(fwd, dnnl_query_dst_md, 0);
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_pooling_backward_primitive_desc_create(&pd, eng, pc->alg, src, chosen_dst, strides, kernel,
                dilation, pad, pad, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_DIFF_SRC, 0.0f}};
        bench_primitive(pc->name, pd, eng, stream, af, 2, 0);
        CHECK(dnnl_primitive_desc_destroy(pd));
    } else {
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_DST, 0.0f}};
        bench_primitive(pc->name, fwd, eng, stream, af, 2, 0);
    }
    CHECK(dnnl_primitive_desc_destroy(fwd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(src));
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
        fprintf(stderr, "pool_family: unknown case '%s' (max_fwd max_bwd avg_fwd avg_bwd)\n", argv[1]);
        return 2;
    }
    return 0;
}
