/* rm_grade.h - the grader: findings -> a value-retention route, reasons and core credit.
 *
 * rm_grade() is a pure function of its arguments (no I/O, no clock, no globals, no locale):
 * the same family, findings and score always give the same bytes in rm_grade_t.
 *
 * Routes follow the UNEP International Resource Panel ("Re-defining Value", 2018). Each
 * family lists the routes it allows in order of preference; every rule that fires
 * excludes routes; the decision is the first allowed route no fired rule excludes (scrap
 * is always allowed and last). The proposal is "review" (a technician decides) when a
 * measurement inside its rule's guard band could move the route, when the anomaly score
 * lies in its uncertain band, or when a guard band could move the core credit.
 * Value retained uses the midpoint of the IRP range per route (see rm_route_retained()).
 * Ownership: rm_grade_t is a plain struct the caller provides; it borrows nothing.
 * Thread-safety: reentrant. */
#ifndef RM_GRADE_H
#define RM_GRADE_H

#include <stddef.h>

#include "rm/rm_family.h"
#include "rv/rv_findings.h"

#ifdef __cplusplus
extern "C" {
#endif

/* In the IRP's order of value retained, best first. */
typedef enum rm_route {
    RM_ROUTE_REUSE = 0,         /* inspect, clean, resell: ~100 % new material avoided */
    RM_ROUTE_REMANUFACTURE = 1, /* as-new life and warranty: 80-98 % */
    RM_ROUTE_REFURBISH = 2,     /* comprehensive, less than as-new: 82-99 % */
    RM_ROUTE_REPAIR = 3,        /* fix the specific fault: 94-99 % */
    RM_ROUTE_SCRAP = 4          /* recycle the material only: 0 % of the part's form */
} rm_route_t;

#define RM_NROUTES 5
#define RM_ROUTE_BIT(route) (1u << (route))

/* Core credit at the receiving gate, best first. */
typedef enum rm_credit {
    RM_CREDIT_FULL = 0,
    RM_CREDIT_PARTIAL = 1,
    RM_CREDIT_NONE = 2
} rm_credit_t;

/* What a reason comes from. */
typedef enum rm_reason_kind {
    RM_REASON_ROUTE = 0,  /* a grading rule (excludes routes) */
    RM_REASON_ANOMALY = 1,/* the anomaly score against the family's threshold */
    RM_REASON_CREDIT = 2, /* a core-credit rule */
    RM_REASON_ALIGN = 3   /* the alignment's residual over the view's limit */
} rm_reason_kind_t;

/* Why the proposal is "review" (bits of rm_grade_t.review_why). */
#define RM_REVIEW_ROUTE 1u   /* a measurement in its guard band could move the route */
#define RM_REVIEW_ANOMALY 2u /* the anomaly score lies in the uncertain band */
#define RM_REVIEW_CREDIT 4u  /* a measurement in its guard band could move the credit */
#define RM_REVIEW_ALIGN 8u   /* the view's outline lies off the master's: zones may be misplaced */

#define RM_MAX_REASONS (RM_MAX_RULES + RM_MAX_CREDIT_RULES + 2)
#define RM_REASON_TEXT_SIZE 512 /* a rendered text: a template and up to 4 placeholders */

typedef struct rm_reason {
    rm_reason_kind_t kind;
    char rule_id[RM_ID_SIZE];   /* "anomaly" for the anomaly reason */
    char code[RM_CODE_SIZE];    /* the reason code, e.g. "CRK-CRIT" */
    int fired;                  /* 1: the condition holds for the measured value */
    int in_band;                /* 1: |value - limit| <= guard (guard > 0) */
    int deciding;               /* 1: in band, and the other side of the limit would
                                 *    change the route (or credit): the review's cause */
    double value;               /* the aggregated measurement, in the measure's unit */
    double limit, guard;        /* from the rule */
    int zone;                   /* the zone the value comes from, -1 when several/none */
    unsigned excludes;          /* route rules, anomaly: RM_ROUTE_BIT set */
    rm_credit_t credit;         /* credit rules: the credit it sets */
    char text_en[RM_REASON_TEXT_SIZE]; /* rendered with {value}, {limit}, {zone} */
    char text_zh[RM_REASON_TEXT_SIZE];
} rm_reason_t;

typedef struct rm_grade {
    /* The proposal. */
    rm_route_t route;           /* the decision for the measured values */
    int review;                 /* 1: propose "review": a technician must decide */
    unsigned review_why;        /* RM_REVIEW_* bits */
    rm_route_t route_best;      /* best route if every in-band value fell on the good side */
    rm_route_t route_worst;     /* ... on the bad side */
    unsigned excluded;          /* RM_ROUTE_BIT set excluded by the fired rules */
    rm_credit_t credit;         /* worst among fired credit rules; full when none */
    rm_credit_t credit_best, credit_worst;
    /* Value retained by the proposed route (IRP midpoints). */
    double retained_fraction;   /* 0..1 */
    double material_avoided_kg; /* retained_fraction * the family's new-part mass */
    double co2e_avoided_kg;     /* retained_fraction * the family's new-part CO2e */
    double anomaly_score;       /* as given (NaN when none) */
    /* The model that graded. */
    char family_id[RM_ID_SIZE];
    int family_revision;
    char family_hash[65];       /* SHA-256 of the family file, hex */
    /* Reasons: every fired rule, and every unfired rule whose value is deciding, in
     * family order (route rules, anomaly, credit rules); then the alignment's, when
     * rm_grade_review_alignment added it. */
    size_t nreasons;
    rm_reason_t reasons[RM_MAX_REASONS];
} rm_grade_t;

/* Grade findings against a family. anomaly_score is the wear/anomaly score (NaN when
 * none was computed). Fills *out entirely. RV_EINVAL (rv_last_error() naming the finding)
 * for NULL arguments, a finding whose zone the family does not have, an unknown type or
 * a measurement that is not finite. rm_grade_t is large (~110 kB): keep it off small stacks. */
int rm_grade(const rm_family_t *family, const rv_findings_t *findings, double anomaly_score,
             rm_grade_t *out);

/* After rm_grade: a view whose outline edges lie further than limit_px from the master's
 * once aligned (residual_px: rv_align_result_t.residual_px, master px) may have its zones
 * off the features they describe, so its findings (and the absence of any) cannot be
 * trusted to choose a route: the proposal becomes review (RM_REVIEW_ALIGN; best route the
 * family's first, worst scrap) with a reason "alignment" (code ALIGN-RESIDUAL) that
 * excludes nothing; grade->route stays what the findings gave. Returns 1 when it did so,
 * 0 when residual_px <= limit_px, limit_px <= 0 or the residual is unknown (< 0 or NaN),
 * RV_EINVAL for a NULL grade or family. */
int rm_grade_review_alignment(const rm_family_t *family, double residual_px, double limit_px,
                              rm_grade_t *grade);

/* "review" when grade->review, else the route's name. */
const char *rm_grade_proposal(const rm_grade_t *grade);

/* The fraction of new material a route avoids: the midpoint of the IRP range (reuse 1.0,
 * remanufacture 0.89, refurbish 0.905, repair 0.965, scrap 0). -1 for a bad route. */
double rm_route_retained(rm_route_t route);

/* Value retained had the route been another (e.g. after an override): kg of new
 * material and of CO2e avoided. RV_EINVAL for a bad route. */
int rm_family_value_retained(const rm_family_t *family, rm_route_t route,
                             double *material_kg, double *co2e_kg);

/* "reuse", "remanufacture", "refurbish", "repair", "scrap"; NULL for others. */
const char *rm_route_name(rm_route_t route);
/* The route for a name, or -1. */
int rm_route_parse(const char *name);
/* "full", "partial", "none"; NULL for others. */
const char *rm_credit_name(rm_credit_t credit);
int rm_credit_parse(const char *name);

/* The family's routes in order of preference. */
size_t rm_family_route_count(const rm_family_t *self);
rm_route_t rm_family_route(const rm_family_t *self, size_t i);

#ifdef __cplusplus
}
#endif
#endif
