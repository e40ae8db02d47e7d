/* Shared by the benchmarks: a monotonic clock and one machine-readable format, a JSON object
 * per figure on its own line, comparable across commits:
 *   {"bench":"rng","name":"normal","setting":"","threads":1,"value":5.1,"unit":"ns/op"}
 * with "ref_value" and "ratio" added where a reference implementation ran in the same
 * invocation. Timings on shared machines are noisy: compare ratios within one run. */
#ifndef RECO_BENCH_COMMON_H
#define RECO_BENCH_COMMON_H

#include <stdio.h>
#include <time.h>

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One figure. `setting` describes the sizes ("B=256 C=500"); ref_value <= 0 means no
 * reference ran. */
static inline void bench_figure(const char *bench, const char *name, const char *setting,
                                int threads, double value, const char *unit, double ref_value)
{
    printf("{\"bench\":\"%s\",\"name\":\"%s\",\"setting\":\"%s\",\"threads\":%d,"
           "\"value\":%.6g,\"unit\":\"%s\"", bench, name, setting, threads, value, unit);
    if (ref_value > 0.0)
        printf(",\"ref_value\":%.6g,\"ratio\":%.4g", ref_value, ref_value / value);
    printf("}\n");
    fflush(stdout);
}

#endif /* RECO_BENCH_COMMON_H */
