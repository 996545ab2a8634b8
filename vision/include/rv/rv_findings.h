/* rv_findings.h - what detectors report: typed, located, measured findings.
 *
 * A finding is one defect or measurement on one zone of a part: its type, where it is
 * (bounding box and, for cracks, a polyline; in pixels of the aligned view), what it
 * measures in millimetres through the calibration, and a score. The grader (models/)
 * turns a list of findings into a route; it reads only this struct.
 * Ownership: rv_findings_t owns its array; rv_findings_free() releases it. */
#ifndef RV_FINDINGS_H
#define RV_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_finding_type {
    RV_FINDING_CRACK = 0,     /* thin line structure: length, max width, orientation */
    RV_FINDING_CORROSION = 1, /* rust-coloured region: area, % of zone, severity */
    RV_FINDING_PIT = 2,       /* pit or blowhole: diameter (count = 1 per finding) */
    RV_FINDING_MISSING = 3,   /* break, chip, missing material against the outline: area */
    RV_FINDING_WEAR = 4,      /* surface change against the learned reference: area, % */
    RV_FINDING_DIMENSION = 5  /* a caliper measurement: value_mm */
} rv_finding_type_t;

#define RV_FINDING_NTYPES 6
#define RV_FINDING_MAX_POINTS 32

typedef struct rv_finding {
    rv_finding_type_t type;
    int zone;                 /* index of the family's zone, -1 when none (surface mode) */
    int bbox[4];              /* x, y, w, h in pixels of the aligned view */
    int npoints;              /* polyline (cracks) or outline samples, in pixels */
    float points[RV_FINDING_MAX_POINTS][2];
    double length_mm;         /* cracks: along the polyline */
    double width_mm;          /* cracks: the width at half depth, the wider quarter's */
    double orientation_deg;   /* cracks: 0 = along x, 90 = along y */
    double area_mm2;          /* corrosion, missing material, wear, pits */
    double zone_pct;          /* area as a percentage of the zone */
    double diameter_mm;       /* pits: equivalent diameter */
    double value_mm;          /* dimensions (zero_mm included) */
    double zero_mm;           /* dimensions: the caliper's zero added to its reading */
    double severity;          /* corrosion: 0..1 (mean likelihood) */
    double score;             /* 0..1: detector confidence, or the anomaly score */
    char name[32];            /* dimensions: the caliper's name; otherwise empty */
    uint64_t zones;           /* joined across zones (rv_findings_join_zones): bit z for each
                                 zone 0..63 it spans; 0 when it lies in zone alone */
} rv_finding_t;

typedef struct rv_findings {
    rv_finding_t *items;
    size_t count, cap;
} rv_findings_t;

/* Append a copy of f; 0 or RV_ENOMEM. */
int rv_findings_push(rv_findings_t *list, const rv_finding_t *f);
void rv_findings_free(rv_findings_t *list);

/* Set f's polyline from n points (pts[k] = x, y): RV_FINDING_MAX_POINTS of them, evenly by
 * index, both ends kept, and its orientation_deg from end to end (0..180). */
void rv_finding_set_polyline(rv_finding_t *f, const float (*pts)[2], int n);

/* One defect that crosses a zone boundary is found by each zone's detector run as pieces
 * that end at the boundary, or at the design edge along it that the crack detector leaves
 * out (a crack), or touch it (a chip). Joined here, in place, into one finding, measured
 * whole: cracks of different zones with polyline ends within crack_gap_px that continue
 * each other (the step between them within 45 degrees of both ends' directions; the
 * length is the pieces' plus the step, the polyline theirs end to end), cracks of
 * different zones with half the points of one within 3 px of the other (one stretch of
 * crack reported by both: the longer kept), and missing
 * material of different zones whose boxes come within box_gap_px (the area is the sum, the
 * depth the larger). The joined finding's zone is the one of highest rank[z] (ties: the
 * larger piece's), its zones field has a bit for each zone it spans, its zone_pct is its
 * area over zone_px[zone] (zone_px NULL: left as the piece's), its score the highest.
 * Other types, findings outside zones 0..nzones-1 or 0..63, and pieces of one zone are
 * left as they are. Returns the number of joins made. */
int rv_findings_join_zones(rv_findings_t *list, const int *rank, const double *zone_px,
                           size_t nzones, double crack_gap_px, double box_gap_px,
                           double mm_per_px);

/* "crack", "corrosion", "pit", "missing", "wear", "dimension"; NULL for others. */
const char *rv_finding_type_name(rv_finding_type_t type);
/* The type for a name, or -1. */
int rv_finding_type_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
