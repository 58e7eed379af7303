/*
 * The OpenMP runtime calls Stride binds: thread-count control for oneDNN, which is built with GNU OpenMP
 * (libgomp.so.1, shipped beside libdnnl.so.3). Declarations as the OpenMP 4.5 specification gives them
 * (section 3.2); the symbols are resolved through libdnnl's dependency on libgomp.
 */
#ifndef STRIDE_OMP_H
#define STRIDE_OMP_H

void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
int omp_get_num_procs(void);

#endif
