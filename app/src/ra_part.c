/* ra_part.c - one part's inspection from its views' (ra_part.h). */
#include "ra/ra_part.h"

#include "rm/rm_grade.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static json_t *s_fail(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static json_t *s_fail(char *why, size_t size, const char *fmt, ...)
{
    if (why && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static const char *s_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int s_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Append every member of src (an array of objects) to dst, each with "view": v. */
static int s_tagged(json_t *dst, const json_t *src, size_t v)
{
    size_t i;
    json_t *e;
    json_array_foreach(src, i, e)
    {
        json_t *c = json_is_object(e) ? json_copy(e) : NULL;
        if (!c || json_object_set_new(c, "view", json_integer((json_int_t) v)) ||
            json_array_append_new(dst, c))
            return -1;
    }
    return 0;
}

json_t *ra_part_combine(json_t *const *views, const int64_t *records, size_t n, char *why,
                        size_t why_size)
{
    if (!views || !records || n == 0 || n > RA_PART_MAX_VIEWS)
        return s_fail(why, why_size, "a part has 1..%d views, not %zu", RA_PART_MAX_VIEWS, n);
    const char *serial = NULL, *family = s_str(views[0], "family"),
               *hash = s_str(views[0], "model_hash");
    int worst = -1, certain = -1, review = 0;
    size_t deciding = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = views[i];
        const char *proposal = s_str(v, "proposal"), *route = s_str(v, "route");
        if (!json_is_object(v) || json_object_get(v, "views"))
            return s_fail(why, why_size, "view %zu (record %lld) is not one view's inspection",
                          i + 1, (long long) records[i]);
        if (s_str(v, "refused") || !proposal)
            return s_fail(why, why_size, "view %zu (record %lld) was not graded: %.200s", i + 1,
                          (long long) records[i],
                          s_str(v, "refused") ? s_str(v, "refused") : "no proposal");
        int r = route ? rm_route_parse(route) : -1;
        int is_review = strcmp(proposal, "review") == 0;
        if (r < 0 || (!is_review && rm_route_parse(proposal) < 0))
            return s_fail(why, why_size, "view %zu (record %lld) has no grader's route", i + 1,
                          (long long) records[i]);
        const char *s = s_str(json_object_get(v, "code"), "serial");
        if (s && *s) {
            if (serial && strcmp(serial, s) != 0)
                return s_fail(why, why_size,
                              "view %zu shows serial %.63s, view 1 %.63s: not one part", i + 1,
                              s, serial);
            serial = s;
        }
        if (!s_same(family, s_str(v, "family")))
            return s_fail(why, why_size, "view %zu is of family %.63s, view 1 of %.63s", i + 1,
                          s_str(v, "family") ? s_str(v, "family") : "(none)",
                          family ? family : "(none)");
        if (!s_same(hash, s_str(v, "model_hash")))
            return s_fail(why, why_size,
                          "view %zu was graded with another model of the family (hash differs)",
                          i + 1);
        if (r > worst) {
            worst = r;
            deciding = i;
        }
        if (is_review)
            review = 1;
        else if (r > certain)
            certain = r;
    }
    const json_t *d = views[deciding];
    int is_review = review && certain != RM_ROUTE_SCRAP;
    json_t *reasons = json_array(), *findings = json_array(), *evidence = json_array(),
           *rwhy = json_array(), *cited = json_array();
    double ms = 0;
    int bad = !reasons || !findings || !evidence || !rwhy || !cited;
    json_t *code = NULL;
    for (size_t i = 0; i < n && !bad; i++) {
        const json_t *v = views[i];
        bad |= s_tagged(reasons, json_object_get(v, "reasons"), i) != 0;
        bad |= s_tagged(findings, json_object_get(v, "findings"), i) != 0;
        bad |= s_tagged(evidence, json_object_get(v, "evidence"), i) != 0;
        size_t k;
        json_t *w;
        json_array_foreach(json_object_get(v, "review_why"), k, w)
        {
            int seen = 0;
            size_t j;
            json_t *x;
            json_array_foreach(rwhy, j, x) seen |= json_equal(x, w);
            if (!seen && json_is_string(w))
                bad |= json_array_append(rwhy, w) != 0;
        }
        json_t *c = json_pack("{s:I, s:O?, s:s, s:s, s:I}", "n", (json_int_t) records[i], "id",
                              json_object_get(v, "id"), "proposal", s_str(v, "proposal"),
                              "route", s_str(v, "route"), "findings",
                              (json_int_t) json_array_size(json_object_get(v, "findings")));
        bad |= !c || json_array_append_new(cited, c) != 0;
        ms += json_real_value(json_object_get(json_object_get(v, "ms"), "total"));
        const json_t *vc = json_object_get(v, "code");
        if (!code && s_str(vc, "serial") && *s_str(vc, "serial"))
            code = (json_t *) vc;
    }
    if (!code)
        code = json_object_get(views[0], "code");
    json_t *part = bad ? NULL
                       : json_pack("{s:s, s:O?, s:O?, s:O?, s:s, s:s, s:o, s:o, s:o, s:o, s:o,"
                                   " s:O?, s:O?, s:O?, s:O?, s:O?, s:{s:f}}",
                                   "schema", "reman.inspection/1", "code", code, "family",
                                   json_object_get(d, "family"), "model_hash",
                                   json_object_get(d, "model_hash"), "proposal",
                                   is_review ? "review" : rm_route_name((rm_route_t) worst),
                                   "route", rm_route_name((rm_route_t) worst), "reasons", reasons,
                                   "findings", findings, "evidence", evidence, "review_why", rwhy,
                                   "views", cited, "credit", json_object_get(d, "credit"),
                                   "value_retained", json_object_get(d, "value_retained"),
                                   "anomaly", json_object_get(d, "anomaly"), "calibration",
                                   json_object_get(d, "calibration"), "isa",
                                   json_object_get(d, "isa"), "ms", "total", ms);
    if (!part) {
        if (bad) {
            json_decref(reasons);
            json_decref(findings);
            json_decref(evidence);
            json_decref(rwhy);
            json_decref(cited);
        }
        return s_fail(why, why_size, "out of memory combining %zu views", n);
    }
    if (!is_review)
        json_object_del(part, "review_why");
    return part;
}
