/* rm_family.h - a part family: what a kind of returned core looks like and how it is graded.
 *
 * A family is loaded from one JSON file (schema "reman.family/1", see docs/models.md): its
 * part-number patterns, reference views, calibration, zones (polygons on a reference view,
 * each with a criticality and per-detector parameters), grading rules, anomaly band,
 * allowed routes, core-credit rules, economics and the learned reference data it uses.
 *
 * Loading validates everything and refuses a bad file with the JSON path and the line of
 * the first problem ("rm_family: disc.json: zones[2].polygon: needs at least 3 points
 * (line 41)"). Unknown keys are errors, so a typo never silently drops a rule.
 *
 * Ownership: rm_family_load*() return a family holding one reference. A family is
 * immutable once loaded and shared between threads: rm_family_ref() adds a reference,
 * rm_family_destroy() drops one (atomically) and NULLs the caller's pointer; the last one
 * frees it. Everything an accessor returns is borrowed from the family.
 * Thread-safety: every function is safe on a family shared between threads. */
#ifndef RM_FAMILY_H
#define RM_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_detect.h"
#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RM_FAMILY_SCHEMA "reman.family/1"

/* Limits against hostile or broken files; a file beyond any is refused. */
#define RM_FAMILY_MAX_BYTES (1024 * 1024) /* file size */
#define RM_MAX_VIEWS 8
#define RM_MAX_ZONES 64
#define RM_MAX_RINGS 9          /* per zone: the outline and up to 8 holes */
#define RM_MAX_POINTS 512       /* per ring */
#define RM_MAX_RULES 64         /* route rules */
#define RM_MAX_CREDIT_RULES 32  /* core-credit rules */
#define RM_MAX_PATTERNS 16      /* part-number patterns */
#define RM_MAX_PARAMS 16        /* per detector and zone */
#define RM_MAX_VIEW_SIDE 20000  /* px */

/* String sizes, terminating NUL included (so an id holds at most 47 bytes). */
#define RM_ID_SIZE 48      /* family, view, zone and rule ids, calibration record */
#define RM_NAME_SIZE 128   /* the family's display name */
#define RM_CODE_SIZE 32    /* reason codes */
#define RM_PN_SIZE 64      /* part numbers and their patterns */
#define RM_KEY_SIZE 32     /* detector parameter keys */
#define RM_TEXT_MAX 240    /* bytes of a reason text template (UTF-8) */

typedef enum rm_criticality {
    RM_CRITICAL = 0, /* function or safety depends on it: friction face, pressure wall */
    RM_MATING = 1,   /* fits against another part: bore, bolt face, seat, thread */
    RM_COSMETIC = 2  /* appearance only */
} rm_criticality_t;

#define RM_NCRITICALITIES 3

typedef struct rm_family rm_family_t;
typedef struct rm_zone rm_zone_t;

/* Load a family file (at most RM_FAMILY_MAX_BYTES). NULL on failure: rv_last_error() says
 * "rm_family: <path>: <json path>: <problem> (line N)"; RV_EIO, RV_ELIMIT or RV_EFORMAT
 * is what rm_family_load_status() would report, see below. */
rm_family_t *rm_family_load(const char *path);

/* Load from memory. origin names the text in messages; when it contains a '/', its
 * directory is where the reference data file is looked for (as for a file). */
rm_family_t *rm_family_load_text(const char *text, size_t len, const char *origin);

/* The family file at path drawn for a width x height camera: the first view's size, the
 * calibration's mm per pixel and every zone polygon scaled by width / the view's width
 * (the benchmarks' 5 MP demo families). The JSON text (malloc'd), or NULL. */
char *rm_family_scaled_text(const char *path, int width, int height);

/* The status of the last rm_family_load*() in this thread that failed (RV_EFORMAT for bad
 * content, RV_ELIMIT for a limit, RV_EIO for the file, RV_ENOMEM), 0 after a success. */
int rm_family_load_status(void);

/* Add a reference; returns self. */
rm_family_t *rm_family_ref(rm_family_t *self);

/* Drop the caller's reference and NULL *self_p; the last reference frees the family.
 * rm_family_unref() is the same call under the name that pairs with rm_family_ref(). */
void rm_family_destroy(rm_family_t **self_p);
void rm_family_unref(rm_family_t **self_p);

/* Identity. */
const char *rm_family_id(const rm_family_t *self);
const char *rm_family_name(const rm_family_t *self);
int rm_family_revision(const rm_family_t *self);
/* The origin given at load (the path for rm_family_load). */
const char *rm_family_origin(const rm_family_t *self);
/* SHA-256 of the file's bytes: 32 raw bytes and 64 lower-case hex digits. */
const uint8_t *rm_family_hash(const rm_family_t *self);
const char *rm_family_hash_hex(const rm_family_t *self);

/* Part numbers. Pattern syntax (case-insensitive ASCII): '?' any one character, '#' one
 * digit, '*' any run of characters (also none), anything else itself. */
size_t rm_family_pattern_count(const rm_family_t *self);
const char *rm_family_pattern(const rm_family_t *self, size_t i);
/* 1 when part_number matches one of the family's patterns, else 0. */
int rm_family_matches(const rm_family_t *self, const char *part_number);
/* 1 when text matches the pattern (syntax above), else 0. */
int rm_pattern_match(const char *pattern, const char *text);

/* Reference views: name and size in px. NULL / RV_EINVAL for an index out of range. */
size_t rm_family_view_count(const rm_family_t *self);
const char *rm_family_view_name(const rm_family_t *self, size_t i);
int rm_family_view_size(const rm_family_t *self, size_t i, int *width, int *height);

/* How a view of the family is registered to its master (the view's optional "align"
 * object; rv_align_params_t takes these fields). */
typedef struct rm_view_align {
    int affine;       /* "motion": "rigid" (0, default: the camera's scale, rotation and
                         shift) or "affine" (1: scale and tilt fitted too, for a camera whose
                         distance or angle to the part varies) */
    int solid;        /* "solid": true when the part has no through-hole in this view, so its
                         silhouette is its outer outline (default false) */
    int blind_holes;  /* "blind_holes": true when the part's holes in this view are blind
                         (a keyway, a pocket): their floors are part of the part's mask and
                         inspected (default false: a hole shows the fixture through it) */
    int rotation;     /* "rotation": false for a round part under a light that stays with the
                         camera: its rotation is not searched (default true) */
    double min_scale; /* "scale": [min, max], the accepted size of the part relative to the
                         master (default [0.8, 1.25]) */
    double max_scale;
    double max_aniso; /* "max_axis_ratio": affine, largest ratio of the two axis scales
                         (default 1.5) */
    int work_width;   /* "work_width": px of the copies the view is registered on (default
                         512; smaller is faster and coarser) */
    double min_overlap; /* "min_overlap": the silhouettes' overlap (IoU) below which a view
                           is refused as the wrong part, view or pose (default 0.85) */
    double max_residual; /* "max_residual_px": the alignment's residual (the median distance
                            of the view's outline edges from the master's, master px) over
                            which the view's grade is proposed for review: its zones may lie
                            off the features they describe (default 0.5; 0: never) */
} rm_view_align_t;

/* The alignment settings of view i (defaults where the file gives none). RV_EINVAL for an
 * index out of range. */
int rm_family_view_align(const rm_family_t *self, size_t i, rm_view_align_t *out);

/* Calibration: mm per px of the reference view, or 0 when the file names a calibration
 * record instead; the record id, or NULL when the scale is given directly. */
double rm_family_mm_per_px(const rm_family_t *self);

/* The anomaly section's threshold (0..1), or NaN when the family has none. */
double rm_family_anomaly_threshold(const rm_family_t *self);

/* What the anomaly score is computed with (the anomaly section's "model"): RM_ANOMALY_BAND
 * (default: the learnt per-pixel band of the aligned reference, the score from the largest
 * region outside it) or RM_ANOMALY_RINGS (a round part: each ring compared with itself
 * around the axis, rv_polar.h; *window gets its angular median window, samples of 720,
 * "window", odd 3..359, default 21). */
enum { RM_ANOMALY_BAND = 0, RM_ANOMALY_RINGS = 1 };
int rm_family_anomaly_model(const rm_family_t *self, int *window);
const char *rm_family_calibration_record(const rm_family_t *self);

/* Zones, in file order: a finding's zone is an index into this list. */
size_t rm_family_zone_count(const rm_family_t *self);
const rm_zone_t *rm_family_zone(const rm_family_t *self, size_t i);
/* The index of the zone of that name, or -1. */
int rm_family_zone_find(const rm_family_t *self, const char *name);

const char *rm_zone_name(const rm_zone_t *zone);
/* The zone's name in Chinese texts (its "name_zh"), or its name when the file gives none. */
const char *rm_zone_name_zh(const rm_zone_t *zone);
rm_criticality_t rm_zone_criticality(const rm_zone_t *zone);
/* The index of the view the polygon is drawn on. */
size_t rm_zone_view(const rm_zone_t *zone);
/* Ring 0 is the outline, further rings are holes; filled by the even-odd rule. */
size_t rm_zone_ring_count(const rm_zone_t *zone);
/* The points of ring i as x, y pairs in px of the zone's view; *npoints receives their
 * number. NULL for an index out of range. */
const double (*rm_zone_ring(const rm_zone_t *zone, size_t i, size_t *npoints))[2];
/* A detector parameter of the zone (e.g. "crack", "min_length_mm"), or def when the file
 * does not set it. */
double rm_zone_param(const rm_zone_t *zone, const char *detector, const char *key, double def);

/* Every parameter the file sets for one detector in this zone, as key/value pairs for
 * the detector's configure() (keys borrowed from the family, valid while it lives).
 * Writes at most max pairs and returns how many the zone has (at most RM_MAX_PARAMS). */
size_t rm_zone_params(const rm_zone_t *zone, const char *detector, rv_param_t *out, size_t max);

/* Rasterise zone i into dst (GRAY8, the size of the zone's view): 255 where the pixel's
 * centre lies inside the zone (even-odd over its rings), 0 elsewhere. Pixel (x, y) has its
 * centre at (x, y), the convention of the generator; edges are half-open so that a
 * w x h rectangle from (0, 0) covers exactly w * h pixels. RV_EINVAL for a bad index,
 * format or size. */
int rm_family_zone_mask(const rm_family_t *self, size_t zone, const rv_view_t *dst);

/* Learned reference data: the file as written (relative to the family file) and that path
 * resolved against the family file's directory; the SHA-256 it must have (hex). All NULL
 * when the family has no reference yet. */
const char *rm_family_reference_file(const rm_family_t *self);
const char *rm_family_reference_path(const rm_family_t *self);
const char *rm_family_reference_sha256(const rm_family_t *self);

/* Economics of a new part: mass and CO2e embodied, kg. */
double rm_family_mass_kg(const rm_family_t *self);
double rm_family_co2e_kg(const rm_family_t *self);

/* Counts, for display. */
size_t rm_family_rule_count(const rm_family_t *self);
size_t rm_family_credit_rule_count(const rm_family_t *self);

/* "critical", "mating", "cosmetic"; NULL for others. Parse: the value or -1. */
const char *rm_criticality_name(rm_criticality_t c);
int rm_criticality_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
