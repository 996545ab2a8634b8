/* ra_source_priv.h - what every capture source implements (ra_source.c dispatches). */
#ifndef RA_SOURCE_PRIV_H
#define RA_SOURCE_PRIV_H

#include "ra/ra_source.h"

typedef struct ra_source_ops {
    /* Fill *out or return a status / error, as ra_source_next(). The common code sets
     * seq, source and timestamp, and the status. */
    int (*next)(ra_source_t *self, int timeout_ms, ra_frame_t **out);
    void (*destroy)(void *impl);
} ra_source_ops_t;

struct ra_source {
    const ra_source_ops_t *ops;
    void *impl;
    ra_source_opts_t opts;
    char name[4160];
    char current[4096];
    uint64_t seq;
    ra_source_status_t status;
    ra_source_stats_t stats;
};

/* A new source around impl (taken; destroyed with ops->destroy on failure). */
ra_source_t *ra_source_wrap(const ra_source_ops_t *ops, void *impl, const char *name,
                            const ra_source_opts_t *opts);

/* A new frame owning jpeg (malloc'ed; freed here on failure), decoded now: in full, or
 * shrunk on load to cover o->cover_width x o->cover_height (o NULL: in full). NULL when
 * the bytes are not a complete JPEG (rv_last_error says why). */
ra_frame_t *ra_frame_from_jpeg(uint8_t *jpeg, size_t len, const ra_source_opts_t *o);

double ra_source_now_ms(void);   /* monotonic */
void ra_source_sleep_ms(int ms);

#endif
