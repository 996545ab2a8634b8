/* bench_site.h - the site's figures for reman-bench (issue 7): the trace drill on a site
 * database of a million decisions, the insert path's rate, and the collector catching up
 * a backlog. Needs a PostgreSQL database of its own (a libpq conninfo): the bench fills it
 * (once: a later run with the same database reuses what is there) and adds its ingest and
 * catch-up stations to it at every run. scripts/bench-site.sh starts a server for it. */
#ifndef BENCH_SITE_H
#define BENCH_SITE_H

typedef struct rsb_site_opts {
    const char *conninfo;
    const char *bindir;        /* where reman-collector is (NULL: no catch-up figure) */
    long rows;                 /* decisions in the site database (1,000,000) */
    int stations;              /* stations they come from (20) */
    int drills;                /* trace drills timed (50) */
    int backlog_stations;      /* catch-up: stations (10), 3 of them with a JPEG each */
    long backlog_per_station;  /* catch-up: decisions each holds (6,000: 10 min at 100/s) */
    int quiet;                 /* no progress lines */
    int connections;           /* insert connections for the ingest figure (1) */
} rsb_site_opts_t;

typedef struct rsb_site_figs {
    /* the site database */
    long long rows;            /* decisions held when the drills ran */
    int stations;
    long cores;                /* distinct serials the fill draws from */
    long filled;               /* decisions added this run (0: reused) */
    double fill_s;
    /* the trace drill: ra_site_history, as reman-audit history --site runs it */
    int drills;
    double drill_p50_ms, drill_p95_ms, drill_max_ms;
    double drill_records;      /* records per drill (mean) */
    double drill_evidence;     /* evidence files per drill (mean) */
    int drill_uses_index;      /* EXPLAIN ANALYZE names decisions_serial */
    char plan[4096];
    /* the audit browser's search on the site: the newest 2,000 and the count */
    double search_all_ms;      /* no filter (the page as it opens), median of 5 */
    double search_filtered_ms; /* one family and one route, median of 5 */
    double search_part_ms;     /* a part of a serial (the trigram index), median of 3 */
    double search_part_noindex_ms; /* the same with bitmap scans off (no trigram index:
                                      the plan of before schema 4), median of 3 */
    long long search_part_matched, search_part_noindex_matched;
    double records_all_s;      /* before: every decision streamed (ra_site_records), once */
    long long search_all_matched;
    /* the insert path (ra_site_insert, batches of 500) */
    long ingest_n;
    double ingest_per_s;
    int ingest_connections;
    double verify_per_s;       /* ra_msg_decision_verify_parsed, one thread */
    /* the collector catching up a backlog */
    int catch_up_measured;
    long catch_up_n, catch_up_files;
    double backlog_s;          /* making the backlog (not a figure of the site) */
    double catch_up_s;         /* collector start -> every decision in PostgreSQL */
    double catch_up_evidence_s; /* collector start -> every cited file held */
} rsb_site_figs_t;

/* 0 when every figure was measured (the catch-up only when bindir is given). */
int rsb_site_bench(const rsb_site_opts_t *opts, rsb_site_figs_t *out);

#endif
