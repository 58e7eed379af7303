/*
 * The C library's clock Stride binds: the benchmarks read a process's CPU time with clock_gettime, as
 * Python's time.process_time_ns() does (the JDK's getProcessCpuTime() counts in 10 ms ticks on these
 * machines). Declarations as POSIX and glibc's x86-64 headers give them; the symbol is resolved through
 * libdnnl's dependency on libc.
 */
#ifndef STRIDE_CLOCK_H
#define STRIDE_CLOCK_H

/* glibc x86-64: time_t and the nanoseconds are both long. */
struct timespec {
    long tv_sec;
    long tv_nsec;
};

/* Linux's clock ids (linux/time.h). */
#define CLOCK_PROCESS_CPUTIME_ID 2

int clock_gettime(int clock_id, struct timespec *tp);

#endif
