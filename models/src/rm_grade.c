/* rm_grade.c - the grader: a pure function from (family, findings, anomaly score) to a
 * proposal (see rm_grade.h and docs/models.md for the semantics).
 *
 * Uncertainty: a rule whose aggregated value lies within its guard band could fall on
 * either side of its limit. Excluding routes only ever moves the decision later in the
 * family's order, so the decision is monotone in the set of fired rules: the best case
 * (no in-band rule fires) and the worst case (every in-band rule fires) bound every
 * combination, and the proposal is certain exactly when both give the same route. The
 * same holds for the core credit. No clock, no I/O, no locale: numbers are formatted
 * with integer arithmetic so "3.1" never becomes "3,1" under a station's locale. */
#include "rm_family_priv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rv/rv_error.h"

#define S_DOMAIN "rm_grade"

static const char *const s_route_names[RM_NROUTES] = {"reuse", "remanufacture", "refurbish",
                                                      "repair", "scrap"};
/* New material avoided per route: the midpoint of the IRP range ("Re-defining Value",
 * 2018): reuse ~100 %, remanufacture 80-98 %, refurbish 82-99 %, repair 94-99 %. */
static const double s_retained[RM_NROUTES] = {1.0, 0.89, 0.905, 0.965, 0.0};
static const char *const s_credit_names[3] = {"full", "partial", "none"};

const char *rm_route_name(rm_route_t route)
{
    return (int) route >= 0 && (int) route < RM_NROUTES ? s_route_names[route] : NULL;
}

int rm_route_parse(const char *name)
{
    for (int i = 0; name && i < RM_NROUTES; i++)
        if (strcmp(name, s_route_names[i]) == 0)
            return i;
    return -1;
}

const char *rm_credit_name(rm_credit_t credit)
{
    return (int) credit >= 0 && (int) credit < 3 ? s_credit_names[credit] : NULL;
}

int rm_credit_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, s_credit_names[i]) == 0)
            return i;
    return -1;
}

double rm_route_retained(rm_route_t route)
{
    return (int) route >= 0 && (int) route < RM_NROUTES ? s_retained[route] : -1.0;
}

int rm_family_value_retained(const rm_family_t *family, rm_route_t route,
                             double *material_kg, double *co2e_kg)
{
    double k = rm_route_retained(route);
    if (!family || k < 0)
        return rv_fail(RV_EINVAL, S_DOMAIN, "bad family or route %d", (int) route);
    if (material_kg)
        *material_kg = k * family->mass_kg;
    if (co2e_kg)
        *co2e_kg = k * family->co2e_kg;
    return RV_OK;
}

const char *rm_grade_proposal(const rm_grade_t *grade)
{
    return grade->review ? "review" : rm_route_name(grade->route);
}

/* ---- evaluating one condition ----------------------------------------------------------- */

static double s_measure(const rv_finding_t *f, rm_measure_t m)
{
    switch (m) {
    case RM_M_LENGTH:
        return f->length_mm;
    case RM_M_WIDTH:
        return f->width_mm;
    case RM_M_AREA:
        return f->area_mm2;
    case RM_M_ZONE_PCT:
        return f->zone_pct;
    case RM_M_DIAMETER:
        return f->diameter_mm;
    case RM_M_VALUE:
        return f->value_mm;
    case RM_M_SCORE:
        return f->score;
    default:
        return 1.0; /* count */
    }
}

static int s_selects(const rm_family_t *fam, const rm_cond_t *w, const rv_finding_t *f)
{
    if (w->type >= 0 && (int) f->type != w->type)
        return 0;
    if (w->zone >= 0 && f->zone != w->zone)
        return 0;
    if (w->criticality >= 0 &&
        (f->zone < 0 || (int) fam->zones[f->zone].criticality != w->criticality))
        return 0;
    if (w->name[0] && strncmp(f->name, w->name, sizeof f->name) != 0)
        return 0;
    return f->score >= w->min_score;
}

static int s_holds(rm_op_t op, double value, double limit)
{
    switch (op) {
    case RM_OP_GT:
        return value > limit;
    case RM_OP_GE:
        return value >= limit;
    case RM_OP_LT:
        return value < limit;
    default:
        return value <= limit;
    }
}

typedef struct s_eval {
    int has;      /* 0: nothing to compare (no finding for max/min) */
    double value;
    int zone;     /* the zone the value comes from, -1 when several or none */
    int fired, in_band;
} s_eval_t;

/* Aggregate the findings a condition selects: per zone (groups 1..nzones, group 0 for
 * findings without a zone) or all together (group 0); then the worst group decides:
 * the largest value for > and >=, the smallest for < and <=. */
static s_eval_t s_evaluate(const rm_family_t *fam, const rm_cond_t *w,
                           const rv_findings_t *list)
{
    double acc[RM_MAX_ZONES + 1];
    size_t n[RM_MAX_ZONES + 1];
    int zone[RM_MAX_ZONES + 1]; /* -1: none yet or several; else the zone */
    size_t ngroups = w->per_zone ? fam->nzones + 1 : 1;
    for (size_t g = 0; g < ngroups; g++) {
        acc[g] = 0;
        n[g] = 0;
        zone[g] = -1;
    }
    for (size_t i = 0; i < list->count; i++) {
        const rv_finding_t *f = &list->items[i];
        if (!s_selects(fam, w, f))
            continue;
        size_t g = w->per_zone ? (size_t) (f->zone + 1) : 0;
        double m = s_measure(f, w->measure);
        if (n[g] == 0) {
            acc[g] = w->aggregate == RM_AGG_COUNT ? 1.0 : m;
            zone[g] = f->zone;
        } else {
            switch (w->aggregate) {
            case RM_AGG_MAX:
                if (m > acc[g])
                    acc[g] = m, zone[g] = f->zone;
                break;
            case RM_AGG_MIN:
                if (m < acc[g])
                    acc[g] = m, zone[g] = f->zone;
                break;
            case RM_AGG_SUM:
                acc[g] += m;
                break;
            case RM_AGG_COUNT:
                acc[g] += 1.0;
                break;
            }
            if ((w->aggregate == RM_AGG_SUM || w->aggregate == RM_AGG_COUNT) &&
                zone[g] != f->zone)
                zone[g] = -1; /* a total over several zones */
        }
        n[g]++;
    }
    s_eval_t e = {0, 0.0, -1, 0, 0};
    int larger = w->op == RM_OP_GT || w->op == RM_OP_GE;
    for (size_t g = 0; g < ngroups; g++) {
        if (n[g] == 0)
            continue;
        if (!e.has || (larger ? acc[g] > e.value : acc[g] < e.value)) {
            e.has = 1;
            e.value = acc[g];
            e.zone = zone[g];
        }
    }
    if (!e.has && (w->aggregate == RM_AGG_SUM || w->aggregate == RM_AGG_COUNT)) {
        e.has = 1; /* a total over no finding is 0; a maximum of nothing is not a value */
        e.value = 0.0;
    }
    if (e.zone < 0 && w->zone >= 0)
        e.zone = w->zone;
    if (e.has) {
        e.fired = s_holds(w->op, e.value, w->limit);
        e.in_band = w->guard > 0 && fabs(e.value - w->limit) <= w->guard;
    }
    return e;
}

/* ---- text ------------------------------------------------------------------------------- */

/* A number with a fixed number of decimals, trailing zeros dropped (one kept), in integer
 * arithmetic: independent of the locale and of printf's float formatting. */
static void s_number(char *buf, size_t size, double v, rm_measure_t m)
{
    int dec = m == RM_M_COUNT ? 0 : m == RM_M_SCORE ? 2 : m == RM_M_ZONE_PCT ? 1 : 2;
    long long scale = dec == 0 ? 1 : dec == 1 ? 10 : 100;
    if (!(fabs(v) < 1e15)) {
        snprintf(buf, size, "%s", v < 0 ? "-1e15+" : "1e15+");
        return;
    }
    long long q = llround(fabs(v) * (double) scale);
    const char *sign = v < 0 && q != 0 ? "-" : "";
    if (dec == 0) {
        snprintf(buf, size, "%s%lld", sign, q);
        return;
    }
    long long ip = q / scale, fp = q % scale;
    if (dec == 2 && fp % 10 == 0) {
        dec = 1;
        fp /= 10;
    }
    snprintf(buf, size, "%s%lld.%0*lld", sign, ip, dec, fp);
}

/* Append src to dst (capacity size) without splitting a UTF-8 sequence. */
static void s_append(char *dst, size_t size, size_t *len, const char *src, size_t n)
{
    if (*len + n >= size) {
        n = size - 1 - *len;
        while (n > 0 && ((unsigned char) src[n] & 0xC0) == 0x80)
            n--; /* src[n] continues a sequence: cut before its lead byte */
    }
    memcpy(dst + *len, src, n);
    *len += n;
    dst[*len] = '\0';
}

/* Put lead before the text in dst (capacity size <= RM_REASON_TEXT_SIZE), cut as s_append
 * cuts. */
static void s_prepend(char *dst, size_t size, const char *lead)
{
    char body[RM_REASON_TEXT_SIZE];
    snprintf(body, sizeof body, "%s", dst);
    size_t len = 0;
    dst[0] = '\0';
    s_append(dst, size, &len, lead, strlen(lead));
    s_append(dst, size, &len, body, strlen(body));
}

static void s_render(char *dst, size_t size, const char *tmpl, const char *value,
                     const char *limit, const char *zone)
{
    size_t len = 0;
    dst[0] = '\0';
    for (const char *p = tmpl; *p;) {
        const char *sub = NULL;
        size_t skip = 0;
        if (strncmp(p, "{value}", 7) == 0)
            sub = value, skip = 7;
        else if (strncmp(p, "{limit}", 7) == 0)
            sub = limit, skip = 7;
        else if (strncmp(p, "{zone}", 6) == 0)
            sub = zone, skip = 6;
        if (sub) {
            s_append(dst, size, &len, sub, strlen(sub));
            p += skip;
        } else {
            const char *q = strchr(p + 1, '{');
            size_t n = q ? (size_t) (q - p) : strlen(p);
            s_append(dst, size, &len, p, n);
            p += n;
        }
    }
}

static void s_reason(const rm_family_t *fam, const rm_rule_t *rule, rm_reason_kind_t kind,
                     const s_eval_t *e, int deciding, rm_reason_t *r)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    snprintf(r->rule_id, sizeof r->rule_id, "%s", rule->id);
    snprintf(r->code, sizeof r->code, "%s", rule->code);
    r->fired = e->fired;
    r->in_band = e->in_band;
    r->deciding = deciding;
    r->value = e->value;
    r->limit = rule->when.limit;
    r->guard = rule->when.guard;
    r->zone = e->zone;
    r->excludes = kind == RM_REASON_CREDIT ? 0 : rule->excludes;
    r->credit = rule->credit;
    char value[48], limit[48];
    s_number(value, sizeof value, e->value, rule->when.measure);
    s_number(limit, sizeof limit, rule->when.limit, rule->when.measure);
    const char *zone = e->zone >= 0 ? fam->zones[e->zone].name : "-";
    const char *zone_zh = e->zone >= 0 ? rm_zone_name_zh(&fam->zones[e->zone]) : "-";
    s_render(r->text_en, sizeof r->text_en, rule->text_en, value, limit, zone);
    s_render(r->text_zh, sizeof r->text_zh, rule->text_zh, value, limit, zone_zh);
    if (!e->fired && e->in_band && deciding) {
        /* listed only because its value lies in the band: the family's text says what the
         * rule does when it fires ("under the limit: excludes reuse"), which is not a fact
         * here; the JSON, the line and the audit say so, not only the window */
        char guard[48], lead[RM_REASON_TEXT_SIZE];
        s_number(guard, sizeof guard, rule->when.guard, rule->when.measure);
        snprintf(lead, sizeof lead,
                 "In the guard band (measured %s, limit %s ± %s): a person decides whether it "
                 "applies. If it does: ",
                 value, limit, guard);
        s_prepend(r->text_en, sizeof r->text_en, lead);
        snprintf(lead, sizeof lead,
                 "在保护带内（实测 %s，限值 %s ± %s）：由人员判断是否适用。若适用：", value,
                 limit, guard);
        s_prepend(r->text_zh, sizeof r->text_zh, lead);
    }
}

/* ---- the grade -------------------------------------------------------------------------- */

static size_t s_first(const rm_family_t *fam, unsigned excluded)
{
    for (size_t i = 0; i < fam->nroutes; i++)
        if (!(excluded & RM_ROUTE_BIT(fam->routes[i])))
            return i;
    return fam->nroutes - 1; /* scrap: never excluded (the loader refuses that) */
}

static int s_check_findings(const rm_family_t *fam, const rv_findings_t *list)
{
    if (list->count && !list->items)
        return rv_fail(RV_EINVAL, S_DOMAIN, "findings: %zu items but no array", list->count);
    for (size_t i = 0; i < list->count; i++) {
        const rv_finding_t *f = &list->items[i];
        if ((int) f->type < 0 || (int) f->type >= RV_FINDING_NTYPES)
            return rv_fail(RV_EINVAL, S_DOMAIN, "findings[%zu]: unknown type %d", i,
                           (int) f->type);
        if (f->zone < -1 || f->zone >= (int) fam->nzones)
            return rv_fail(RV_EINVAL, S_DOMAIN, "findings[%zu]: family %s has no zone %d", i,
                           fam->id, f->zone);
        const double v[] = {f->length_mm, f->width_mm, f->area_mm2, f->zone_pct,
                            f->diameter_mm, f->value_mm, f->score};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            if (!isfinite(v[k]))
                return rv_fail(RV_EINVAL, S_DOMAIN, "findings[%zu].%s is not finite", i,
                               rm_measure_names[k == 6 ? RM_M_SCORE : k]);
    }
    return RV_OK;
}

int rm_grade(const rm_family_t *family, const rv_findings_t *findings, double anomaly_score,
             rm_grade_t *out)
{
    if (!family || !findings || !out)
        return rv_fail(RV_EINVAL, S_DOMAIN, "no family, findings or output");
    memset(out, 0, sizeof *out);
    if (isinf(anomaly_score))
        return rv_fail(RV_EINVAL, S_DOMAIN, "anomaly score is infinite");
    int rc = s_check_findings(family, findings);
    if (rc)
        return rc;

    /* 1. evaluate every rule once */
    s_eval_t ev[RM_MAX_RULES], cev[RM_MAX_CREDIT_RULES], aev = {0, 0.0, -1, 0, 0};
    unsigned ex_nom = 0, ex_lo = 0, ex_hi = 0;
    for (size_t i = 0; i < family->nrules; i++) {
        const rm_rule_t *r = &family->rules[i];
        ev[i] = s_evaluate(family, &r->when, findings);
        if (ev[i].fired)
            ex_nom |= r->excludes;
        if (ev[i].fired && !ev[i].in_band)
            ex_lo |= r->excludes;
        if (ev[i].fired || ev[i].in_band)
            ex_hi |= r->excludes;
    }
    int anomaly_band = 0;
    if (family->has_anomaly && !isnan(anomaly_score)) {
        aev.has = 1;
        aev.value = anomaly_score;
        aev.fired = anomaly_score >= family->anomaly.when.limit;
        anomaly_band = anomaly_score >= family->anomaly_lo && anomaly_score <= family->anomaly_hi;
        aev.in_band = anomaly_band;
        if (aev.fired)
            ex_nom |= family->anomaly.excludes;
        if (aev.fired && !aev.in_band)
            ex_lo |= family->anomaly.excludes;
        if (aev.fired || aev.in_band)
            ex_hi |= family->anomaly.excludes;
    }
    rm_credit_t cr_nom = RM_CREDIT_FULL, cr_lo = RM_CREDIT_FULL, cr_hi = RM_CREDIT_FULL;
    for (size_t i = 0; i < family->ncredit; i++) {
        const rm_rule_t *r = &family->credit_rules[i];
        cev[i] = s_evaluate(family, &r->when, findings);
        if (cev[i].fired && r->credit > cr_nom)
            cr_nom = r->credit;
        if (cev[i].fired && !cev[i].in_band && r->credit > cr_lo)
            cr_lo = r->credit;
        if ((cev[i].fired || cev[i].in_band) && r->credit > cr_hi)
            cr_hi = r->credit;
    }

    /* 2. the decision and its bounds */
    size_t pos = s_first(family, ex_nom), best = s_first(family, ex_lo);
    size_t worst = s_first(family, ex_hi);
    unsigned window = 0; /* routes an in-band value could take away or give back */
    for (size_t i = best; i < worst; i++)
        window |= RM_ROUTE_BIT(family->routes[i]);
    out->route = family->routes[pos];
    out->route_best = family->routes[best];
    out->route_worst = family->routes[worst];
    out->excluded = ex_nom;
    out->credit = cr_nom;
    out->credit_best = cr_lo;
    out->credit_worst = cr_hi;
    /* a rule's measurement in its band that could move the route (the anomaly's band
     * moving it is said by RM_REVIEW_ANOMALY alone: it is no measurement) */
    for (size_t i = 0; best != worst && i < family->nrules; i++)
        if (ev[i].in_band && (family->rules[i].excludes & window))
            out->review_why |= RM_REVIEW_ROUTE;
    /* the anomaly's band, as a measurement's: only where it could move the route (a core
     * already scrapped for a 20 mm crack needs no person for its anomaly score) */
    int anomaly_deciding = anomaly_band && (family->anomaly.excludes & window);
    if (anomaly_deciding)
        out->review_why |= RM_REVIEW_ANOMALY;
    if (cr_lo != cr_hi)
        out->review_why |= RM_REVIEW_CREDIT;
    out->review = out->review_why != 0;

    /* 3. reasons: what fired, and what could decide */
    for (size_t i = 0; i < family->nrules; i++) {
        int deciding = ev[i].in_band && (family->rules[i].excludes & window);
        if (ev[i].fired || deciding)
            s_reason(family, &family->rules[i], RM_REASON_ROUTE, &ev[i], deciding,
                     &out->reasons[out->nreasons++]);
    }
    if (aev.fired || anomaly_deciding)
        s_reason(family, &family->anomaly, RM_REASON_ANOMALY, &aev, anomaly_deciding,
                 &out->reasons[out->nreasons++]);
    for (size_t i = 0; i < family->ncredit; i++) {
        int deciding = cev[i].in_band && cr_lo != cr_hi && family->credit_rules[i].credit > cr_lo;
        if (cev[i].fired || deciding)
            s_reason(family, &family->credit_rules[i], RM_REASON_CREDIT, &cev[i], deciding,
                     &out->reasons[out->nreasons++]);
    }

    /* 4. value retained and the model's identity */
    out->retained_fraction = s_retained[out->route];
    out->material_avoided_kg = out->retained_fraction * family->mass_kg;
    out->co2e_avoided_kg = out->retained_fraction * family->co2e_kg;
    out->anomaly_score = anomaly_score;
    snprintf(out->family_id, sizeof out->family_id, "%s", family->id);
    out->family_revision = family->revision;
    memcpy(out->family_hash, family->hash_hex, sizeof out->family_hash);
    return RV_OK;
}

int rm_grade_review_alignment(const rm_family_t *family, double residual_px, double limit_px,
                              rm_grade_t *grade)
{
    if (!family || !grade)
        return rv_fail(RV_EINVAL, S_DOMAIN, "no family or grade");
    if (!(residual_px > limit_px) || !(limit_px > 0) || !isfinite(residual_px) ||
        grade->nreasons >= RM_MAX_REASONS)
        return 0;
    grade->review = 1;
    grade->review_why |= RM_REVIEW_ALIGN;
    grade->route_best = family->routes[0];
    grade->route_worst = RM_ROUTE_SCRAP;
    rm_reason_t *r = &grade->reasons[grade->nreasons++];
    memset(r, 0, sizeof *r);
    r->kind = RM_REASON_ALIGN;
    snprintf(r->rule_id, sizeof r->rule_id, "alignment");
    snprintf(r->code, sizeof r->code, "ALIGN-RESIDUAL");
    r->fired = 1;
    r->deciding = 1;
    r->value = residual_px;
    r->limit = limit_px;
    r->zone = -1;
    snprintf(r->text_en, sizeof r->text_en,
             "The part's outline lies %.2f px from the master's after alignment, over the "
             "%.2f px limit: the zones may sit off their features; a person decides",
             residual_px, limit_px);
    snprintf(r->text_zh, sizeof r->text_zh,
             "对齐后零件轮廓偏离主图像 %.2f px，超过 %.2f px 限值：检测区域可能错位，须人工判定",
             residual_px, limit_px);
    return 1;
}
