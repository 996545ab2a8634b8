/* ra_golden.c - the golden-sample check (see ra_golden.h). */
#include "ra/ra_golden.h"

#include "rv/rv_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define D "ra_golden"

void ra_golden_tol_default(ra_golden_tol_t *tol)
{
    tol->dimension_mm = 0.05;
    tol->anomaly = 0.10;
    tol->scale_rel = 0.005;
    tol->measure_abs = 0.2;
    tol->measure_rel = 0.05;
}

/* What is compared, from an inspection: route, counts per finding type, dimensions by
 * name, anomaly score, alignment scale. */
static json_t *s_values(const json_t *insp)
{
    const char *route = json_string_value(json_object_get(insp, "route"));
    json_t *findings = json_object_get(insp, "findings");
    if (!route || !json_is_array(findings)) {
        rv_fail(RV_EINVAL, D, "the inspection was not graded (%s): it cannot be a golden sample",
                json_string_value(json_object_get(insp, "refused"))
                    ? json_string_value(json_object_get(insp, "refused"))
                    : "no route or findings");
        return NULL;
    }
    json_t *counts = json_object(), *dims = json_object(), *sums = json_object();
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f)
    {
        const char *type = json_string_value(json_object_get(f, "type"));
        if (!type)
            continue;
        json_object_set_new(counts, type,
                            json_integer(json_integer_value(json_object_get(counts, type)) + 1));
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *v = json_object_get(f, "value_mm");
        if (!strcmp(type, "dimension") && name && json_is_number(v)) {
            json_object_set_new(dims, name, json_real(json_number_value(v)));
            continue;
        }
        /* the type's summed measure: crack length, region area, pit diameter */
        static const char *const measures[] = {"length_mm", "area_mm2", "diameter_mm"};
        for (int m = 0; m < 3; m++) {
            json_t *x = json_object_get(f, measures[m]);
            if (json_is_number(x)) {
                json_object_set_new(sums, type,
                                    json_real(json_number_value(json_object_get(sums, type)) +
                                              json_number_value(x)));
                break;
            }
        }
    }
    json_t *an = json_object_get(json_object_get(insp, "anomaly"), "score");
    json_t *sc = json_object_get(json_object_get(insp, "alignment"), "scale");
    json_t *fam = json_object_get(insp, "family"), *mh = json_object_get(insp, "model_hash");
    return json_pack("{s:s, s:O, s:O, s:o, s:o, s:o, s:O, s:O}", "route", route, "family",
                     fam ? fam : json_null(), "model_hash", mh ? mh : json_null(), "counts",
                     counts, "sums", sums, "dimensions", dims, "anomaly", json_is_number(an) ? an : json_null(),
                     "scale", json_is_number(sc) ? sc : json_null());
}

json_t *ra_golden_record(const json_t *inspection, long long n, const ra_golden_tol_t *tol)
{
    ra_golden_tol_t t;
    if (!tol) {
        ra_golden_tol_default(&t);
        tol = &t;
    }
    if (!json_is_object(inspection)) {
        rv_fail(RV_EINVAL, D, "no inspection given");
        return NULL;
    }
    json_t *values = s_values(inspection);
    if (!values)
        return NULL;
    json_t *code = json_object_get(inspection, "code");
    const char *serial = json_string_value(json_object_get(code, "serial"));
    if (!serial || !*serial) {
        json_decref(values);
        rv_fail(RV_EINVAL, D, "a golden sample needs a serial number (its code was not read)");
        return NULL;
    }
    return json_pack("{s:s, s:s, s:O, s:O, s:O, s:I, s:o, s:{s:f, s:f, s:f, s:f, s:f}}",
                     "schema",
                     "reman.golden/1", "serial", serial, "part_number",
                     json_object_get(code, "part_number") ? json_object_get(code, "part_number")
                                                         : json_null(),
                     "family",
                     json_object_get(inspection, "family") ? json_object_get(inspection, "family")
                                                           : json_null(),
                     "model_hash",
                     json_object_get(inspection, "model_hash")
                         ? json_object_get(inspection, "model_hash")
                         : json_null(),
                     "inspection", (json_int_t) n, "values", values, "tolerance", "dimension_mm",
                     tol->dimension_mm, "anomaly", tol->anomaly, "scale_rel", tol->scale_rel,
                     "measure_abs", tol->measure_abs, "measure_rel", tol->measure_rel);
}

static void s_drift(json_t *drift, const char *what, json_t *stored, json_t *now, double limit)
{
    /* json_pack's O fails on NULL: a value missing on one side is null */
    json_array_append_new(drift, json_pack("{s:s, s:O, s:O, s:f}", "what", what, "stored",
                                           stored ? stored : json_null(), "now",
                                           now ? now : json_null(), "limit", limit));
}

static void s_cmp_num(json_t *drift, const char *what, json_t *a, json_t *b, double limit,
                      int relative)
{
    if (!json_is_number(a) && !json_is_number(b))
        return;
    if (!json_is_number(a) || !json_is_number(b)) {
        s_drift(drift, what, a, b, limit);
        return;
    }
    double x = json_number_value(a), y = json_number_value(b);
    double d = relative ? (x != 0 ? fabs(y / x - 1.0) : fabs(y)) : fabs(y - x);
    if (!(d <= limit))
        s_drift(drift, what, a, b, limit);
}

json_t *ra_golden_check(const json_t *golden, const json_t *inspection, long long n)
{
    const char *schema = json_string_value(json_object_get(golden, "schema"));
    if (!schema || strcmp(schema, "reman.golden/1") != 0) {
        rv_fail(RV_EINVAL, D, "not a golden record (schema reman.golden/1)");
        return NULL;
    }
    json_t *now = s_values(inspection);
    if (!now)
        return NULL;
    json_t *was = json_object_get(golden, "values"), *tol = json_object_get(golden, "tolerance");
    double tol_mm = json_number_value(json_object_get(tol, "dimension_mm"));
    double tol_an = json_number_value(json_object_get(tol, "anomaly"));
    double tol_sc = json_number_value(json_object_get(tol, "scale_rel"));
    json_t *drift = json_array();
    static const char *const same[] = {"route", "family", "model_hash"};
    for (int k = 0; k < 3; k++)
        if (!json_equal(json_object_get(was, same[k]), json_object_get(now, same[k])))
            s_drift(drift, same[k], json_object_get(was, same[k]), json_object_get(now, same[k]),
                    0);
    /* counts per type, both ways */
    json_t *cw = json_object_get(was, "counts"), *cn = json_object_get(now, "counts");
    const char *key;
    json_t *v;
    char what[128];
    json_object_foreach(cw, key, v)
    {
        json_t *o = json_object_get(cn, key);
        if (!o || json_integer_value(o) != json_integer_value(v)) {
            snprintf(what, sizeof what, "count of %s findings", key);
            json_t *zero = json_integer(0);
            s_drift(drift, what, v, o ? o : zero, 0);
            json_decref(zero);
        }
    }
    json_object_foreach(cn, key, v)
    {
        if (!json_object_get(cw, key)) {
            snprintf(what, sizeof what, "count of %s findings", key);
            json_t *zero = json_integer(0);
            s_drift(drift, what, zero, v, 0);
            json_decref(zero);
        }
    }
    double m_abs = json_number_value(json_object_get(tol, "measure_abs"));
    double m_rel = json_number_value(json_object_get(tol, "measure_rel"));
    json_t *sw = json_object_get(was, "sums"), *sn = json_object_get(now, "sums");
    json_object_foreach(sw, key, v)
    {
        json_t *o = json_object_get(sn, key);
        double x = json_number_value(v), y = json_number_value(o);
        if (o && !(fabs(y - x) <= m_abs + m_rel * fabs(x))) {
            snprintf(what, sizeof what, "summed measure of %s findings", key);
            s_drift(drift, what, v, o, m_abs + m_rel * fabs(x));
        }
    }
    json_t *dw = json_object_get(was, "dimensions"), *dn = json_object_get(now, "dimensions");
    json_object_foreach(dw, key, v)
    {
        snprintf(what, sizeof what, "dimension %s (mm)", key);
        s_cmp_num(drift, what, v, json_object_get(dn, key), tol_mm, 0);
    }
    s_cmp_num(drift, "anomaly score", json_object_get(was, "anomaly"),
              json_object_get(now, "anomaly"), tol_an, 0);
    s_cmp_num(drift, "alignment scale (relative)", json_object_get(was, "scale"),
              json_object_get(now, "scale"), tol_sc, 1);
    json_t *out = json_pack("{s:s, s:O, s:O, s:I, s:b, s:o, s:o}", "schema",
                            "reman.golden-check/1", "serial", json_object_get(golden, "serial"),
                            "golden", json_object_get(golden, "id") ? json_object_get(golden, "id")
                                                                    : json_null(),
                            "inspection", (json_int_t) n, "within", json_array_size(drift) == 0,
                            "drift", drift, "values", now);
    return out;
}
