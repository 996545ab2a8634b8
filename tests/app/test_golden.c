/* test_golden.c - the golden-sample comparison (ra_golden.h) and its records in a real
 * store: equal results are within tolerance; a dimension, the anomaly score, the camera
 * scale, a finding count or the route beyond tolerance is named as drift; an inspection
 * that was not graded cannot be a golden sample; both records verify in the chain. */
#include "ra/ra_golden.h"
#include "ra/ra_store.h"
#include "rs_test.h"
#include "rv/rv.h"
#include "store_fixture.h"

#include <sodium.h>

static json_t *s_insp_len(const char *route, double bore_mm, double anomaly, double scale,
                          int cracks, double crack_mm)
{
    json_t *f = json_array();
    json_array_append_new(f, json_pack("{s:s, s:s, s:f}", "type", "dimension", "name", "bore",
                                       "value_mm", bore_mm));
    for (int i = 0; i < cracks; i++)
        json_array_append_new(f, json_pack("{s:s, s:f}", "type", "crack", "length_mm", crack_mm));
    return json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:o, s:{s:f}, s:{s:f}}", "schema",
                     "reman.inspection/1", "code", "serial", "GOLD-1", "part_number",
                     "BRK-DISC-300", "family", "demo-disc", "model_hash",
                     "1111111111111111111111111111111111111111111111111111111111111111",
                     "proposal", route, "route", route, "findings", f, "anomaly", "score",
                     anomaly, "alignment", "scale", scale);
}

static json_t *s_insp(const char *route, double bore_mm, double anomaly, double scale,
                      int cracks)
{
    return s_insp_len(route, bore_mm, anomaly, scale, cracks, 1.0);
}

/* The "what" of every drift entry, joined. */
static void s_whats(const json_t *check, char *out, size_t size)
{
    out[0] = '\0';
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(check, "drift"), i, d)
    {
        strncat(out, json_string_value(json_object_get(d, "what")), size - strlen(out) - 2);
        strncat(out, ";", size - strlen(out) - 1);
    }
}

int main(void)
{
    if (sodium_init() < 0 || rv_init() != RV_OK)
        return 1;
    ra_golden_tol_t tol;
    ra_golden_tol_default(&tol);
    json_t *base = s_insp("remanufacture", 40.00, 0.20, 1.000, 1);
    json_t *golden = ra_golden_record(base, 5, &tol);
    RS_CHECK(golden != NULL);
    if (!golden)
        return rs_test_end("test_golden");
    json_object_set_new(golden, "id", json_string("g-1"));

    struct {
        const char *name;
        json_t *insp;
        int within;
        const char *names; /* drift expected (substring) */
    } cases[] = {
        {"same", s_insp("remanufacture", 40.00, 0.20, 1.000, 1), 1, ""},
        {"inside every tolerance", s_insp("remanufacture", 40.04, 0.29, 1.004, 1), 1, ""},
        {"bore 0.06 mm off", s_insp("remanufacture", 40.06, 0.20, 1.000, 1), 0, "dimension bore"},
        {"anomaly +0.15", s_insp("remanufacture", 40.00, 0.35, 1.000, 1), 0, "anomaly score"},
        {"camera scale +1 %", s_insp("remanufacture", 40.00, 0.20, 1.010, 1), 0,
         "alignment scale"},
        {"a crack more", s_insp("remanufacture", 40.00, 0.20, 1.000, 2), 0, "count of crack"},
        {"no crack", s_insp("remanufacture", 40.00, 0.20, 1.000, 0), 0, "count of crack"},
        {"route", s_insp("scrap", 40.00, 0.20, 1.000, 1), 0, "route"},
        {"crack 1.1 mm (within 0.2 + 5 %)", s_insp_len("remanufacture", 40.0, 0.2, 1.0, 1, 1.1),
         1, ""},
        {"crack 1.5 mm", s_insp_len("remanufacture", 40.0, 0.2, 1.0, 1, 1.5), 0,
         "summed measure of crack"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *chk = ra_golden_check(golden, cases[i].insp, 9);
        RS_CHECKF(chk != NULL, "%s: %s", cases[i].name, rv_last_error());
        if (!chk)
            continue;
        char whats[512];
        s_whats(chk, whats, sizeof whats);
        RS_CHECKF(json_is_true(json_object_get(chk, "within")) == cases[i].within,
                  "%s: within should be %d (drift: %s)", cases[i].name, cases[i].within, whats);
        RS_CHECKF(strstr(whats, cases[i].names) != NULL, "%s: drift \"%s\" lacks \"%s\"",
                  cases[i].name, whats, cases[i].names);
        if (cases[i].within)
            RS_CHECK_EQ(json_array_size(json_object_get(chk, "drift")), 0);
        json_decref(chk);
    }
    /* another family file (its hash changed): the stored result is not comparable */
    json_t *other = s_insp("remanufacture", 40.00, 0.20, 1.000, 1);
    json_object_set_new(other, "model_hash", json_string("22"));
    json_t *chk = ra_golden_check(golden, other, 9);
    char whats[512] = "";
    if (chk)
        s_whats(chk, whats, sizeof whats);
    RS_CHECKF(chk && json_is_false(json_object_get(chk, "within")) && strstr(whats, "model_hash"),
              "a changed model hash: drift \"%s\"", whats);
    json_decref(chk);
    json_decref(other);
    /* a refused inspection cannot be a golden sample, nor be checked */
    json_t *refused = json_pack("{s:s, s:n, s:s}", "schema", "reman.inspection/1", "proposal",
                                "refused", "no part in view");
    RS_CHECK(ra_golden_record(refused, 1, &tol) == NULL);
    RS_CHECK_MSG(rv_last_error(), "no part in view");
    RS_CHECK(ra_golden_check(golden, refused, 1) == NULL);
    RS_CHECK(ra_golden_check(base, base, 1) == NULL); /* not a golden record */

    /* both records in a real store; the chain verifies; a wrong schema is refused */
    char tmp[256], dir[512];
    RS_CHECK(fx_tmpdir(tmp, "golden") == 0);
    fx_store_dir(dir, sizeof dir, tmp);
    ra_store_t *st = ra_store_open(dir, "gold-1", RA_STORE_WRITE);
    RS_CHECK(st != NULL);
    if (st) {
        int64_t n1 = 0, n2 = 0;
        json_t *g2 = ra_golden_record(base, 5, &tol);
        RS_CHECK_EQ(ra_store_note(st, "golden", g2, &n1), RV_OK);
        json_t *chk2 = ra_golden_check(g2, cases[4].insp, 6);
        RS_CHECK_EQ(ra_store_note(st, "golden-check", chk2, &n2), RV_OK);
        RS_CHECK(n2 == n1 + 1);
        RS_CHECK(ra_store_note(st, "golden", chk2, NULL) != RV_OK); /* the other's schema */
        RS_CHECK_MSG(rv_last_error(), "reman.golden/1");
        RS_CHECK(ra_store_note(st, "decision", g2, NULL) != RV_OK); /* not a note kind */
        ra_verify_report_t rep;
        memset(&rep, 0, sizeof rep);
        RS_CHECKF(ra_store_verify(st, &rep) == RV_OK, "verify: %s", rep.what);
        json_decref(g2);
        json_decref(chk2);
        ra_store_close(&st);
    }
    fx_rmrf(tmp);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        json_decref(cases[i].insp);
    json_decref(refused);
    json_decref(golden);
    json_decref(base);
    return rs_test_end("test_golden");
}
