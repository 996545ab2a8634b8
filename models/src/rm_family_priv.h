/* rm_family_priv.h - the loaded family as the grader and the accessors see it. Not
 * installed. Everything here is written once by the loader and read-only afterwards. */
#ifndef RM_FAMILY_PRIV_H
#define RM_FAMILY_PRIV_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rv/rv_findings.h"

/* What a condition measures on each finding. */
typedef enum rm_measure {
    RM_M_LENGTH = 0, /* length_mm */
    RM_M_WIDTH,      /* width_mm */
    RM_M_AREA,       /* area_mm2 */
    RM_M_ZONE_PCT,   /* zone_pct */
    RM_M_DIAMETER,   /* diameter_mm */
    RM_M_VALUE,      /* value_mm */
    RM_M_COUNT,      /* 1 per finding */
    RM_M_SCORE,      /* score */
    RM_NMEASURES
} rm_measure_t;

typedef enum rm_aggregate { RM_AGG_MAX = 0, RM_AGG_MIN, RM_AGG_SUM, RM_AGG_COUNT } rm_aggregate_t;
typedef enum rm_op { RM_OP_GT = 0, RM_OP_GE, RM_OP_LT, RM_OP_LE } rm_op_t;

/* "when": which findings, what to measure, and the comparison. */
typedef struct rm_cond {
    int type;               /* rv_finding_type_t, or -1 for any */
    int zone;               /* zone index, or -1 for any */
    int criticality;        /* rm_criticality_t, or -1 for any */
    char name[32];          /* caliper name for dimensions; "" for any */
    double min_score;       /* findings scoring below are ignored */
    rm_measure_t measure;
    rm_aggregate_t aggregate;
    int per_zone;           /* 1: aggregate per zone, the worst zone decides */
    rm_op_t op;
    double limit;
    double guard;           /* half-width of the guard band around limit, >= 0 */
} rm_cond_t;

typedef struct rm_rule {
    char id[RM_ID_SIZE];
    rm_cond_t when;
    unsigned excludes;      /* route rules: RM_ROUTE_BIT set */
    rm_credit_t credit;     /* credit rules */
    char code[RM_CODE_SIZE];
    char text_en[RM_TEXT_MAX + 1];
    char text_zh[RM_TEXT_MAX + 1];
} rm_rule_t;

typedef struct rm_param {
    char key[RM_KEY_SIZE];
    double value;
} rm_param_t;

typedef struct rm_ring {
    size_t n;
    double (*pts)[2];
} rm_ring_t;

struct rm_zone {
    char name[RM_ID_SIZE];
    char name_zh[64]; /* "name_zh": the zone's name in Chinese texts; empty: name */
    size_t view;
    rm_criticality_t criticality;
    size_t nrings;
    rm_ring_t rings[RM_MAX_RINGS];
    size_t nparams[RV_FINDING_NTYPES];
    rm_param_t params[RV_FINDING_NTYPES][RM_MAX_PARAMS];
};

typedef struct rm_view_def {
    char name[RM_ID_SIZE];
    int width, height;
    rm_view_align_t align;
} rm_view_def_t;

struct rm_family {
    atomic_int refs;
    char *origin;
    uint8_t hash[32];
    char hash_hex[65];

    char id[RM_ID_SIZE];
    char name[RM_NAME_SIZE];
    int revision;
    size_t npatterns;
    char patterns[RM_MAX_PATTERNS][RM_PN_SIZE];
    size_t nviews;
    rm_view_def_t views[RM_MAX_VIEWS];
    double mm_per_px;               /* 0 when a calibration record is named */
    char cal_record[RM_ID_SIZE];    /* "" when mm_per_px is given */
    size_t nzones;
    rm_zone_t *zones;
    size_t nrules;
    rm_rule_t *rules;
    size_t ncredit;
    rm_rule_t *credit_rules;
    int has_anomaly;
    rm_rule_t anomaly;              /* id "anomaly"; when.limit = threshold */
    double anomaly_lo, anomaly_hi;  /* the uncertain band */
    int anomaly_model;              /* RM_ANOMALY_BAND or RM_ANOMALY_RINGS */
    int anomaly_window;             /* rings: angular median window, samples of 720 */
    size_t nroutes;
    rm_route_t routes[RM_NROUTES];
    double mass_kg, co2e_kg;
    char *ref_file, *ref_path;      /* NULL when no reference */
    char ref_sha256[65];
};

/* rm_measure names, for messages and the docs. */
extern const char *const rm_measure_names[RM_NMEASURES];

#endif
