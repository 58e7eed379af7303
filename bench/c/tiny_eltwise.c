/* C twin of TinyEltwiseBench: ReLU forward_inference on a plain f32 1x16x4x4 tensor into a separate dst,
 * user scratchpad mode. Run with OMP_NUM_THREADS=1 (libgomp reads it when it loads, before main): the
 * measured cost is then the fixed per-call overhead of execute+wait, not OpenMP's fork/join. */
#include "bench_common.h"

int main(void) {
    const char *omp = getenv("OMP_NUM_THREADS");
    if (!omp || strcmp(omp, "1") != 0) {
        fprintf(stderr, "tiny_eltwise: warning: OMP_NUM_THREADS is '%s', not 1; the result is not the "
                "single-thread overhead\n", omp ? omp : "(unset)");
    }
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));

    const dnnl_dims_t dims = {1, 16, 4, 4};
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_create_with_tag(&md, 4, dims, dnnl_f32, dnnl_nchw));
    dnnl_primitive_attr_t attr = user_scratchpad_attr();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_eltwise_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, dnnl_eltwise_relu, md, md,
            0.0f, 0.0f, attr));
    dnnl_primitive_t relu;
    CHECK(dnnl_primitive_create(&relu, pd));

    dnnl_memory_t src = alloc_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), eng, -0.5f);
    dnnl_memory_t dst = alloc_memory(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), eng, 0.0f);
    const_dnnl_memory_desc_t sp_md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_SCRATCHPAD);
    dnnl_memory_t scratch = sp_md && dnnl_memory_desc_get_size(sp_md) > 0 ? alloc_memory(sp_md, eng, 0.0f) : NULL;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, scratch}};
    int nargs = scratch ? 3 : 2;

    MEASURE_WINDOWS("tiny_eltwise_relu_1x16x4x4",
            { CHECK(dnnl_primitive_execute(relu, stream, nargs, args)); CHECK(dnnl_stream_wait(stream)); },
            "threads=%s impl=%s", omp ? omp : "default", impl_name(pd));

    if (scratch) free_memory(scratch);
    free_memory(dst);
    free_memory(src);
    CHECK(dnnl_primitive_destroy(relu));
    CHECK(dnnl_primitive_desc_destroy(pd));
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_memory_desc_destroy(md));
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    return 0;
}
