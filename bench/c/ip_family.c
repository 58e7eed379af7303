/* C twins of LinearFamilyBench: inner product (fully connected) N=256, 3136 -> 1024, f32, bias.
 * Every layout format_tag_any except the plain 1-D bias, forward_training (the hint of the backward
 * primitives), user scratchpad. Fills: src 0.5, weights 0.01, bias 0.1, diff_dst 0.1.
 *
 * Usage: ip_family [case]; cases: fwd bwd_data bwd_weights (none: all). */
#include "bench_common.h"

#define N 256
#define IC 3136
#define OC 1024

static const char *const KEYS = "fwd bwd_data bwd_weights";

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "all") != 0 && !strstr(KEYS, argv[1])) {
        fprintf(stderr, "ip_family: unknown case '%s' (%s)\n", argv[1], KEYS);
        return 2;
    }
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    const dnnl_dims_t src_dims = {N, IC}, w_dims = {OC, IC}, b_dims = {OC}, dst_dims = {N, OC};
    dnnl_memory_desc_t src = md_tag(2, src_dims, dnnl_format_tag_any);
    dnnl_memory_desc_t wei = md_tag(2, w_dims, dnnl_format_tag_any);
    dnnl_memory_desc_t bia = md_tag(1, b_dims, dnnl_a);
    dnnl_memory_desc_t dst = md_tag(2, dst_dims, dnnl_format_tag_any);
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t fwd;
    CHECK(dnnl_inner_product_forward_primitive_desc_create(&fwd, eng, dnnl_forward_training, src, wei, bia, dst,
            attr));
    double flops = 2.0 * N * IC * OC;
    if (wants(argc, argv, "fwd")) {
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_WEIGHTS, 0.01f}, {DNNL_ARG_BIAS, 0.1f},
                {DNNL_ARG_DST, 0.0f}};
        bench_primitive("ip_fwd_256x3136_1024", fwd, eng, stream, af, 4, flops);
        fflush(stdout);
    }
    if (wants(argc, argv, "bwd_data")) {
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_inner_product_backward_data_primitive_desc_create(&pd, eng, src, wei, dst, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_WEIGHTS, 0.01f}, {DNNL_ARG_DIFF_SRC, 0.0f}};
        bench_primitive("ip_bwd_data_256x3136_1024", pd, eng, stream, af, 3, flops);
        CHECK(dnnl_primitive_desc_destroy(pd));
        fflush(stdout);
    }
    if (wants(argc, argv, "bwd_weights")) {
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_inner_product_backward_weights_primitive_desc_create(&pd, eng, src, wei, bia, dst, fwd, attr));
        const arg_fill af[] = {{DNNL_ARG_SRC, 0.5f}, {DNNL_ARG_DIFF_DST, 0.1f}, {DNNL_ARG_DIFF_WEIGHTS, 0.0f},
                {DNNL_ARG_DIFF_BIAS, 0.0f}};
        bench_primitive("ip_bwd_weights_256x3136_1024", pd, eng, stream, af, 4, flops);
        CHECK(dnnl_primitive_desc_destroy(pd));
        fflush(stdout);
    }
    CHECK(dnnl_primitive_desc_destroy(fwd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(src));
    CHECK(dnnl_memory_desc_destroy(wei));
    CHECK(dnnl_memory_desc_destroy(bia));
    CHECK(dnnl_memory_desc_destroy(dst));
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    return 0;
}
