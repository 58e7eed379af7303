/* Shared helpers of the C twins: status checks, a monotonic clock and windowed medians of per-call times.
 * The Java side measures with JMH's sample mode (a System.nanoTime pair around each sampled call) in 1-s
 * iterations; the twins time every call with one clock_gettime pair in 1-s windows the same way, so both
 * sides carry the same ~20 ns of clock overhead and yield one median per second of measurement. */
#ifndef STRIDE_BENCH_COMMON_H
#define STRIDE_BENCH_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "oneapi/dnnl/dnnl.h"
#include "oneapi/dnnl/dnnl_debug.h"

#define CHECK(call)                                                                   \
    do {                                                                              \
        dnnl_status_t s_ = (call);                                                    \
        if (s_ != dnnl_success) {                                                     \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,     \
                    dnnl_status2str(s_));                                             \
            exit(2);                                                                  \
        }                                                                             \
    } while (0)

static inline double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts the samples in place and returns their median. */
static inline double median(double *v, size_t n) {
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline double mean(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return s / (double)n;
}

/* A memory object over a 64-byte aligned, zero-filled (hence touched) user buffer, as Stride's
 * Tensor.allocate does with Arena.allocate(size, 64). */
static inline dnnl_memory_t alloc_memory(const_dnnl_memory_desc_t md, dnnl_engine_t eng, float fill) {
    size_t bytes = dnnl_memory_desc_get_size(md);
    size_t rounded = (bytes + 63) / 64 * 64;
    float *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) { fprintf(stderr, "out of memory (%zu bytes)\n", bytes); exit(2); }
    memset(p, 0, rounded);
    for (size_t i = 0; i < bytes / sizeof(float); i++) p[i] = fill;
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, eng, p));
    return m;
}

static inline void free_memory(dnnl_memory_t m) {
    void *p = NULL;
    CHECK(dnnl_memory_get_data_handle(m, &p));
    CHECK(dnnl_memory_destroy(m));
    free(p);
}

/* Stride creates every primitive with attributes in user scratchpad mode and binds a scratchpad it
 * allocated once (Primitive.create); the twins do the same so both sides run the same code path. */
static inline dnnl_primitive_attr_t user_scratchpad_attr(void) {
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    return attr;
}

static inline const char *impl_name(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) return "unknown";
    return s;
}

/* oneDNN's spelling of a blocked layout (acdb for nhwc, aBcd16b for nChw16c), as Stride's
 * MemoryDesc.layout() prints it: outer dims by decreasing stride, then the inner blocks. */
static inline const char *layout(const_dnnl_memory_desc_t md, char *buf, size_t len) {
    int nd = 0, kind = 0, nblks = 0;
    const dnnl_dim_t *strides = NULL, *blks = NULL, *idxs = NULL;
    dnnl_memory_desc_query(md, dnnl_query_format_kind, &kind);
    if (kind != dnnl_blocked) { snprintf(buf, len, "%s", kind == dnnl_format_kind_any ? "any" : "opaque"); return buf; }
    dnnl_memory_desc_query(md, dnnl_query_ndims_s32, &nd);
    dnnl_memory_desc_query(md, dnnl_query_strides, &strides);
    dnnl_memory_desc_query(md, dnnl_query_inner_nblks_s32, &nblks);
    dnnl_memory_desc_query(md, dnnl_query_inner_blks, &blks);
    dnnl_memory_desc_query(md, dnnl_query_inner_idxs, &idxs);
    int order[DNNL_MAX_NDIMS], blocked[DNNL_MAX_NDIMS] = {0};
    for (int d = 0; d < nd; d++) order[d] = d;
    for (int a = 1; a < nd; a++) /* stable insertion sort: ties keep logical order */
        for (int b = a; b > 0 && strides[order[b]] > strides[order[b - 1]]; b--) {
            int t = order[b]; order[b] = order[b - 1]; order[b - 1] = t;
        }
    for (int b = 0; b < nblks; b++) blocked[idxs[b]] = 1;
    size_t o = 0;
    for (int d = 0; d < nd && o + 1 < len; d++) buf[o++] = (char)((blocked[order[d]] ? 'A' : 'a') + order[d]);
    buf[o] = 0;
    for (int b = 0; b < nblks && o < len; b++)
        o += (size_t)snprintf(buf + o, len - o, "%lld%c", (long long)blks[b], (char)('a' + idxs[b]));
    return buf;
}

static inline double env_seconds(const char *name, double dflt) {
    const char *v = getenv(name);
    return v && *v ? atof(v) : dflt;
}

/* Runs STEP (one execute+wait) for WARMUP_S seconds, then for NWIN windows of one second times every call
 * and prints "<NAME> median_us=<median of the window medians> best_us=<quietest window's median>
 * windows=<w1,w2,...> <EXTRA>". Per-window medians, not one pooled median: on a shared 2-core VM a
 * neighbour can slow a whole second down, and the report compares the same statistic on both sides. */
#define MEASURE_WINDOWS(NAME, STEP, EXTRA_FMT, ...)                                                \
    do {                                                                                          \
        double warm_ns_ = env_seconds("STRIDE_BENCH_WARMUP_S", 3) * 1e9;                          \
        int nwin_ = (int)env_seconds("STRIDE_BENCH_MEASURE_S", 5) /* one window per second */;                                \
        if (nwin_ < 1) nwin_ = 1;                                                                 \
        double t0_ = now_ns();                                                                    \
        while (now_ns() - t0_ < warm_ns_) { STEP; }                                               \
        size_t cap_ = 1 << 23; /* 8M calls per second: more than the tiny op can do */            \
        double *buf_ = malloc(cap_ * sizeof(double));                                             \
        double *wmed_ = malloc((size_t)nwin_ * sizeof(double));                                   \
        if (!buf_ || !wmed_) { fprintf(stderr, "out of memory\n"); exit(2); }                     \
        for (int w_ = 0; w_ < nwin_; w_++) {                                                      \
            size_t n_ = 0;                                                                        \
            double start_ = now_ns(), b_ = start_;                                                \
            while (b_ - start_ < 1e9 && n_ < cap_) {                                              \
                double a_ = now_ns();                                                             \
                STEP;                                                                             \
                b_ = now_ns();                                                                    \
                buf_[n_++] = (b_ - a_) / 1e3;                                                     \
            }                                                                                     \
            wmed_[w_] = median(buf_, n_);                                                         \
        }                                                                                         \
        char list_[4096];                                                                         \
        size_t off_ = 0;                                                                          \
        for (int w_ = 0; w_ < nwin_ && off_ < sizeof(list_) - 32; w_++)                           \
            off_ += (size_t)snprintf(list_ + off_, sizeof(list_) - off_, "%s%.4f", w_ ? "," : "", wmed_[w_]); \
        double best_ = wmed_[0];                                                                  \
        for (int w_ = 1; w_ < nwin_; w_++) if (wmed_[w_] < best_) best_ = wmed_[w_];              \
        double med_ = median(wmed_, (size_t)nwin_);                                               \
        printf("%s median_us=%.4f best_us=%.4f windows=%s " EXTRA_FMT "\n", NAME, med_, best_, list_, \
                __VA_ARGS__);                                                                     \
        free(wmed_);                                                                              \
        free(buf_);                                                                               \
    } while (0)

/* One argument of a benchmarked primitive: its DNNL_ARG_* and the value every float of its buffer holds. */
typedef struct {
    int arg;
    float fill;
} arg_fill;

/* The short name of an argument, for the layouts a result line lists. */
static inline const char *arg_name(int arg) {
    switch (arg) {
        case DNNL_ARG_SRC: return "src";
        case DNNL_ARG_DST: return "dst";
        case DNNL_ARG_WEIGHTS: return "weights";
        case DNNL_ARG_BIAS: return "bias";
        case DNNL_ARG_DIFF_SRC: return "diff_src";
        case DNNL_ARG_DIFF_DST: return "diff_dst";
        case DNNL_ARG_DIFF_WEIGHTS: return "diff_weights";
        case DNNL_ARG_DIFF_BIAS: return "diff_bias";
        case DNNL_ARG_MEAN: return "mean";
        case DNNL_ARG_VARIANCE: return "variance";
        case DNNL_ARG_SCALE: return "scale";
        case DNNL_ARG_SHIFT: return "shift";
        case DNNL_ARG_DIFF_SCALE: return "diff_scale";
        case DNNL_ARG_DIFF_SHIFT: return "diff_shift";
        case DNNL_ARG_WORKSPACE: return "workspace";
        default: return "arg";
    }
}

/* Creates the primitive of PD, gives every argument in AF a buffer in the layout PD chose for it (filled as
 * listed), adds the workspace (when PD has one: max pooling in training) and the user scratchpad, as Stride's
 * bind does, then times execute+wait with MEASURE_WINDOWS and prints "<NAME> median_us=... flops=<FLOPS>
 * impl=<implementation> layouts=<arg>:<layout>,...". The caller keeps ownership of PD. */
static inline void bench_primitive(const char *name, const_dnnl_primitive_desc_t pd, dnnl_engine_t eng,
        dnnl_stream_t stream, const arg_fill *af, int naf, double flops) {
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_exec_arg_t args[24];
    int nargs = 0;
    char layouts[1024] = "";
    size_t lo = 0;
    for (int i = 0; i < naf; i++) {
        const_dnnl_memory_desc_t md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, af[i].arg);
        if (!md || dnnl_memory_desc_get_size(md) == 0) {
            fprintf(stderr, "%s: the primitive has no argument %s\n", name, arg_name(af[i].arg));
            exit(2);
        }
        args[nargs].arg = af[i].arg;
        args[nargs++].memory = alloc_memory(md, eng, af[i].fill);
        char fmt[128];
        lo += (size_t)snprintf(layouts + lo, sizeof layouts - lo, "%s%s:%s", i ? "," : "", arg_name(af[i].arg),
                layout(md, fmt, sizeof fmt));
    }
    const_dnnl_memory_desc_t ws_md = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
    if (ws_md && dnnl_memory_desc_get_size(ws_md) > 0) {
        args[nargs].arg = DNNL_ARG_WORKSPACE;
        args[nargs++].memory = alloc_memory(ws_md, eng, 0.0f);
    }
    const_dnnl_memory_desc_t sp_md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_SCRATCHPAD);
    if (sp_md && dnnl_memory_desc_get_size(sp_md) > 0) {
        args[nargs].arg = DNNL_ARG_SCRATCHPAD;
        args[nargs++].memory = alloc_memory(sp_md, eng, 0.0f);
    }
    MEASURE_WINDOWS(name,
            { CHECK(dnnl_primitive_execute(prim, stream, nargs, args)); CHECK(dnnl_stream_wait(stream)); },
            "flops=%.0f impl=%s layouts=%s", flops, impl_name(pd), layouts);
    for (int i = 0; i < nargs; i++) free_memory(args[i].memory);
    CHECK(dnnl_primitive_destroy(prim));
}

/* A memory descriptor with a format tag; the caller destroys it. */
static inline dnnl_memory_desc_t md_tag(int nd, const dnnl_dim_t *dims, dnnl_format_tag_t tag) {
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_create_with_tag(&md, nd, dims, dnnl_f32, tag));
    return md;
}

/* argv[1] selects one case by name; no argument runs them all. */
static inline int wants(int argc, char **argv, const char *c) {
    return argc < 2 || strcmp(argv[1], c) == 0 || strcmp(argv[1], "all") == 0;
}

#endif
