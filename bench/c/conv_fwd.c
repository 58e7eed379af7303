/* C twin of ConvForwardBench: 3x3 convolution forward, src 8x64x56x56, K=64, stride 1, padding 1, bias,
 * forward_inference, every activation/weights layout format_tag_any (the primitive chooses), user
 * scratchpad bound once. Times execute+wait per call and prints the median in microseconds. */
#include "bench_common.h"

#define N 8
#define C 64
#define H 56
#define W 56
#define K 64
#define F 3

int main(void) {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));

    const dnnl_dims_t src_dims = {N, C, H, W}, w_dims = {K, C, F, F}, b_dims = {K}, dst_dims = {N, K, H, W};
    const dnnl_dims_t strides = {1, 1}, dilates = {0, 0}, pad = {1, 1};
    dnnl_memory_desc_t src_any, w_any, b_md, dst_any;
    CHECK(dnnl_memory_desc_create_with_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_create_with_tag(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any));
    /* Stride passes the bias as a plain 1-D descriptor (MemoryDesc.plain), not 'any'. */
    CHECK(dnnl_memory_desc_create_with_tag(&b_md, 1, b_dims, dnnl_f32, dnnl_a));
    CHECK(dnnl_memory_desc_create_with_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));

    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_convolution_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference,
            dnnl_convolution_direct, src_any, w_any, b_md, dst_any, strides, dilates, pad, pad, attr));
    dnnl_primitive_t conv;
    CHECK(dnnl_primitive_create(&conv, pd));

    /* Buffers in the layouts the primitive chose, filled like the Java side (0.5 src, 0.01 weights, 0.1 bias). */
    dnnl_memory_t src = alloc_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), eng, 0.5f);
    dnnl_memory_t wei = alloc_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), eng, 0.01f);
    dnnl_memory_t bia = alloc_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), eng, 0.1f);
    dnnl_memory_t dst = alloc_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), eng, 0.0f);
    const_dnnl_memory_desc_t sp_md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_SCRATCHPAD);
    dnnl_memory_t scratch = sp_md && dnnl_memory_desc_get_size(sp_md) > 0 ? alloc_memory(sp_md, eng, 0.0f) : NULL;

    dnnl_exec_arg_t args[5] = {
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, bia}, {DNNL_ARG_DST, dst},
        {DNNL_ARG_SCRATCHPAD, scratch}};
    int nargs = scratch ? 5 : 4;

    double flops = 2.0 * N * K * H * W * C * F * F;
    /* The chosen layouts, spelled as the Java side prints them, to check both sides run the same kernel. */
    char src_fmt[128], wei_fmt[128];
    layout(dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), src_fmt, sizeof src_fmt);
    layout(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), wei_fmt, sizeof wei_fmt);
    MEASURE_WINDOWS("conv_fwd_3x3_8x64x56x56",
            { CHECK(dnnl_primitive_execute(conv, stream, nargs, args)); CHECK(dnnl_stream_wait(stream)); },
            "flops=%.0f impl=%s src=%s weights=%s", flops, impl_name(pd), src_fmt, wei_fmt);

    if (scratch) free_memory(scratch);
    free_memory(dst);
    free_memory(bia);
    free_memory(wei);
    free_memory(src);
    CHECK(dnnl_primitive_destroy(conv));
    CHECK(dnnl_primitive_desc_destroy(pd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(src_any));
    CHECK(dnnl_memory_desc_destroy(w_any));
    CHECK(dnnl_memory_desc_destroy(b_md));
    CHECK(dnnl_memory_desc_destroy(dst_any));
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    return 0;
}
