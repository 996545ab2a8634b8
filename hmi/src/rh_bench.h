/* rh_bench.h - `reman-station --bench`: the station's speed figures in a real window. */
#ifndef RH_BENCH_H
#define RH_BENCH_H

#include <gtk/gtk.h>

/* Prints hmi_preview_1080p_fps (seconds of preview) and hmi_capture_to_proposal_5mp_ms
 * (median of reps). 0 when both were measured. */
int rh_bench_run(const char *families, double seconds, int reps, gboolean json);

#endif
