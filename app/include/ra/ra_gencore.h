/* ra_gencore.h - a deterministic generator of photographs of returned cores.
 *
 * One seed gives one core: a part silhouette (flanged brake disc, cast volute housing or
 * stepped shaft) with a machined or cast surface, lit by a gradient, on a dark fixture,
 * with sensor noise, a laser-etched DataMatrix carrying serial and part number, and
 * defects painted in (cracks, rust, pits, chipped edges, wear bands). Alongside the
 * picture comes its exact ground truth: a label image (one ra_gencore_label_t per pixel)
 * and a JSON document ("reman.gencore/1") listing every defect with its measurements.
 *
 * Determinism: the same parameters give the same bytes (RGB, labels, JPEG, JSON), on any
 * machine with IEEE floats: no rand(), no libm transcendental in the pixel path. Pose and
 * texture depend only on (seed, shape, size), so a reference rendering (no defects, no
 * sensor noise) of the same seed and size lies exactly over the defective one.
 *
 * Coordinates: pixel (i, j) has its centre at (i, j); a bbox is [x, y, w, h] in whole
 * pixels. A pixel carries a defect's label when its centre lies inside the defect's
 * shape (crack: within width/2 of the polyline; pit: within diameter/2 of the centre).
 *
 * Ownership: ra_gencore_render() returns an owned object; the accessors borrow from it.
 * Thread-safety: none per object; distinct objects render in parallel. */
#ifndef RA_GENCORE_H
#define RA_GENCORE_H

#include <stddef.h>
#include <stdint.h>

#include "rv/rv_image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RA_GENCORE_SCHEMA "reman.gencore/1"

typedef enum ra_gencore_shape {
    RA_GENCORE_DISC = 0,    /* flanged brake disc, 300 mm: bore, 5 bolt holes, machined */
    RA_GENCORE_HOUSING = 1, /* cast volute (pump/turbo) housing with a machined inlet face */
    RA_GENCORE_SHAFT = 2    /* turned stepped shaft, 420 mm, with a keyway and a thread */
} ra_gencore_shape_t;

#define RA_GENCORE_NSHAPES 3

/* The values of the label image (the .pgm mask). */
typedef enum ra_gencore_label {
    RA_LABEL_BACKGROUND = 0,
    RA_LABEL_PART = 1,  /* intact part surface */
    RA_LABEL_CRACK = 2,
    RA_LABEL_RUST = 3,
    RA_LABEL_PIT = 4,
    RA_LABEL_CHIP = 5,  /* material missing from the part's nominal outline */
    RA_LABEL_WEAR = 6,
    RA_LABEL_CODE = 7   /* the DataMatrix with its quiet zone */
} ra_gencore_label_t;

#define RA_LABEL_COUNT 8

typedef enum ra_gencore_defect_type {
    RA_DEFECT_CRACK = 0,
    RA_DEFECT_RUST = 1,
    RA_DEFECT_PIT = 2,
    RA_DEFECT_CHIP = 3,
    RA_DEFECT_WEAR = 4
} ra_gencore_defect_type_t;

#define RA_DEFECT_NTYPES 5
#define RA_GENCORE_DEFECT_BIT(type) (1u << (type))
#define RA_GENCORE_DEFECTS_ALL ((1u << RA_DEFECT_NTYPES) - 1u)

/* Limits checked by ra_gencore_params_check(). */
#define RA_GENCORE_MIN_SIDE 480 /* the DataMatrix needs 4 px modules and room for them */
#define RA_GENCORE_MAX_SIDE 12000
#define RA_GENCORE_MAX_PIXELS (50LL * 1000 * 1000)
#define RA_GENCORE_MAX_PER_TYPE 8
#define RA_GENCORE_SEED_MAX INT64_MAX /* the JSON carries the seed as an integer */

typedef struct ra_gencore_params {
    uint64_t seed;              /* 0 .. RA_GENCORE_SEED_MAX */
    ra_gencore_shape_t shape;
    int width, height;          /* pixels, each side 480..12000, at most 50 MP */
    unsigned defects;           /* set of RA_GENCORE_DEFECT_BIT(type); 0 gives a clean core */
    int counts[RA_DEFECT_NTYPES]; /* wanted per enabled type, 0 = the seed decides (1..3);
                                   * a defect that finds no free place is left out */
    int quality;                /* JPEG quality 1..100 */
    int reference;              /* 1: the reference rendering: no defects, no sensor noise */
    int canonical;              /* 1: the master pose: no rotation, centred in the frame (the
                                 * pose the demo families' zones are drawn on) */
    double journal_wear_mm;     /* shaft: the bearing journal's diameter short of its nominal
                                 * RA_GENCORE_JOURNAL_MM by this much, 0..RA_GENCORE_MAX_WEAR
                                 * (default 0); other shapes: 0 */
} ra_gencore_params_t;

#define RA_GENCORE_JOURNAL_MM 52.0 /* the shaft's bearing journal, nominal diameter */
#define RA_GENCORE_MAX_WEAR 2.0

/* Defaults: seed 1, disc, 1280x960, every defect type, counts from the seed, quality 92. */
void ra_gencore_params_init(ra_gencore_params_t *params);

/* RV_OK, or RV_EINVAL with "ra_gencore: <what is wrong>". */
int ra_gencore_params_check(const ra_gencore_params_t *params);

#define RA_GENCORE_MAX_POINTS 8

/* One painted defect and its true measurements (lengths in px unless named _mm). */
typedef struct ra_gencore_defect {
    ra_gencore_defect_type_t type;
    const char *kind;       /* "crack", "rust", "pit" | "blowhole", "chip", "polished-band" */
    int bbox[4];            /* x, y, w, h: tight around the pixels carrying the label */
    long area_px;           /* pixels carrying the label (after every defect is painted) */
    double area_mm2;        /* area_px * mm_per_px^2 */
    double centre[2];       /* pit: exact centre; others: nominal centre of the shape */
    /* crack: a polyline of npoints vertices, centreline length and constant width */
    int npoints;
    double points[RA_GENCORE_MAX_POINTS][2];
    double length_px, length_mm;
    double width_px, width_mm;
    /* pit: true diameter */
    double diameter_px, diameter_mm;
    /* chip: how far the notch reaches into the nominal outline */
    double depth_px, depth_mm;
} ra_gencore_defect_t;

/* The DataMatrix as placed: the quiet-zone box is a rotated rectangle. */
typedef struct ra_gencore_code {
    char text[64];          /* "S:<serial>;P:<part number>" */
    int rows, cols;         /* symbol size in modules */
    int quiet;              /* quiet zone, modules on each side */
    double module_px;       /* module pitch */
    double centre[2];       /* px */
    double angle_deg;       /* rotation of the symbol's x axis, clockwise on screen */
    double corners[4][2];   /* quiet-zone box corners, px */
    int bbox[4];            /* tight around the pixels labelled RA_LABEL_CODE */
} ra_gencore_code_t;

typedef struct ra_gencore ra_gencore_t;

/* Render one core. NULL on failure (rv_last_error(): bad parameters, memory, encoder). */
ra_gencore_t *ra_gencore_render(const ra_gencore_params_t *params);

void ra_gencore_destroy(ra_gencore_t **self_p);

const ra_gencore_params_t *ra_gencore_params(const ra_gencore_t *self);
/* The picture before JPEG, RGB8. */
const rv_image_t *ra_gencore_rgb(const ra_gencore_t *self);
/* The ground truth, GRAY8, one ra_gencore_label_t per pixel. */
const rv_image_t *ra_gencore_labels(const ra_gencore_t *self);
/* The JPEG bytes (what a camera would deliver); *len receives their number. */
const uint8_t *ra_gencore_jpeg(const ra_gencore_t *self, size_t *len);
/* The ground truth as JSON text (schema RA_GENCORE_SCHEMA). */
const char *ra_gencore_json(const ra_gencore_t *self);

double ra_gencore_mm_per_px(const ra_gencore_t *self);
const char *ra_gencore_serial(const ra_gencore_t *self);
const char *ra_gencore_part_number(const ra_gencore_t *self);
const char *ra_gencore_family(const ra_gencore_t *self);
const ra_gencore_code_t *ra_gencore_code(const ra_gencore_t *self);
size_t ra_gencore_defect_count(const ra_gencore_t *self);
/* The i-th defect, NULL when i is out of range. */
const ra_gencore_defect_t *ra_gencore_defect(const ra_gencore_t *self, size_t i);
/* Pixels per label, RA_LABEL_COUNT entries. */
const long *ra_gencore_label_counts(const ra_gencore_t *self);

/* Write dir/name.jpg, dir/name.pgm (binary P5, maxval 255, one label byte per pixel) and
 * dir/name.json. dir must exist. RV_EINVAL for a bad name, RV_EIO naming the file. */
int ra_gencore_write(const ra_gencore_t *self, const char *dir, const char *name);

/* Names used on the command line and in the JSON. */
const char *ra_gencore_shape_name(ra_gencore_shape_t shape);
const char *ra_gencore_defect_name(ra_gencore_defect_type_t type);
const char *ra_gencore_label_name(int label);

/* "disc" | "housing" | "shaft". RV_EINVAL otherwise. */
int ra_gencore_parse_shape(const char *text, ra_gencore_shape_t *shape);
/* "WxH", "vga" (640x480), "2mp" (1600x1200), "5mp" (2592x1944), "12mp" (4000x3000).
 * The limits of ra_gencore_params_check() apply. */
int ra_gencore_parse_size(const char *text, int *width, int *height);
/* Comma-separated defect names, "all" or "none". */
int ra_gencore_parse_defects(const char *text, unsigned *defects);

#ifdef __cplusplus
}
#endif
#endif
