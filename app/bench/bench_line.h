/* bench_line.h - the line's figures for reman-bench: durable decisions per second (group
 * commit, acknowledged only after the commit), commit-to-subscriber latency on loopback,
 * and resident memory growth over a long run. Real store (SQLite in a temporary
 * directory on the disk TMPDIR names, default /tmp), real sockets, a real subscriber in its
 * own thread. */
#ifndef BENCH_LINE_H
#define BENCH_LINE_H

typedef struct rsb_line_figs {
    double durable_per_s;      /* median of the batch runs, group commit of `batch` */
    double durable_single_per_s; /* one decision per transaction */
    int batch;
    double commit_to_sub_p50_ms, commit_to_sub_p99_ms, commit_to_sub_max_ms;
    int latency_samples;
    long soak_decisions;
    double soak_rss_growth_kb;  /* VmRSS after the soak minus after its first 10 % */
    double soak_rss_growth_half_kb; /* ... minus after its first half */
    double soak_per_s;
    long delivered_missing;     /* decisions the subscriber did not get (must be 0) */
    char fs[32];                /* the file system the store was on */
} rsb_line_figs_t;

/* 0 when every figure was measured; soak: decisions in the memory soak (>= 20,000). */
int rsb_line_bench(rsb_line_figs_t *out, long soak);

#endif
