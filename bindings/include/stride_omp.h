/*
 * The OpenMP runtime calls Stride binds: thread-count control for oneDNN, which is built with GNU OpenMP
 * (libgomp.so.1, shipped beside libdnnl.so.3), and the parallel region the custom ops' Java kernels run in.
 * Thread-count declarations as the OpenMP 4.5 specification gives them (section 3.2); the symbols are
 * resolved through libdnnl's dependency on libgomp.
 */
#ifndef STRIDE_OMP_H
#define STRIDE_OMP_H

void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
int omp_get_num_procs(void);

/*
 * libgomp's entry point for `#pragma omp parallel` (GCC's ABI, libgomp_g.h): runs fn(data) on every thread of
 * a team of num_threads (0: the default), the caller being thread 0, and returns when all are done. The typedef
 * gives Java the callback class (stride_omp_fn) whose upcall stubs are passed as fn.
 */
typedef void (*stride_omp_fn)(void *data);

void GOMP_parallel(stride_omp_fn fn, void *data, unsigned num_threads, unsigned flags);

#endif
