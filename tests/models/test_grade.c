/* test_grade.c - the grader, table-driven: findings -> exact route, reasons (ids, values,
 * flags, rendered text), review and its cause, core credit and value retained; guard
 * bands on both sides of a limit; refusals; purity (same input, same bytes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_findings.h"

static const char *const s_family =
    "{\n"
    "  \"schema\": \"reman.family/1\", \"id\": \"g-fam\", \"name\": \"Grader test\",\n"
    "  \"revision\": 7, \"part_numbers\": [\"G-*\"],\n"
    "  \"views\": [{\"name\": \"top\", \"width\": 100, \"height\": 100}],\n"
    "  \"calibration\": {\"mm_per_px\": 1},\n"
    "  \"zones\": [\n"
    "    {\"name\": \"ring\", \"criticality\": \"critical\",\n"
    "     \"polygon\": [[0, 0], [50, 0], [50, 50], [0, 50]]},\n"
    "    {\"name\": \"hub\", \"name_zh\": \"轮毂\", \"criticality\": \"mating\",\n"
    "     \"polygon\": [[50, 0], [100, 0], [100, 50], [50, 50]]},\n"
    "    {\"name\": \"rim\", \"criticality\": \"cosmetic\",\n"
    "     \"polygon\": [[0, 50], [100, 50], [100, 100], [0, 100]]}\n"
    "  ],\n"
    "  \"routes\": [\"reuse\", \"remanufacture\", \"refurbish\", \"repair\", \"scrap\"],\n"
    "  \"rules\": [\n"
    "    {\"id\": \"crack-deep\", \"reason\": \"CRK-CRIT\",\n"
    "     \"when\": {\"finding\": \"crack\", \"criticality\": \"critical\", \"measure\": "
    "\"length_mm\",\n"
    "              \"aggregate\": \"max\", \"op\": \">\", \"limit\": 2.0, \"guard\": 0.2},\n"
    "     \"excludes\": [\"reuse\", \"remanufacture\", \"refurbish\"],\n"
    "     \"text\": {\"en\": \"Crack {value} mm in zone {zone} over {limit} mm\",\n"
    "              \"zh\": \"{zone} 区裂纹 {value} mm，超过限值 {limit} mm\"}},\n"
    "    {\"id\": \"crack-surface\", \"reason\": \"CRK-SURF\",\n"
    "     \"when\": {\"finding\": \"crack\", \"criticality\": \"critical\", \"measure\": "
    "\"length_mm\",\n"
    "              \"op\": \">\", \"limit\": 0.5, \"guard\": 0.1},\n"
    "     \"excludes\": [\"reuse\"],\n"
    "     \"text\": {\"en\": \"Surface crack {value} mm\", \"zh\": \"表面裂纹 {value} mm\"}},\n"
    "    {\"id\": \"crack-mating\", \"reason\": \"CRK-MATE\",\n"
    "     \"when\": {\"finding\": \"crack\", \"criticality\": \"mating\", \"measure\": "
    "\"count\",\n"
    "              \"aggregate\": \"count\", \"op\": \">=\", \"limit\": 1, \"guard\": 0},\n"
    "     \"excludes\": [\"reuse\"],\n"
    "     \"text\": {\"en\": \"{value} crack(s) on a mating face\", \"zh\": \"配合面裂纹 {value} "
    "处\"}},\n"
    "    {\"id\": \"rust-zone\", \"reason\": \"COR-ZONE\",\n"
    "     \"when\": {\"finding\": \"corrosion\", \"measure\": \"zone_pct\", \"aggregate\": "
    "\"sum\",\n"
    "              \"per_zone\": true, \"op\": \">\", \"limit\": 25, \"guard\": 2},\n"
    "     \"excludes\": [\"reuse\", \"remanufacture\"],\n"
    "     \"text\": {\"en\": \"Rust on {value} % of {zone}\", \"zh\": \"{zone} 锈蚀 {value}%\"}},\n"
    "    {\"id\": \"missing-crit\", \"reason\": \"MIS-CRIT\",\n"
    "     \"when\": {\"finding\": \"missing\", \"criticality\": \"critical\", \"measure\": "
    "\"area_mm2\",\n"
    "              \"op\": \">\", \"limit\": 20, \"guard\": 2},\n"
    "     \"excludes\": [\"reuse\", \"remanufacture\", \"refurbish\", \"repair\"],\n"
    "     \"text\": {\"en\": \"Missing {value} mm2\", \"zh\": \"缺损 {value} mm2\"}},\n"
    "    {\"id\": \"bore-small\", \"reason\": \"DIM-BORE\",\n"
    "     \"when\": {\"finding\": \"dimension\", \"name\": \"bore\", \"measure\": "
    "\"value_mm\",\n"
    "              \"aggregate\": \"min\", \"op\": \"<\", \"limit\": 51.95, \"guard\": 0.03},\n"
    "     \"excludes\": [\"reuse\"],\n"
    "     \"text\": {\"en\": \"Bore {value} mm under {limit} mm\", \"zh\": \"孔径 {value} mm\"}},\n"
    "    {\"id\": \"pits\", \"reason\": \"PIT-COUNT\",\n"
    "     \"when\": {\"finding\": \"pit\", \"zone\": \"ring\", \"measure\": \"count\",\n"
    "              \"aggregate\": \"count\", \"op\": \">\", \"limit\": 2, \"guard\": 0},\n"
    "     \"excludes\": [\"reuse\", \"remanufacture\"],\n"
    "     \"text\": {\"en\": \"{value} pits in {zone}\", \"zh\": \"{zone} 凹坑 {value} 处\"}},\n"
    "    {\"id\": \"confident-wear\", \"reason\": \"WEAR\",\n"
    "     \"when\": {\"finding\": \"wear\", \"min_score\": 0.8, \"measure\": \"area_mm2\",\n"
    "              \"aggregate\": \"sum\", \"op\": \">\", \"limit\": 100, \"guard\": 0},\n"
    "     \"excludes\": [\"reuse\"],\n"
    "     \"text\": {\"en\": \"Wear {value} mm2\", \"zh\": \"磨损 {value} mm2\"}}\n"
    "  ],\n"
    "  \"anomaly\": {\"threshold\": 0.6, \"uncertain\": [0.5, 0.7], \"excludes\": [\"reuse\"],\n"
    "              \"reason\": \"ANOMALY\",\n"
    "              \"text\": {\"en\": \"Anomaly {value} (threshold {limit})\",\n"
    "                       \"zh\": \"异常分数 {value}（阈值 {limit}）\"}},\n"
    "  \"credit_rules\": [\n"
    "    {\"id\": \"credit-crack\", \"credit\": \"partial\", \"reason\": \"CRD-CRACK\",\n"
    "     \"when\": {\"finding\": \"crack\", \"criticality\": \"critical\", \"measure\": "
    "\"length_mm\",\n"
    "              \"op\": \">\", \"limit\": 2.0, \"guard\": 0.2},\n"
    "     \"text\": {\"en\": \"Cracked core\", \"zh\": \"旧件开裂\"}},\n"
    "    {\"id\": \"credit-rust\", \"credit\": \"none\", \"reason\": \"CRD-RUST\",\n"
    "     \"when\": {\"finding\": \"corrosion\", \"measure\": \"zone_pct\", \"aggregate\": "
    "\"sum\",\n"
    "              \"per_zone\": true, \"op\": \">\", \"limit\": 60, \"guard\": 5},\n"
    "     \"text\": {\"en\": \"Heavy rust\", \"zh\": \"严重锈蚀\"}}\n"
    "  ],\n"
    "  \"economics\": {\"mass_kg\": 10, \"co2e_kg\": 20}\n"
    "}\n";

/* A finding: type, zone, and the one measurement that matters (by type). */
typedef struct fx {
    rv_finding_type_t type;
    int zone;
    double v;    /* crack length, corrosion/wear zone_pct or area, pit diameter, ... */
    double score;
    const char *name;
} fx_t;

#define FX_END {(rv_finding_type_t) -1, 0, 0, 0, NULL}

static void s_findings(const fx_t *fx, rv_findings_t *list)
{
    memset(list, 0, sizeof *list);
    for (; fx && (int) fx->type >= 0; fx++) {
        rv_finding_t f;
        memset(&f, 0, sizeof f);
        f.type = fx->type;
        f.zone = fx->zone;
        f.score = fx->score > 0 ? fx->score : 0.9;
        switch (fx->type) {
        case RV_FINDING_CRACK:
            f.length_mm = fx->v;
            f.width_mm = 0.1;
            break;
        case RV_FINDING_CORROSION:
            f.zone_pct = fx->v;
            f.area_mm2 = fx->v * 10;
            break;
        case RV_FINDING_PIT:
            f.diameter_mm = fx->v;
            f.area_mm2 = fx->v * fx->v;
            break;
        case RV_FINDING_MISSING:
        case RV_FINDING_WEAR:
            f.area_mm2 = fx->v;
            break;
        case RV_FINDING_DIMENSION:
            f.value_mm = fx->v;
            snprintf(f.name, sizeof f.name, "%s", fx->name ? fx->name : "");
            break;
        }
        rv_findings_push(list, &f);
    }
}

typedef struct grade_case {
    const char *what;
    fx_t fx[6];
    double anomaly;         /* NAN for none */
    rm_route_t route;
    int review;
    unsigned why;
    rm_credit_t credit;
    const char *reasons;    /* "id:fired:in_band:deciding,..." in order */
} grade_case_t;

#define CRACK(z, v) {RV_FINDING_CRACK, (z), (v), 0, NULL}
#define RUST(z, v) {RV_FINDING_CORROSION, (z), (v), 0, NULL}
#define PIT(z, v) {RV_FINDING_PIT, (z), (v), 0, NULL}
#define MISS(z, v) {RV_FINDING_MISSING, (z), (v), 0, NULL}
#define WEAR(z, v, s) {RV_FINDING_WEAR, (z), (v), (s), NULL}
#define DIM(n, v) {RV_FINDING_DIMENSION, 1, (v), 0, (n)}

static const grade_case_t s_cases[] = {
    {"clean part", {FX_END}, NAN, RM_ROUTE_REUSE, 0, 0, RM_CREDIT_FULL, ""},
    {"surface crack", {CRACK(0, 1.0), FX_END}, NAN, RM_ROUTE_REMANUFACTURE, 0, 0,
     RM_CREDIT_FULL, "crack-surface:1:0:0"},
    {"deep crack", {CRACK(0, 3.0), FX_END}, NAN, RM_ROUTE_REPAIR, 0, 0, RM_CREDIT_PARTIAL,
     "crack-deep:1:0:0,crack-surface:1:0:0,credit-crack:1:0:0"},
    {"longest crack decides", {CRACK(0, 0.3), CRACK(0, 3.0), CRACK(0, 1.0), FX_END}, NAN,
     RM_ROUTE_REPAIR, 0, 0, RM_CREDIT_PARTIAL,
     "crack-deep:1:0:0,crack-surface:1:0:0,credit-crack:1:0:0"},
    /* guard band, just over the limit: fired, but it could be under */
    {"crack 2.1 (band, over)", {CRACK(0, 2.1), FX_END}, NAN, RM_ROUTE_REPAIR, 1,
     RM_REVIEW_ROUTE | RM_REVIEW_CREDIT, RM_CREDIT_PARTIAL,
     "crack-deep:1:1:1,crack-surface:1:0:0,credit-crack:1:1:1"},
    /* guard band, just under: not fired, but it could be over */
    {"crack 1.9 (band, under)", {CRACK(0, 1.9), FX_END}, NAN, RM_ROUTE_REMANUFACTURE, 1,
     RM_REVIEW_ROUTE | RM_REVIEW_CREDIT, RM_CREDIT_FULL,
     "crack-deep:0:1:1,crack-surface:1:0:0,credit-crack:0:1:1"},
    {"crack exactly at the limit", {CRACK(0, 2.0), FX_END}, NAN, RM_ROUTE_REMANUFACTURE, 1,
     RM_REVIEW_ROUTE | RM_REVIEW_CREDIT, RM_CREDIT_FULL,
     "crack-deep:0:1:1,crack-surface:1:0:0,credit-crack:0:1:1"},
    {"crack 2.25 (past the band)", {CRACK(0, 2.25), FX_END}, NAN, RM_ROUTE_REPAIR, 0, 0,
     RM_CREDIT_PARTIAL, "crack-deep:1:0:0,crack-surface:1:0:0,credit-crack:1:0:0"},
    {"crack 1.75 (below the band)", {CRACK(0, 1.75), FX_END}, NAN, RM_ROUTE_REMANUFACTURE, 0,
     0, RM_CREDIT_FULL, "crack-surface:1:0:0"},
    /* in band but not deciding: a heavier rule already excludes what it would */
    {"in band, not deciding", {CRACK(0, 0.55), RUST(2, 30), FX_END}, NAN,
     RM_ROUTE_REFURBISH, 0, 0, RM_CREDIT_FULL, "crack-surface:1:1:0,rust-zone:1:0:0"},
    {"in band under a scrap", {CRACK(0, 2.1), MISS(0, 40), FX_END}, NAN, RM_ROUTE_SCRAP, 1,
     RM_REVIEW_CREDIT, RM_CREDIT_PARTIAL,
     "crack-deep:1:1:0,crack-surface:1:0:0,missing-crit:1:0:0,credit-crack:1:1:1"},
    {"crack in a cosmetic zone", {CRACK(2, 9.0), FX_END}, NAN, RM_ROUTE_REUSE, 0, 0,
     RM_CREDIT_FULL, ""},
    {"crack without a zone", {CRACK(-1, 9.0), FX_END}, NAN, RM_ROUTE_REUSE, 0, 0,
     RM_CREDIT_FULL, ""},
    {"any crack on a mating face", {CRACK(1, 0.2), FX_END}, NAN, RM_ROUTE_REMANUFACTURE, 0,
     0, RM_CREDIT_FULL, "crack-mating:1:0:0"},
    /* corrosion: per zone sums, the worst zone decides */
    {"rust per zone sums", {RUST(0, 14), RUST(0, 14), RUST(1, 20), FX_END}, NAN,
     RM_ROUTE_REFURBISH, 0, 0, RM_CREDIT_FULL, "rust-zone:1:0:0"},
    {"rust spread over zones", {RUST(0, 15), RUST(1, 15), RUST(2, 15), FX_END}, NAN,
     RM_ROUTE_REUSE, 0, 0, RM_CREDIT_FULL, ""},
    {"rust 24 % (band, under)", {RUST(0, 10), RUST(0, 14), FX_END}, NAN, RM_ROUTE_REUSE, 1,
     RM_REVIEW_ROUTE, RM_CREDIT_FULL, "rust-zone:0:1:1"},
    {"rust 26 % (band, over)", {RUST(2, 26), FX_END}, NAN, RM_ROUTE_REFURBISH, 1,
     RM_REVIEW_ROUTE, RM_CREDIT_FULL, "rust-zone:1:1:1"},
    {"heavy rust: no credit", {RUST(2, 70), FX_END}, NAN, RM_ROUTE_REFURBISH, 0, 0,
     RM_CREDIT_NONE, "rust-zone:1:0:0,credit-rust:1:0:0"},
    {"rust 62 %: credit in band", {RUST(2, 62), FX_END}, NAN, RM_ROUTE_REFURBISH, 1,
     RM_REVIEW_CREDIT, RM_CREDIT_NONE, "rust-zone:1:0:0,credit-rust:1:1:1"},
    {"missing material: scrap", {MISS(0, 25), FX_END}, NAN, RM_ROUTE_SCRAP, 0, 0,
     RM_CREDIT_FULL, "missing-crit:1:0:0"},
    {"missing 21 mm2 (band)", {MISS(0, 21), FX_END}, NAN, RM_ROUTE_SCRAP, 1, RM_REVIEW_ROUTE,
     RM_CREDIT_FULL, "missing-crit:1:1:1"},
    /* dimensions: by caliper name, the smallest decides */
    {"bore undersize", {DIM("bore", 52.00), DIM("bore", 51.90), DIM("flange", 10), FX_END},
     NAN, RM_ROUTE_REMANUFACTURE, 0, 0, RM_CREDIT_FULL, "bore-small:1:0:0"},
    {"bore in band", {DIM("bore", 51.97), FX_END}, NAN, RM_ROUTE_REUSE, 1, RM_REVIEW_ROUTE,
     RM_CREDIT_FULL, "bore-small:0:1:1"},
    {"another caliper", {DIM("flange", 40.0), FX_END}, NAN, RM_ROUTE_REUSE, 0, 0,
     RM_CREDIT_FULL, ""},
    /* counts: exact, no band */
    {"three pits", {PIT(0, 0.5), PIT(0, 0.5), PIT(0, 0.5), FX_END}, NAN, RM_ROUTE_REFURBISH,
     0, 0, RM_CREDIT_FULL, "pits:1:0:0"},
    {"two pits", {PIT(0, 0.5), PIT(0, 0.5), PIT(1, 0.5), FX_END}, NAN, RM_ROUTE_REUSE, 0, 0,
     RM_CREDIT_FULL, ""},
    /* min_score: unsure wear is not counted */
    {"confident wear", {WEAR(2, 80, 0.9), WEAR(2, 30, 0.85), FX_END}, NAN,
     RM_ROUTE_REMANUFACTURE, 0, 0, RM_CREDIT_FULL, "confident-wear:1:0:0"},
    {"unsure wear", {WEAR(2, 80, 0.9), WEAR(2, 30, 0.5), FX_END}, NAN, RM_ROUTE_REUSE, 0, 0,
     RM_CREDIT_FULL, ""},
    /* the anomaly score */
    {"anomaly clear", {FX_END}, 0.3, RM_ROUTE_REUSE, 0, 0, RM_CREDIT_FULL, ""},
    {"anomaly high", {FX_END}, 0.8, RM_ROUTE_REMANUFACTURE, 0, 0, RM_CREDIT_FULL,
     "anomaly:1:0:0"},
    /* the anomaly's band alone: no measurement is in a guard band, so not RM_REVIEW_ROUTE
     * (until 2026-12-05 both were said, and the station showed "measurement in guard
     * band" for a sound core whose only doubt was its anomaly score) */
    {"anomaly uncertain, over", {FX_END}, 0.65, RM_ROUTE_REMANUFACTURE, 1,
     RM_REVIEW_ANOMALY, RM_CREDIT_FULL, "anomaly:1:1:1"},
    {"anomaly uncertain, under", {FX_END}, 0.55, RM_ROUTE_REUSE, 1,
     RM_REVIEW_ANOMALY, RM_CREDIT_FULL, "anomaly:0:1:1"},
    /* an uncertain anomaly that cannot move the route (it excludes reuse, already out) is
     * no reason for a person, as an in-band measurement that cannot move it is none
     * (until 2026-12-05 it made the proposal review: 29 of 40 cracked shafts) */
    {"anomaly uncertain, route already lower", {CRACK(0, 1.0), FX_END}, 0.55,
     RM_ROUTE_REMANUFACTURE, 0, 0, RM_CREDIT_FULL, "crack-surface:1:0:0"},
    {"anomaly uncertain and over, route already lower", {CRACK(0, 1.0), FX_END}, 0.65,
     RM_ROUTE_REMANUFACTURE, 0, 0, RM_CREDIT_FULL, "crack-surface:1:0:0,anomaly:1:1:0"},
};

static void s_reasons(const rm_grade_t *g, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < g->nreasons && n < size; i++) {
        const rm_reason_t *r = &g->reasons[i];
        int w = snprintf(buf + n, size - n, "%s%s:%d:%d:%d", i ? "," : "", r->rule_id, r->fired,
                         r->in_band, r->deciding);
        if (w < 0)
            break;
        n += (size_t) w;
    }
}

static void test_table(const rm_family_t *f)
{
    static rm_grade_t g, g2;
    char got[1024];
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const grade_case_t *c = &s_cases[i];
        rv_findings_t list;
        s_findings(c->fx, &list);
        int rc = rm_grade(f, &list, c->anomaly, &g);
        RS_CHECKF(rc == RV_OK, "%s: %s", c->what, rv_last_error());
        RS_CHECKF(g.route == c->route, "%s: route %s, want %s", c->what, rm_route_name(g.route),
                  rm_route_name(c->route));
        RS_CHECKF(g.review == c->review && g.review_why == c->why, "%s: review %d why %u",
                  c->what, g.review, g.review_why);
        RS_CHECKF(g.credit == c->credit, "%s: credit %s", c->what, rm_credit_name(g.credit));
        s_reasons(&g, got, sizeof got);
        RS_CHECKF(strcmp(got, c->reasons) == 0, "%s: reasons \"%s\", want \"%s\"", c->what, got,
                  c->reasons);
        double k = rm_route_retained(g.route);
        RS_CHECKF(g.retained_fraction == k && fabs(g.material_avoided_kg - 10 * k) < 1e-12 &&
                      fabs(g.co2e_avoided_kg - 20 * k) < 1e-12,
                  "%s: retained %g", c->what, g.retained_fraction);
        RS_CHECK(strcmp(rm_grade_proposal(&g), c->review ? "review" : rm_route_name(c->route)) ==
                 0);
        /* pure: the same input gives the same bytes */
        RS_CHECK(rm_grade(f, &list, c->anomaly, &g2) == RV_OK);
        RS_CHECKF(memcmp(&g, &g2, sizeof g) == 0, "%s: two grades differ", c->what);
        rv_findings_free(&list);
    }
}

/* One case looked at closely: values, limits, zones, codes, texts, bounds, identity. */
static void test_details(const rm_family_t *f)
{
    static rm_grade_t g;
    fx_t fx[] = {CRACK(0, 2.1), RUST(1, 10), RUST(1, 16.26), FX_END};
    rv_findings_t list;
    s_findings(fx, &list);
    RS_CHECK(rm_grade(f, &list, 0.65, &g) == RV_OK);
    /* crack-deep (in band), crack-surface, rust-zone (26.26 > 25, in band), anomaly, credit */
    RS_CHECK_EQ(g.nreasons, 5);
    const rm_reason_t *r = &g.reasons[0];
    RS_CHECK(strcmp(r->rule_id, "crack-deep") == 0 && strcmp(r->code, "CRK-CRIT") == 0);
    RS_CHECK(r->kind == RM_REASON_ROUTE && r->value == 2.1 && r->limit == 2.0 && r->guard == 0.2);
    RS_CHECK_EQ(r->zone, 0);
    RS_CHECK(r->excludes == (RM_ROUTE_BIT(RM_ROUTE_REUSE) | RM_ROUTE_BIT(RM_ROUTE_REMANUFACTURE) |
                             RM_ROUTE_BIT(RM_ROUTE_REFURBISH)));
    RS_CHECKF(strcmp(r->text_en, "Crack 2.1 mm in zone ring over 2.0 mm") == 0, "%s", r->text_en);
    RS_CHECKF(strcmp(r->text_zh, "ring 区裂纹 2.1 mm，超过限值 2.0 mm") == 0, "%s", r->text_zh);
    r = &g.reasons[2];
    RS_CHECK(strcmp(r->rule_id, "rust-zone") == 0 && r->zone == 1);
    RS_CHECK(fabs(r->value - 26.26) < 1e-9 && r->fired && r->in_band);
    RS_CHECKF(strcmp(r->text_en, "Rust on 26.3 % of hub") == 0, "%s", r->text_en);
    /* the zone's Chinese name in the Chinese text (ring has none: its id) */
    RS_CHECKF(strcmp(r->text_zh, "轮毂 锈蚀 26.3%") == 0, "%s", r->text_zh);
    r = &g.reasons[3];
    RS_CHECK(r->kind == RM_REASON_ANOMALY && strcmp(r->rule_id, "anomaly") == 0);
    RS_CHECKF(strcmp(r->text_en, "Anomaly 0.65 (threshold 0.6)") == 0, "%s", r->text_en);
    RS_CHECKF(strcmp(r->text_zh, "异常分数 0.65（阈值 0.6）") == 0, "%s", r->text_zh);
    r = &g.reasons[4];
    RS_CHECK(r->kind == RM_REASON_CREDIT && r->credit == RM_CREDIT_PARTIAL && r->excludes == 0);
    /* nominal: reuse, reman, refurb excluded -> repair; best: only the certain ... */
    RS_CHECK(g.route == RM_ROUTE_REPAIR);
    RS_CHECK(g.route_best == RM_ROUTE_REMANUFACTURE); /* crack-surface is certain */
    RS_CHECK(g.route_worst == RM_ROUTE_REPAIR);
    /* the anomaly (0.65, in its band) excludes reuse, which crack-surface already took:
     * listed as fired, deciding nothing */
    RS_CHECK(g.review_why == (RM_REVIEW_ROUTE | RM_REVIEW_CREDIT));
    RS_CHECK(g.reasons[3].fired && g.reasons[3].in_band && !g.reasons[3].deciding);
    RS_CHECK(g.credit == RM_CREDIT_PARTIAL && g.credit_best == RM_CREDIT_FULL &&
             g.credit_worst == RM_CREDIT_PARTIAL);
    RS_CHECK(g.retained_fraction == 0.965);
    RS_CHECK(strcmp(g.family_id, "g-fam") == 0 && g.family_revision == 7);
    RS_CHECK(strcmp(g.family_hash, rm_family_hash_hex(f)) == 0);
    RS_CHECK(g.anomaly_score == 0.65);
    /* a rule listed only because its value lies in its band says so, in both languages:
     * the family's text is what it does if it applies, not a fact */
    rv_findings_free(&list);
    fx_t band[] = {CRACK(0, 1.9), FX_END};
    s_findings(band, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    r = &g.reasons[0];
    RS_CHECK(strcmp(r->rule_id, "crack-deep") == 0 && !r->fired && r->in_band && r->deciding);
    RS_CHECKF(strcmp(r->text_en, "In the guard band (measured 1.9, limit 2.0 ± 0.2): a person "
                                 "decides whether it applies. If it does: Crack 1.9 mm in zone "
                                 "ring over 2.0 mm") == 0,
              "%s", r->text_en);
    RS_CHECKF(strcmp(r->text_zh, "在保护带内（实测 1.9，限值 2.0 ± 0.2）：由人员判断是否适用。"
                                 "若适用：ring 区裂纹 1.9 mm，超过限值 2.0 mm") == 0,
              "%s", r->text_zh);
    /* a fired rule in its band keeps the family's text (rust-zone above) */
    /* a count renders without decimals */
    rv_findings_free(&list);
    fx_t pits[] = {PIT(0, 1), PIT(0, 1), PIT(0, 1), PIT(0, 1), FX_END};
    s_findings(pits, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    RS_CHECK(g.nreasons == 1 && strcmp(g.reasons[0].text_en, "4 pits in ring") == 0);
    RS_CHECK(isnan(g.anomaly_score));
    rv_findings_free(&list);
    /* several zones summed into one value: {zone} is "-" */
    fx_t wear[] = {WEAR(0, 60, 0.9), WEAR(2, 60, 0.9), FX_END};
    s_findings(wear, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    RS_CHECK(g.nreasons == 1 && g.reasons[0].zone == -1 && g.reasons[0].value == 120);
    rv_findings_free(&list);
}

static void test_refusals(const rm_family_t *f)
{
    static rm_grade_t g;
    rv_findings_t list;
    fx_t bad_zone[] = {CRACK(3, 1.0), FX_END};
    s_findings(bad_zone, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "findings[0]: family g-fam has no zone 3");
    rv_findings_free(&list);
    fx_t nan_len[] = {CRACK(0, 1.0), CRACK(0, NAN), FX_END};
    s_findings(nan_len, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "findings[1].length_mm is not finite");
    rv_findings_free(&list);
    fx_t ok[] = {CRACK(0, 1.0), FX_END};
    s_findings(ok, &list);
    RS_CHECK(rm_grade(f, &list, INFINITY, &g) == RV_EINVAL);
    list.items[0].type = (rv_finding_type_t) 9;
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_EINVAL);
    RS_CHECK(rm_grade(NULL, &list, NAN, &g) == RV_EINVAL);
    RS_CHECK(rm_grade(f, NULL, NAN, &g) == RV_EINVAL);
    RS_CHECK(rm_grade(f, &list, NAN, NULL) == RV_EINVAL);
    rv_findings_free(&list);
}

static void test_names(const rm_family_t *f)
{
    static const char *const routes[] = {"reuse", "remanufacture", "refurbish", "repair",
                                         "scrap"};
    for (int i = 0; i < RM_NROUTES; i++) {
        RS_CHECK(strcmp(rm_route_name((rm_route_t) i), routes[i]) == 0);
        RS_CHECK_EQ(rm_route_parse(routes[i]), i);
    }
    RS_CHECK(rm_route_name((rm_route_t) 5) == NULL && rm_route_parse("review") == -1);
    RS_CHECK(strcmp(rm_credit_name(RM_CREDIT_PARTIAL), "partial") == 0);
    RS_CHECK(rm_credit_parse("none") == RM_CREDIT_NONE && rm_credit_parse("some") == -1);
    RS_CHECK(rm_credit_name((rm_credit_t) 3) == NULL);
    RS_CHECK(strcmp(rm_criticality_name(RM_MATING), "mating") == 0);
    RS_CHECK(rm_criticality_parse("cosmetic") == RM_COSMETIC);
    /* the IRP midpoints */
    RS_CHECK(rm_route_retained(RM_ROUTE_REUSE) == 1.0);
    RS_CHECK(rm_route_retained(RM_ROUTE_REMANUFACTURE) == 0.89);
    RS_CHECK(rm_route_retained(RM_ROUTE_REFURBISH) == 0.905);
    RS_CHECK(rm_route_retained(RM_ROUTE_REPAIR) == 0.965);
    RS_CHECK(rm_route_retained(RM_ROUTE_SCRAP) == 0.0);
    RS_CHECK(rm_route_retained((rm_route_t) 7) < 0);
    double kg = -1, co2 = -1;
    RS_CHECK(rm_family_value_retained(f, RM_ROUTE_REFURBISH, &kg, &co2) == RV_OK);
    RS_CHECK(fabs(kg - 9.05) < 1e-12 && fabs(co2 - 18.1) < 1e-12);
    RS_CHECK(rm_family_value_retained(f, (rm_route_t) 9, &kg, &co2) == RV_EINVAL);
}

/* A family's own order and its subset of routes: excluded routes it does not allow have
 * no effect; preference follows the file, not the IRP order. */
static void test_route_order(void)
{
    const char *text =
        "{\"schema\": \"reman.family/1\", \"id\": \"o\", \"name\": \"o\", \"revision\": 1,\n"
        " \"part_numbers\": [\"O\"],\n"
        " \"views\": [{\"name\": \"v\", \"width\": 10, \"height\": 10}],\n"
        " \"calibration\": {\"mm_per_px\": 1},\n"
        " \"zones\": [{\"name\": \"z\", \"criticality\": \"critical\",\n"
        "            \"polygon\": [[0, 0], [10, 0], [10, 10]]}],\n"
        " \"routes\": [\"refurbish\", \"reuse\", \"scrap\"],\n"
        " \"rules\": [{\"id\": \"r\", \"reason\": \"R\",\n"
        "   \"excludes\": [\"refurbish\", \"repair\"],\n"
        "   \"when\": {\"finding\": \"any\", \"measure\": \"count\", \"aggregate\": \"count\",\n"
        "            \"op\": \">=\", \"limit\": 2, \"guard\": 0},\n"
        "   \"text\": {\"en\": \"{value} findings\", \"zh\": \"{value} 处缺陷\"}}],\n"
        " \"economics\": {\"mass_kg\": 1, \"co2e_kg\": 2}}\n";
    rm_family_t *f = rm_family_load_text(text, strlen(text), "order.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    if (!f)
        return;
    static rm_grade_t g;
    rv_findings_t list;
    fx_t one[] = {PIT(0, 1), FX_END}, two[] = {PIT(0, 1), CRACK(-1, 1), FX_END};
    s_findings(one, &list);
    RS_CHECK(rm_grade(f, &list, 0.99, &g) == RV_OK); /* no anomaly section: ignored */
    RS_CHECK(g.route == RM_ROUTE_REFURBISH && !g.review && g.nreasons == 0);
    rv_findings_free(&list);
    s_findings(two, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    RS_CHECK(g.route == RM_ROUTE_REUSE && g.nreasons == 1);
    RS_CHECK(strcmp(g.reasons[0].text_zh, "2 处缺陷") == 0);
    RS_CHECK(g.retained_fraction == 1.0 && g.material_avoided_kg == 1.0);
    rv_findings_free(&list);
    rm_family_destroy(&f);
}

/* A long text in its band: the lead-in goes first; the Chinese text, longer than 511
 * bytes, is cut on a character boundary, whatever byte the cut falls on (three fillers shift it by 0, 1, 2). */
static void test_long_text(void)
{
    char zone_zh[64] = "", filler_zh[256] = "", zone_en[48] = "", filler_en[256] = "";
    for (int i = 0; i < 21; i++)
        strcat(zone_zh, "区"); /* 63 bytes: the most a name_zh holds */
    memset(zone_en, 'z', 47);
    for (int shift = 0; shift < 3; shift++) {
        /* 240-byte templates: four zones (24 bytes) and 216 bytes of filler */
        memset(filler_zh, 'x', (size_t) shift);
        filler_zh[shift] = '\0';
        for (int i = 0; i < (216 - shift) / 3; i++)
            strcat(filler_zh, "裂");
        memset(filler_en, 'e', 216);
        filler_en[216] = '\0';
        char text[2048];
        snprintf(text, sizeof text,
                 "{\"schema\": \"reman.family/1\", \"id\": \"l\", \"name\": \"l\", "
                 "\"revision\": 1, \"part_numbers\": [\"L\"],\n"
                 " \"views\": [{\"name\": \"v\", \"width\": 10, \"height\": 10}],\n"
                 " \"calibration\": {\"mm_per_px\": 1},\n"
                 " \"zones\": [{\"name\": \"%s\", \"name_zh\": \"%s\", "
                 "\"criticality\": \"critical\", \"polygon\": [[0, 0], [10, 0], [10, 10]]}],\n"
                 " \"routes\": [\"reuse\", \"repair\", \"scrap\"],\n"
                 " \"rules\": [{\"id\": \"r\", \"reason\": \"R\", \"excludes\": [\"reuse\"],\n"
                 "   \"when\": {\"finding\": \"crack\", \"measure\": \"length_mm\", "
                 "\"op\": \">\", \"limit\": 2.0, \"guard\": 0.2},\n"
                 "   \"text\": {\"en\": \"{zone}{zone}{zone}{zone}%s\", "
                 "\"zh\": \"{zone}{zone}{zone}{zone}%s\"}}],\n"
                 " \"economics\": {\"mass_kg\": 1, \"co2e_kg\": 2}}\n",
                 zone_en, zone_zh, filler_en, filler_zh);
        rm_family_t *f = rm_family_load_text(text, strlen(text), "long.json");
        RS_CHECKF(f != NULL, "%s", rv_last_error());
        if (!f)
            return;
        static rm_grade_t g;
        rv_findings_t list;
        fx_t band[] = {CRACK(0, 1.9), FX_END};
        s_findings(band, &list);
        RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
        RS_CHECK(g.nreasons == 1 && g.review && g.reasons[0].in_band && !g.reasons[0].fired);
        const char *lead[2] = {"In the guard band (measured 1.9, limit 2.0 ± 0.2): a person "
                               "decides whether it applies. If it does: ",
                               "在保护带内（实测 1.9，限值 2.0 ± 0.2）：由人员判断是否适用。"
                               "若适用："};
        const char *zone[2] = {zone_en, zone_zh}, *filler[2] = {filler_en, filler_zh};
        const char *got[2] = {g.reasons[0].text_en, g.reasons[0].text_zh};
        for (int k = 0; k < 2; k++) {
            char full[2048];
            snprintf(full, sizeof full, "%s%s%s%s%s%s", lead[k], zone[k], zone[k], zone[k],
                     zone[k], filler[k]);
            size_t n = strlen(got[k]), nfull = strlen(full);
            if (k == 0) { /* the longest English text fits: nothing is cut */
                RS_CHECKF(strcmp(got[k], full) == 0, "%s", got[k]);
                continue;
            }
            RS_CHECKF(nfull > RM_REASON_TEXT_SIZE, "%zu bytes do not overflow", nfull);
            /* a prefix of the whole, cut before a character's first byte, within 3 bytes */
            RS_CHECKF(n < RM_REASON_TEXT_SIZE && n + 3 >= RM_REASON_TEXT_SIZE,
                      "shift %d: %zu bytes", shift, n);
            RS_CHECKF(strncmp(got[k], full, n) == 0, "shift %d: not a prefix", shift);
            RS_CHECKF(((unsigned char) full[n] & 0xC0) != 0x80,
                      "shift %d: cut inside a character at %zu", shift, n);
        }
        rv_findings_free(&list);
        rm_family_destroy(&f);
    }
}


/* The alignment's residual over the view's limit: the proposal becomes review whatever
 * the findings said, the route and the other reasons stay; at or under the limit, with the
 * limit off, or with no residual measured, nothing changes. */
static void test_alignment_review(rm_family_t *f)
{
    static rm_grade_t g, before;
    rv_findings_t list;
    fx_t none[] = {FX_END}, pit[] = {PIT(0, 1), FX_END};
    s_findings(none, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    RS_CHECK(g.route == RM_ROUTE_REUSE && !g.review && g.nreasons == 0);
    before = g;
    const double quiet[][2] = {{0.5, 0.5}, {0.3, 0.5}, {2.0, 0}, {-1, 0.5}, {NAN, 0.5},
                               {INFINITY, 0.5}};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        RS_CHECK_EQ(rm_grade_review_alignment(f, quiet[i][0], quiet[i][1], &g), 0);
        RS_CHECKF(g.review == before.review && g.review_why == before.review_why &&
                      g.nreasons == before.nreasons && g.route == before.route &&
                      g.route_best == before.route_best && g.route_worst == before.route_worst,
                  "residual %g, limit %g changed the grade", quiet[i][0], quiet[i][1]);
    }
    RS_CHECK_EQ(rm_grade_review_alignment(f, 0.81, 0.5, &g), 1);
    RS_CHECK(g.review && g.review_why == RM_REVIEW_ALIGN && g.route == RM_ROUTE_REUSE);
    RS_CHECK(g.route_best == RM_ROUTE_REUSE && g.route_worst == RM_ROUTE_SCRAP);
    RS_CHECK(strcmp(rm_grade_proposal(&g), "review") == 0);
    RS_CHECK(g.nreasons == 1 && g.reasons[0].kind == RM_REASON_ALIGN);
    const rm_reason_t *r = &g.reasons[0];
    RS_CHECK(strcmp(r->rule_id, "alignment") == 0 && strcmp(r->code, "ALIGN-RESIDUAL") == 0);
    RS_CHECK(r->fired && r->deciding && r->value == 0.81 && r->limit == 0.5 && r->excludes == 0);
    RS_CHECKF(strstr(r->text_en, "0.81 px") && strstr(r->text_en, "0.50 px limit"), "%s",
              r->text_en);
    RS_CHECKF(strstr(r->text_zh, "0.81 px") && strstr(r->text_zh, "人工"), "%s", r->text_zh);
    rv_findings_free(&list);
    /* a scrapped part is proposed for review too: its findings may be the misplacement's */
    fx_t crack[] = {CRACK(0, 3.0), FX_END};
    s_findings(crack, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    rm_route_t route = g.route;
    size_t n = g.nreasons;
    RS_CHECK(!g.review && n > 0);
    RS_CHECK_EQ(rm_grade_review_alignment(f, 1.5, 0.5, &g), 1);
    RS_CHECK(g.review && g.route == route && g.nreasons == n + 1 &&
             g.reasons[n].kind == RM_REASON_ALIGN);
    rv_findings_free(&list);
    s_findings(pit, &list);
    RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
    RS_CHECK(rm_grade_review_alignment(NULL, 1, 0.5, &g) == RV_EINVAL);
    RS_CHECK(rm_grade_review_alignment(f, 1, 0.5, NULL) == RV_EINVAL);
    rv_findings_free(&list);
}

int main(void)
{
    rm_family_t *f = rm_family_load_text(s_family, strlen(s_family), "grade.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    if (f) {
        test_table(f);
        test_details(f);
        test_refusals(f);
        test_names(f);
        test_alignment_review(f);
    }
    test_route_order();
    test_long_text();
    rm_family_destroy(&f);
    return rs_test_end("test_grade");
}
