package dev.stride.core;

import dev.stride.bindings.omp.omp_h;

/** The OpenMP runtime oneDNN was built with (libgomp, loaded beside libdnnl). */
final class Omp {
    private Omp() {}

    static int maxThreads() {
        return omp_h.omp_get_max_threads();
    }

    static void setThreads(int n) {
        omp_h.omp_set_num_threads(n);
    }
}
