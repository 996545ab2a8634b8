/* test_family.c - loading part families: the shipped files, accessors, the content hash,
 * every kind of bad file refused with its exact JSON path and line, hostile input refused
 * quickly, zone masks by pixel count, part-number patterns and shared references. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rs_test.h"
#include "rv/rv_error.h"
#include "rv/rv_image.h"

/* A small valid family; the line numbers below are what the bad cases expect. */
static const char *const s_base =
    "{\n"                                                                            /* 1 */
    "  \"schema\": \"reman.family/1\",\n"                                            /* 2 */
    "  \"id\": \"t-fam\",\n"                                                         /* 3 */
    "  \"name\": \"Test family\",\n"                                                 /* 4 */
    "  \"revision\": 3,\n"                                                           /* 5 */
    "  \"part_numbers\": [\"TST-###\", \"TST-X*\"],\n"                               /* 6 */
    "  \"views\": [{\"name\": \"top\", \"width\": 100, \"height\": 80}],\n"          /* 7 */
    "  \"calibration\": {\"mm_per_px\": 0.5},\n"                                     /* 8 */
    "  \"zones\": [\n"                                                               /* 9 */
    "    {\"name\": \"a\", \"criticality\": \"critical\",\n"                         /* 10 */
    "     \"polygon\": [[10, 10], [50, 10], [50, 50], [10, 50]],\n"                  /* 11 */
    "     \"detectors\": {\"crack\": {\"min_length_mm\": 0.5}}},\n"                  /* 12 */
    "    {\"name\": \"b\", \"criticality\": \"mating\",\n"                           /* 13 */
    "     \"polygon\": [[60, 10], [90, 10], [90, 40]]},\n"                           /* 14 */
    "    {\"name\": \"c\", \"criticality\": \"cosmetic\",\n"                         /* 15 */
    "     \"polygon\": [[0, 60], [100, 60], [100, 80], [0, 80]],\n"                  /* 16 */
    "     \"holes\": [[[10, 65], [20, 65], [20, 75], [10, 75]]]}\n"                  /* 17 */
    "  ],\n"                                                                         /* 18 */
    "  \"routes\": [\"reuse\", \"remanufacture\", \"refurbish\", \"repair\", \"scrap\"],\n" /* 19 */
    "  \"rules\": [\n"                                                               /* 20 */
    "    {\"id\": \"crack-crit\", \"reason\": \"CRK-CRIT\",\n"                       /* 21 */
    "     \"when\": {\"finding\": \"crack\", \"criticality\": \"critical\",\n"       /* 22 */
    "              \"measure\": \"length_mm\", \"aggregate\": \"max\",\n"            /* 23 */
    "              \"op\": \">\", \"limit\": 2.0, \"guard\": 0.2},\n"                /* 24 */
    "     \"excludes\": [\"reuse\", \"remanufacture\", \"refurbish\"],\n"            /* 25 */
    "     \"text\": {\"en\": \"Crack {value} mm in {zone} over {limit} mm\",\n"      /* 26 */
    "              \"zh\": \"{zone} 区裂纹 {value} mm 超过 {limit} mm\"}},\n"        /* 27 */
    "    {\"id\": \"rust\", \"reason\": \"COR-ZONE\",\n"                             /* 28 */
    "     \"when\": {\"finding\": \"corrosion\", \"measure\": \"zone_pct\",\n"       /* 29 */
    "              \"aggregate\": \"sum\", \"per_zone\": true,\n"                    /* 30 */
    "              \"op\": \">\", \"limit\": 25, \"guard\": 2},\n"                   /* 31 */
    "     \"excludes\": [\"reuse\", \"remanufacture\"],\n"                           /* 32 */
    "     \"text\": {\"en\": \"Rust {value} %\", \"zh\": \"腐蚀 {value}%\"}}\n"      /* 33 */
    "  ],\n"                                                                         /* 34 */
    "  \"anomaly\": {\"threshold\": 0.6, \"uncertain\": [0.5, 0.7],\n"               /* 35 */
    "              \"excludes\": [\"reuse\"], \"reason\": \"ANOMALY\",\n"            /* 36 */
    "              \"text\": {\"en\": \"score {value}\", \"zh\": \"分数 {value}\"}},\n" /* 37 */
    "  \"credit_rules\": [\n"                                                        /* 38 */
    "    {\"id\": \"credit-crack\", \"credit\": \"partial\", \"reason\": \"CRD-CRACK\",\n" /* 39 */
    "     \"when\": {\"finding\": \"crack\", \"criticality\": \"critical\",\n"       /* 40 */
    "              \"measure\": \"length_mm\", \"op\": \">\", \"limit\": 2.0,\n"     /* 41 */
    "              \"guard\": 0.2},\n"                                               /* 42 */
    "     \"text\": {\"en\": \"cracked core\", \"zh\": \"旧件开裂\"}}\n"             /* 43 */
    "  ],\n"                                                                         /* 44 */
    "  \"economics\": {\"mass_kg\": 10, \"co2e_kg\": 20},\n"                         /* 45 */
    "  \"reference\": {\"file\": \"ref/t-fam.bin\",\n"                               /* 46 */
    "                \"sha256\": "
    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}\n"        /* 47 */
    "}\n";                                                                           /* 48 */

/* s_base with the first occurrence of from replaced by to (caller frees). */
static char *s_edit(const char *from, const char *to)
{
    const char *at = strstr(s_base, from);
    if (!at) {
        fprintf(stderr, "test bug: \"%s\" not in the base text\n", from);
        exit(2);
    }
    size_t nb = strlen(s_base), nf = strlen(from), nt = strlen(to);
    char *out = malloc(nb - nf + nt + 1);
    size_t head = (size_t) (at - s_base);
    memcpy(out, s_base, head);
    memcpy(out + head, to, nt);
    memcpy(out + head + nt, at + nf, nb - head - nf + 1);
    return out;
}

typedef struct bad_case {
    const char *what;
    const char *from, *to; /* edit of the base text */
    const char *expect;    /* the message must contain this: "path: problem (line N)" */
} bad_case_t;

static const bad_case_t s_bad[] = {
    {"missing field", "  \"name\": \"Test family\",\n", "", "name: missing (line 1)"},
    {"missing nested field", "\"criticality\": \"mating\",", "",
     "zones[1].criticality: missing (line 13)"},
    {"wrong type", "\"revision\": 3", "\"revision\": \"3\"",
     "revision: expected an integer, not a string (line 5)"},
    {"wrong type of point", "[60, 10], [90, 10]", "[60, 10], [90, \"10\"]",
     "zones[1].polygon[1][1]: expected a number, not a string (line 14)"},
    {"unknown key at top", "  \"revision\": 3,\n", "  \"revision\": 3,\n  \"revison\": 4,\n",
     "revison: unknown key (line 6)"},
    {"unknown key nested", "\"guard\": 0.2},\n     \"excludes\"",
     "\"guard\": 0.2,\n              \"gaurd\": 1},\n     \"excludes\"",
     "rules[0].when.gaurd: unknown key (line 25)"},
    {"unknown detector", "{\"crack\": {", "{\"crak\": {",
     "zones[0].detectors.crak: unknown detector"},
    {"polygon with 2 points", "[[60, 10], [90, 10], [90, 40]]", "[[60, 10], [90, 10]]",
     "zones[1].polygon: needs at least 3 points (line 14)"},
    {"polygon without area", "[[60, 10], [90, 10], [90, 40]]", "[[60, 10], [70, 10], [90, 10]]",
     "zones[1].polygon: has no area"},
    {"point outside the view", "[90, 40]]", "[90, 81]]",
     "zones[1].polygon[2][1]: 81 is out of range [0, 80] (line 14)"},
    {"hole with 2 points", "[[[10, 65], [20, 65], [20, 75], [10, 75]]]",
     "[[[10, 65], [20, 65]]]", "zones[2].holes[0]: needs at least 3 points (line 17)"},
    {"route not in the set", "\"repair\", \"scrap\"]", "\"resell\", \"scrap\"]",
     "routes[3]: \"resell\" is not a route"},
    {"scrap missing", "\"repair\", \"scrap\"]", "\"repair\"]",
     "routes: scrap is always allowed and must be listed last (line 19)"},
    {"scrap not last", "\"refurbish\", \"repair\", \"scrap\"]",
     "\"refurbish\", \"scrap\", \"repair\"]",
     "routes[3]: scrap must be the last route (line 19)"},
    {"route twice", "\"refurbish\", \"repair\"", "\"refurbish\", \"reuse\"",
     "routes[3]: \"reuse\" listed twice (line 19)"},
    {"excludes scrap", "\"excludes\": [\"reuse\", \"remanufacture\"]",
     "\"excludes\": [\"reuse\", \"scrap\"]",
     "rules[1].excludes[1]: scrap cannot be excluded: it is always allowed (line 32)"},
    {"duplicate rule id", "{\"id\": \"rust\"", "{\"id\": \"crack-crit\"",
     "rules[1].id: \"crack-crit\" is already rules[0] (line 28)"},
    {"credit id reuses a rule id", "{\"id\": \"credit-crack\"", "{\"id\": \"rust\"",
     "credit_rules[0].id: \"rust\" is already rules[1] (line 39)"},
    {"duplicate zone name", "{\"name\": \"b\"", "{\"name\": \"a\"",
     "zones[1].name: \"a\" is already zones[0] (line 13)"},
    {"huge number", "\"limit\": 2.0, \"guard\": 0.2}", "\"limit\": 1e300, \"guard\": 0.2}",
     "rules[0].when.limit: 1e+300 is out of range [-1e+06, 1e+06] (line 24)"},
    {"number overflowing a double", "\"limit\": 25", "\"limit\": 1e999",
     "syntax error: real number overflow near '1e999' (line 31"},
    {"integer overflow", "\"revision\": 3", "\"revision\": 99999999999999999999",
     "syntax error: too big integer near '99999999999999999999' (line 5"},
    {"NaN literal", "\"limit\": 25", "\"limit\": NaN", "syntax error"},
    {"NaN as a string", "\"limit\": 25", "\"limit\": \"NaN\"",
     "rules[1].when.limit: expected a number, not a string (line 31)"},
    {"negative guard", "\"guard\": 2}", "\"guard\": -2}",
     "rules[1].when.guard: -2 is out of range [0, 1e+06] (line 31)"},
    {"syntax error", "  \"economics\": {\"mass_kg\": 10, \"co2e_kg\": 20},\n",
     "  \"economics\": {\"mass_kg\": 10 \"co2e_kg\": 20},\n", "syntax error"},
    {"duplicate key", "\"revision\": 3,", "\"revision\": 3, \"revision\": 4,",
     "syntax error: duplicate object key near '\"revision\"' (line 5, column 27)"},
    {"unknown placeholder", "over {limit} mm\"", "over {limt} mm\"",
     "rules[0].text.en: unknown placeholder at \"{limt} mm\" ({value}, {limit}, {zone}) (line 26)"},
    {"missing translation", ", \"zh\": \"腐蚀 {value}%\"", "",
     "rules[1].text.zh: missing (line 33)"},
    {"unknown zone in a rule", "\"criticality\": \"critical\",\n              \"measure\": "
                               "\"length_mm\", \"aggregate\"",
     "\"zone\": \"x\",\n              \"measure\": \"length_mm\", \"aggregate\"",
     "rules[0].when.zone: no zone is named \"x\" (line 22)"},
    {"measure the finding lacks", "\"measure\": \"length_mm\", \"aggregate\"",
     "\"measure\": \"diameter_mm\", \"aggregate\"",
     "rules[0].when.measure: crack findings do not carry diameter_mm (line 23)"},
    {"count needs count", "\"aggregate\": \"max\"", "\"aggregate\": \"count\"",
     "rules[0].when.aggregate: aggregate \"count\" goes with measure \"count\", and only with "
     "it (line 23)"},
    {"bad operator", "\"op\": \">\", \"limit\": 25", "\"op\": \"=>\", \"limit\": 25",
     "rules[1].when.op: \"=>\" is not one of >, >=, <, <= (line 31)"},
    {"bad criticality", "\"criticality\": \"cosmetic\"", "\"criticality\": \"pretty\"",
     "zones[2].criticality: \"pretty\" is not one of critical, mating, cosmetic (line 15)"},
    {"anomaly band without the threshold", "[0.5, 0.7]", "[0.65, 0.7]",
     "anomaly.uncertain: must contain the threshold"},
    {"bad reason code", "\"reason\": \"COR-ZONE\"", "\"reason\": \"cor zone\"",
     "rules[1].reason: may hold only upper-case letters"},
    {"bad schema", "reman.family/1", "reman.family/2",
     "schema: \"reman.family/2\" is not \"reman.family/1\" (line 2)"},
    {"calibration neither", "{\"mm_per_px\": 0.5}", "{}",
     "calibration: needs mm_per_px or a calibration record (line 8)"},
    {"calibration both", "{\"mm_per_px\": 0.5}", "{\"mm_per_px\": 0.5, \"record\": \"cal-1\"}",
     "calibration.record: give mm_per_px or a calibration record, not both (line 8)"},
    {"reference escaping its folder", "\"ref/t-fam.bin\"", "\"../t-fam.bin\"",
     "reference.file: must be a file relative to the family file"},
    {"reference hash not hex", "\"00112233", "\"X0112233",
     "reference.sha256: "},
    {"pattern with a space", "\"TST-###\"", "\"TST ###\"", "part_numbers[0]: may hold only"},
    {"not an object", "{\n  \"schema\"", "[\n  \"schema\"", "syntax error"},
    {"view unknown", "{\"name\": \"b\", \"criticality\": \"mating\",",
     "{\"name\": \"b\", \"view\": \"side\", \"criticality\": \"mating\",",
     "zones[1].view: no view is named \"side\" (line 13)"},
    {"too long id", "\"id\": \"t-fam\"",
     "\"id\": \"t-famxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
     "id: too long: 59 bytes, at most 47 (line 3)"},
    {"unknown alignment motion", "\"height\": 80}", "\"height\": 80, \"align\": {\"motion\": \"warp\"}}",
     "views[0].align.motion: \"warp\" is not one of rigid, affine (line 7)"},
    {"alignment scale out of range", "\"height\": 80}",
     "\"height\": 80, \"align\": {\"scale\": [0.05, 1.5]}}",
     "views[0].align.scale[0]: 0.05 is out of range [0.1, 1] (line 7)"},
    {"alignment scale not a pair", "\"height\": 80}", "\"height\": 80, \"align\": {\"scale\": [0.9]}}",
     "views[0].align.scale: expected an array [min, max]"},
    {"alignment solid not boolean", "\"height\": 80}", "\"height\": 80, \"align\": {\"solid\": 1}}",
     "views[0].align.solid: expected true or false"},
    {"blind holes not boolean", "\"height\": 80}",
     "\"height\": 80, \"align\": {\"blind_holes\": \"yes\"}}",
     "views[0].align.blind_holes: expected true or false"},
    {"alignment unknown key", "\"height\": 80}", "\"height\": 80, \"align\": {\"soild\": true}}",
     "views[0].align.soild: unknown key (line 7)"},
    {"alignment work width", "\"height\": 80}", "\"height\": 80, \"align\": {\"work_width\": 8}}",
     "views[0].align.work_width: 8 is out of range [64, 4096] (line 7)"},
    {"zone name in Chinese", "\"criticality\"", "\"name_zh\": 7, \"criticality\"",
     "zones[0].name_zh: expected a string, not a number (line 10)"},
    {"alignment overlap", "\"height\": 80}", "\"height\": 80, \"align\": {\"min_overlap\": 1.2}}",
     "views[0].align.min_overlap: 1.2 is out of range [0.5, 0.99] (line 7)"},
    {"alignment residual", "\"height\": 80}",
     "\"height\": 80, \"align\": {\"max_residual_px\": -0.5}}",
     "views[0].align.max_residual_px: -0.5 is out of range [0, 10] (line 7)"},
    {"unknown anomaly model", "{\"threshold\": 0.6,", "{\"model\": \"blobs\", \"threshold\": 0.6,",
     "anomaly.model: \"blobs\" is not one of band, rings (line 35)"},
    {"even rings window", "{\"threshold\": 0.6,", "{\"model\": \"rings\", \"window\": 20, \"threshold\": 0.6,",
     "anomaly.window: must be odd"},
    {"rings window out of range", "{\"threshold\": 0.6,", "{\"window\": 401, \"threshold\": 0.6,",
     "anomaly.window: 401 is out of range [3, 359] (line 35)"},
};

static void test_bad_files(void)
{
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        const bad_case_t *b = &s_bad[i];
        char *text = s_edit(b->from, b->to);
        rv_clear_error();
        rm_family_t *f = rm_family_load_text(text, strlen(text), "bad.json");
        RS_CHECKF(f == NULL, "%s: accepted", b->what);
        const char *msg = rv_last_error();
        RS_CHECKF(strstr(msg, b->expect) != NULL, "%s: \"%s\" lacks \"%s\"", b->what, msg,
                  b->expect);
        RS_CHECKF(strncmp(msg, "rm_family: bad.json: ", 21) == 0, "%s: \"%s\"", b->what, msg);
        RS_CHECK_EQ(rm_family_load_status(), RV_EFORMAT);
        rm_family_destroy(&f);
        free(text);
    }
    /* valid JSON, but not an object */
    RS_CHECK(rm_family_load_text("\n[1, 2]", 7, "bad.json") == NULL);
    RS_CHECK_MSG(rv_last_error(),
                 "bad.json: (document): expected an object, not an array (line 2)");
    /* the syntax error's line: jansson's, of the offending token */
    char *text = s_edit("\"mass_kg\": 10, \"co2e_kg\"", "\"mass_kg\": 10 \"co2e_kg\"");
    RS_CHECK(rm_family_load_text(text, strlen(text), "bad.json") == NULL);
    RS_CHECK_MSG(rv_last_error(), "(line 45, column");
    free(text);
}

/* A view's "align" object, every member given. */
static void test_align(void)
{
    char *text = s_edit("\"height\": 80}", "\"height\": 80, \"align\": {\"motion\": \"affine\", "
                        "\"solid\": true, \"rotation\": false, \"scale\": [0.67, 1.5], "
                        "\"max_axis_ratio\": 1.3, \"work_width\": 256, \"min_overlap\": 0.8, "
                        "\"max_residual_px\": 1.25, \"blind_holes\": true}}");
    rm_family_t *f = rm_family_load_text(text, strlen(text), "align.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    rm_view_align_t va;
    if (f && rm_family_view_align(f, 0, &va) == RV_OK) {
        RS_CHECK(va.affine == 1 && va.solid == 1 && va.rotation == 0 && va.blind_holes == 1);
        RS_CHECK(va.min_scale == 0.67 && va.max_scale == 1.5 && va.max_aniso == 1.3);
        RS_CHECK_EQ(va.work_width, 256);
        RS_CHECK(va.min_overlap == 0.8 && va.max_residual == 1.25);
    }
    rm_family_destroy(&f);
    free(text);
}

/* the anomaly section's model: band by default, rings with its window */
static void test_anomaly_model(void)
{
    rm_family_t *f = rm_family_load_text(s_base, strlen(s_base), "a.json");
    int window = 0;
    RS_CHECK(f && rm_family_anomaly_model(f, &window) == RM_ANOMALY_BAND && window == 21);
    rm_family_destroy(&f);
    char *text = s_edit("{\"threshold\": 0.6,", "{\"model\": \"rings\", \"window\": 31, \"threshold\": 0.6,");
    f = rm_family_load_text(text, strlen(text), "rings.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    RS_CHECK(f && rm_family_anomaly_model(f, &window) == RM_ANOMALY_RINGS && window == 31);
    rm_family_destroy(&f);
    free(text);
}

static void test_base(void)
{
    rm_family_t *f = rm_family_load_text(s_base, strlen(s_base), "/some/dir/t.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    if (!f)
        return;
    RS_CHECK(strcmp(rm_family_id(f), "t-fam") == 0);
    RS_CHECK(strcmp(rm_family_name(f), "Test family") == 0);
    RS_CHECK_EQ(rm_family_revision(f), 3);
    RS_CHECK_EQ(rm_family_load_status(), 0);
    RS_CHECK_EQ(rm_family_view_count(f), 1);
    int w = 0, h = 0;
    RS_CHECK(rm_family_view_size(f, 0, &w, &h) == RV_OK && w == 100 && h == 80);
    RS_CHECK(rm_family_view_size(f, 1, &w, &h) == RV_EINVAL);
    RS_CHECK(strcmp(rm_family_view_name(f, 0), "top") == 0);
    /* no "align": the station's defaults (rigid at the camera's scale, Otsu's outline) */
    rm_view_align_t va;
    RS_CHECK(rm_family_view_align(f, 0, &va) == RV_OK);
    RS_CHECK(va.affine == 0 && va.solid == 0 && va.blind_holes == 0 && va.rotation == 1 &&
             va.min_scale == 0.8 &&
             va.max_scale == 1.25 && va.max_aniso == 1.5 && va.work_width == 512 &&
                 va.min_overlap == 0.85 && va.max_residual == 0.5);
    RS_CHECK(rm_family_view_align(f, 1, &va) == RV_EINVAL);
    RS_CHECK(rm_family_mm_per_px(f) == 0.5);
    RS_CHECK(rm_family_calibration_record(f) == NULL);
    RS_CHECK_EQ(rm_family_zone_count(f), 3);
    RS_CHECK_EQ(rm_family_zone_find(f, "c"), 2);
    RS_CHECK_EQ(rm_family_zone_find(f, "zz"), -1);
    const rm_zone_t *a = rm_family_zone(f, 0), *c = rm_family_zone(f, 2);
    RS_CHECK(rm_family_zone(f, 3) == NULL);
    RS_CHECK(strcmp(rm_zone_name(a), "a") == 0);
    RS_CHECK(rm_zone_criticality(a) == RM_CRITICAL);
    RS_CHECK(rm_zone_criticality(c) == RM_COSMETIC);
    RS_CHECK(rm_zone_param(a, "crack", "min_length_mm", 9.0) == 0.5);
    RS_CHECK(rm_zone_param(a, "crack", "max_width_mm", 9.0) == 9.0);
    RS_CHECK(rm_zone_param(a, "pit", "min_length_mm", 7.0) == 7.0);
    RS_CHECK(rm_zone_param(a, "nonsense", "min_length_mm", 7.0) == 7.0);
    RS_CHECK_EQ(rm_zone_ring_count(c), 2);
    size_t np = 0;
    const double(*ring)[2] = rm_zone_ring(c, 1, &np);
    RS_CHECK(ring && np == 4 && ring[2][0] == 20 && ring[2][1] == 75);
    RS_CHECK(rm_zone_ring(c, 2, &np) == NULL && np == 0);
    RS_CHECK_EQ(rm_family_rule_count(f), 2);
    RS_CHECK_EQ(rm_family_credit_rule_count(f), 1);
    RS_CHECK_EQ(rm_family_route_count(f), 5);
    RS_CHECK(rm_family_route(f, 4) == RM_ROUTE_SCRAP);
    RS_CHECK(rm_family_mass_kg(f) == 10 && rm_family_co2e_kg(f) == 20);
    RS_CHECK(strcmp(rm_family_reference_file(f), "ref/t-fam.bin") == 0);
    RS_CHECK(strcmp(rm_family_reference_path(f), "/some/dir/ref/t-fam.bin") == 0);
    RS_CHECK(strncmp(rm_family_reference_sha256(f), "0011", 4) == 0);
    RS_CHECK(strcmp(rm_family_origin(f), "/some/dir/t.json") == 0);
    /* SHA-256 of exactly these bytes: any edit, even a space, changes it */
    const char *hex = rm_family_hash_hex(f);
    RS_CHECK_EQ(strlen(hex), 64);
    char *spaced = s_edit("\"revision\": 3", "\"revision\":  3");
    rm_family_t *g = rm_family_load_text(spaced, strlen(spaced), "t2.json");
    RS_CHECK(g && strcmp(rm_family_hash_hex(g), hex) != 0);
    RS_CHECK(g && memcmp(rm_family_hash(g), rm_family_hash(f), 32) != 0);
    rm_family_t *same = rm_family_load_text(s_base, strlen(s_base), "t3.json");
    RS_CHECK(same && strcmp(rm_family_hash_hex(same), hex) == 0);
    /* no reference: null, or absent */
    char *noref = s_edit("\"reference\": {\"file\": \"ref/t-fam.bin\",",
                         "\"reference\": null, \"x\": {\"file\": \"ref/t-fam.bin\",");
    rm_family_t *n = rm_family_load_text(noref, strlen(noref), "t4.json");
    RS_CHECK(n == NULL); /* "x" is an unknown key */
    RS_CHECK_MSG(rv_last_error(), "x: unknown key (line 46)");
    free(noref);
    noref = s_edit(",\n  \"reference\": {\"file\": \"ref/t-fam.bin\",\n                \"sha256\": "
                   "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}",
                   ",\n  \"reference\": null");
    n = rm_family_load_text(noref, strlen(noref), "t5.json");
    RS_CHECKF(n != NULL, "%s", rv_last_error());
    RS_CHECK(n && rm_family_reference_file(n) == NULL && rm_family_reference_path(n) == NULL &&
             rm_family_reference_sha256(n) == NULL);
    free(noref);
    /* a calibration record instead of a scale */
    char *rec = s_edit("{\"mm_per_px\": 0.5}",
                       "{\"record\": \"cal-2024-07\", \"note\": \"bench 3\"}");
    rm_family_t *r = rm_family_load_text(rec, strlen(rec), "t6.json");
    RS_CHECKF(r != NULL, "%s", rv_last_error());
    RS_CHECK(r && rm_family_mm_per_px(r) == 0 &&
             strcmp(rm_family_calibration_record(r), "cal-2024-07") == 0);
    free(rec);
    rm_family_destroy(&r);
    rm_family_destroy(&n);
    rm_family_destroy(&same);
    rm_family_destroy(&g);
    free(spaced);
    rm_family_destroy(&f);
    RS_CHECK(f == NULL);
    rm_family_destroy(&f); /* NULL is fine */
    rm_family_destroy(NULL);
}

static char *s_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t) n + 1);
    *len = fread(buf, 1, (size_t) n, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

static const char *s_src(void)
{
    const char *s = getenv("RS_SOURCE_DIR");
    return s ? s : ".";
}

/* Every shipped family loads, and its zones lie where the part is. */
static void test_shipped(void)
{
    static const struct {
        const char *file, *id, *pn;
        int width, height;
        size_t zones;
    } fams[] = {
        {"demo-disc.json", "demo-disc", "BRK-DISC-300", 1280, 960, 4},
        {"demo-housing.json", "demo-housing", "TRB-HSG-260", 1280, 960, 8},
        {"demo-shaft.json", "demo-shaft", "SHF-STEP-420", 1280, 960, 6},
        {"cast-impeller.json", "cast-impeller", "IMP-CAST-0001", 512, 512, 3},
    };
    char path[1024];
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        snprintf(path, sizeof path, "%s/models/families/%s", s_src(), fams[i].file);
        rm_family_t *f = rm_family_load(path);
        RS_CHECKF(f != NULL, "%s: %s", fams[i].file, rv_last_error());
        if (!f)
            continue;
        RS_CHECK(strcmp(rm_family_id(f), fams[i].id) == 0);
        RS_CHECKF(rm_family_matches(f, fams[i].pn), "%s does not match %s", fams[i].id,
                  fams[i].pn);
        int w, h;
        RS_CHECK(rm_family_view_size(f, 0, &w, &h) == RV_OK && w == fams[i].width &&
                 h == fams[i].height);
        RS_CHECK_EQ(rm_family_zone_count(f), fams[i].zones);
        /* the impeller is aligned affine on its solid outline (the dataset's camera distance
         * and tilt vary; its face matches the fixture's grey); the demo cores rigidly */
        rm_view_align_t va;
        RS_CHECK(rm_family_view_align(f, 0, &va) == RV_OK);
        int imp = strcmp(fams[i].id, "cast-impeller") == 0;
        RS_CHECKF(va.affine == imp && va.solid == imp, "%s: affine %d solid %d", fams[i].id,
                  va.affine, va.solid);
        /* the shaft's one hole, its keyway, is blind: its floor is inspected */
        int shaft = strcmp(fams[i].id, "demo-shaft") == 0;
        RS_CHECKF(va.blind_holes == shaft, "%s: blind_holes %d", fams[i].id, va.blind_holes);
        /* and its surface judged ring by ring (rv_polar.h); the demo cores by their band */
        int window = 0;
        RS_CHECK_EQ(rm_family_anomaly_model(f, &window), imp ? RM_ANOMALY_RINGS : RM_ANOMALY_BAND);
        RS_CHECK_EQ(window, 21);
        RS_CHECK(rm_family_mm_per_px(f) > 0);
        RS_CHECK(rm_family_reference_file(f) == NULL); /* learnt later */
        RS_CHECK(rm_family_route(f, rm_family_route_count(f) - 1) == RM_ROUTE_SCRAP);
        /* the content hash is the file's: loading the bytes gives the same */
        size_t len = 0;
        char *text = s_read(path, &len);
        rm_family_t *g = text ? rm_family_load_text(text, len, path) : NULL;
        RS_CHECK(g && strcmp(rm_family_hash_hex(g), rm_family_hash_hex(f)) == 0);
        rm_family_destroy(&g);
        free(text);
        /* zones are disjoint and each covers some pixels */
        rv_image_t *mask = rv_image_new(w, h, RV_GRAY8);
        unsigned char *owner = calloc((size_t) w * (size_t) h, 1);
        long overlap = 0;
        for (size_t z = 0; mask && z < rm_family_zone_count(f); z++) {
            rv_view_t v = rv_image_view(mask);
            RS_CHECK(rm_family_zone_mask(f, z, &v) == RV_OK);
            long count = 0;
            for (int y = 0; y < h; y++) {
                const uint8_t *row = rv_view_row(&v, y);
                for (int x = 0; x < w; x++)
                    if (row[x]) {
                        count++;
                        overlap += owner[(size_t) y * w + x] != 0;
                        owner[(size_t) y * w + x] = 1;
                    }
            }
            RS_CHECKF(count > 50, "%s zone %zu covers %ld px", fams[i].id, z, count);
        }
        /* polygon edges may share a pixel row here and there, not an area */
        RS_CHECKF(overlap < 200, "%s: zones overlap on %ld px", fams[i].id, overlap);
        free(owner);
        rv_image_destroy(&mask);
        rm_family_destroy(&f);
    }
    /* the disc's friction ring: pi (146^2 - 90^2) mm^2 at 0.390625 mm/px */
    snprintf(path, sizeof path, "%s/models/families/demo-disc.json", s_src());
    rm_family_t *f = rm_family_load(path);
    rv_image_t *mask = rv_image_new(1280, 960, RV_GRAY8);
    if (f && mask) {
        rv_view_t v = rv_image_view(mask);
        RS_CHECK(rm_family_zone_mask(f, 0, &v) == RV_OK);
        long count = 0;
        for (int y = 0; y < 960; y++)
            for (int x = 0; x < 1280; x++)
                count += rv_view_row(&v, y)[x] != 0;
        double want = M_PI * (146.0 * 146.0 - 90.0 * 90.0) / (0.390625 * 0.390625);
        RS_CHECKF(fabs(count - want) < 0.005 * want, "ring %ld px, want %.0f", count, want);
    }
    rv_image_destroy(&mask);
    rm_family_destroy(&f);
}

static long s_mask_count(const rm_family_t *f, size_t zone, int w, int h)
{
    rv_image_t *img = rv_image_new_filled(w, h, RV_GRAY8, 7);
    rv_view_t v = rv_image_view(img);
    long n = -1;
    if (rm_family_zone_mask(f, zone, &v) == RV_OK) {
        n = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t p = rv_view_row(&v, y)[x];
                if (p != 0 && p != 255)
                    return -2;
                n += p == 255;
            }
    }
    rv_image_destroy(&img);
    return n;
}

static void test_mask(void)
{
    rm_family_t *f = rm_family_load_text(s_base, strlen(s_base), "t.json");
    if (!f) {
        RS_CHECKF(0, "%s", rv_last_error());
        return;
    }
    /* zone a: the square [10, 50)^2 of pixel centres: 40 x 40 */
    RS_CHECK_EQ(s_mask_count(f, 0, 100, 80), 1600);
    /* zone b: right triangle (60,10) (90,10) (90,40): rows y = 10..39, row y spans
     * x from 60 + (y - 10) to 90, half-open: 30 - (y - 10) pixels: 30 + 29 + ... + 1 */
    RS_CHECK_EQ(s_mask_count(f, 1, 100, 80), 465);
    /* zone c: band [0,100) x [60,80) less the hole [10,20) x [65,75) */
    RS_CHECK_EQ(s_mask_count(f, 2, 100, 80), 2000 - 100);
    /* exact pixels of the triangle: (89, 39) in, (60, 11) out, (61, 11) in */
    rv_image_t *img = rv_image_new(100, 80, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    RS_CHECK(rm_family_zone_mask(f, 1, &v) == RV_OK);
    RS_CHECK(rv_view_row(&v, 39)[89] == 255);
    RS_CHECK(rv_view_row(&v, 11)[60] == 0);
    RS_CHECK(rv_view_row(&v, 11)[61] == 255);
    RS_CHECK(rv_view_row(&v, 40)[89] == 0);
    /* wrong size or format, bad zone */
    rv_view_t small = v;
    small.width = 99;
    RS_CHECK(rm_family_zone_mask(f, 0, &small) == RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "needs a GRAY8 view of 100x80");
    RS_CHECK(rm_family_zone_mask(f, 3, &v) == RV_EINVAL);
    rv_image_destroy(&img);
    rm_family_destroy(&f);

    /* a self-intersecting bow tie fills by even-odd; a hole's orientation does not matter */
    char *bow = s_edit("[[60, 10], [90, 10], [90, 40]]",
                       "[[60, 10], [80, 30], [80, 10], [60, 30]]");
    f = rm_family_load_text(bow, strlen(bow), "bow.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    /* two triangles meeting at (70, 20), rows 10..29: row y covers two spans of y - 10
     * pixels each above the crossing, of 30 - y below: 2 * (0 + .. + 9) + 2 * (10 + .. + 1) */
    if (f)
        RS_CHECK_EQ(s_mask_count(f, 1, 100, 80), 200);
    rm_family_destroy(&f);
    free(bow);
    char *cw = s_edit("[[[10, 65], [20, 65], [20, 75], [10, 75]]]",
                      "[[[10, 75], [20, 75], [20, 65], [10, 65]], [[30, 62], [40, 62], [40, 78]]]");
    f = rm_family_load_text(cw, strlen(cw), "cw.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    /* second hole: triangle rows 62..77, row y covers 40 - (30 + (y - 62) * 10 / 16) */
    long tri = 0;
    for (int y = 62; y < 78; y++) {
        double xa = 30.0 + (y - 62) * 10.0 / 16.0;
        tri += 40 - (long) ceil(xa);
    }
    if (f)
        RS_CHECK_EQ(s_mask_count(f, 2, 100, 80), 2000 - 100 - tri);
    rm_family_destroy(&f);
    free(cw);
}

static void test_patterns(void)
{
    static const struct {
        const char *pattern, *text;
        int match;
    } cases[] = {
        {"BRK-DISC-3??", "BRK-DISC-300", 1}, {"BRK-DISC-3??", "brk-disc-3a9", 1},
        {"BRK-DISC-3??", "BRK-DISC-30", 0},  {"BRK-DISC-3??", "BRK-DISC-3000", 0},
        {"BRK-DISC-3??", "BRK-DISC-400", 0}, {"TST-###", "TST-123", 1},
        {"TST-###", "TST-12A", 0},           {"TST-X*", "TST-X", 1},
        {"TST-X*", "TST-XYZ-9", 1},          {"*-HSG-*", "TRB-HSG-260", 1},
        {"*-HSG-*", "TRB-HSG", 0},           {"A*B*C", "AxxBxxC", 1},
        {"A*B*C", "AxxCxxB", 0},             {"*", "", 1},
        {"?", "", 0},                        {"A**B", "AB", 1},
        {"ABC", "ABC", 1},                   {"ABC", "ABCD", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        RS_CHECKF(rm_pattern_match(cases[i].pattern, cases[i].text) == cases[i].match,
                  "\"%s\" ~ \"%s\"", cases[i].pattern, cases[i].text);
    rm_family_t *f = rm_family_load_text(s_base, strlen(s_base), "t.json");
    RS_CHECK(f && rm_family_matches(f, "TST-042") && rm_family_matches(f, "tst-x1"));
    RS_CHECK(f && !rm_family_matches(f, "TST-42") && !rm_family_matches(f, ""));
    RS_CHECK(f && !rm_family_matches(f, NULL));
    RS_CHECK_EQ(f ? rm_family_pattern_count(f) : 0, 2);
    rm_family_destroy(&f);
}

/* Hostile input is refused, and quickly. */
static void test_hostile(void)
{
    clock_t t0 = clock();
    /* a 10 MB string: refused on size before any decoding */
    size_t big = 10u * 1024 * 1024;
    char *text = malloc(big + 64);
    memcpy(text, "{\"name\": \"", 10);
    memset(text + 10, 'x', big);
    memcpy(text + 10 + big, "\"}", 3);
    RS_CHECK(rm_family_load_text(text, strlen(text), "big.json") == NULL);
    RS_CHECK_EQ(rm_family_load_status(), RV_ELIMIT);
    RS_CHECK_MSG(rv_last_error(), "more than the limit");
    free(text);
    /* the same on disk */
    char path[] = "/tmp/rm-test-bigXXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        FILE *fp = fdopen(fd, "wb");
        for (size_t i = 0; i < 10000; i++)
            fputs("                                                                   "
                  "                                                            \n", fp);
        fclose(fp);
        RS_CHECK(rm_family_load(path) == NULL);
        RS_CHECK_EQ(rm_family_load_status(), RV_ELIMIT);
        remove(path);
    }
    RS_CHECK(rm_family_load("/nonexistent/x.json") == NULL);
    RS_CHECK_EQ(rm_family_load_status(), RV_EIO);
    /* deep nesting: 200000 brackets (within the size limit) */
    size_t depth = 200000;
    text = malloc(2 * depth + 1);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    text[2 * depth] = '\0';
    RS_CHECK(rm_family_load_text(text, 2 * depth, "deep.json") == NULL);
    RS_CHECK_MSG(rv_last_error(), "syntax error");
    free(text);
    /* nesting jansson accepts, where a string belongs */
    depth = 1000;
    char *nest = malloc(2 * depth + 1);
    memset(nest, '[', depth);
    memset(nest + depth, ']', depth);
    nest[2 * depth] = '\0';
    size_t nl = strlen(s_base) + 2 * depth + 64;
    text = malloc(nl);
    const char *at = strstr(s_base, "\"Test family\"");
    snprintf(text, nl, "%.*s%s%s", (int) (at - s_base), s_base, nest, at + 13);
    RS_CHECK(rm_family_load_text(text, strlen(text), "nest.json") == NULL);
    RS_CHECK_MSG(rv_last_error(), "name: expected a string, not an array (line 4)");
    free(text);
    free(nest);
    /* many zones: one more than the limit */
    size_t cap = 64 * 1024;
    char *zones = malloc(cap);
    size_t n = 0;
    for (int i = 0; i <= RM_MAX_ZONES; i++)
        n += (size_t) snprintf(zones + n, cap - n,
                               "%s{\"name\": \"z%d\", \"criticality\": \"critical\", "
                               "\"polygon\": [[1, 1], [2, 1], [2, 2]]}",
                               i ? ", " : "", i);
    const char *z0 = strstr(s_base, "    {\"name\": \"a\"");
    const char *z1 = strstr(s_base, "  ],\n  \"routes\"");
    nl = strlen(s_base) + n + 16;
    text = malloc(nl);
    snprintf(text, nl, "%.*s%s\n%s", (int) (z0 - s_base), s_base, zones, z1);
    RS_CHECK(rm_family_load_text(text, strlen(text), "zones.json") == NULL);
    RS_CHECK_MSG(rv_last_error(), "zones: too many zones: 65, at most 64 (line 9)");
    free(text);
    free(zones);
    /* garbage of every byte: refused, never crashing (the fuzzer does this at length) */
    uint8_t junk[4096];
    for (uint64_t seed = 1; seed <= 64; seed++) {
        rs_fill_random(junk, sizeof junk, seed);
        RS_CHECK(rm_family_load_text((const char *) junk, sizeof junk, "junk") == NULL);
    }
    RS_CHECK(rm_family_load_text("", 0, "empty") == NULL);
    RS_CHECK(rm_family_load_text(NULL, 0, "null") == NULL);
    double secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    RS_CHECKF(secs < 2.0, "hostile input took %.2f s", secs);
}

/* A family shared between threads: references taken and dropped concurrently. */
static void *s_worker(void *arg)
{
    rm_family_t *f = arg;
    for (int i = 0; i < 20000; i++) {
        rm_family_t *mine = rm_family_ref(f);
        if (!rm_family_matches(mine, "TST-123"))
            return (void *) 1;
        rm_family_destroy(&mine);
    }
    return NULL;
}

static void test_threads(void)
{
    rm_family_t *f = rm_family_load_text(s_base, strlen(s_base), "t.json");
    if (!f)
        return;
    pthread_t th[4];
    int started = 0;
    for (int i = 0; i < 4; i++)
        started += pthread_create(&th[i], NULL, s_worker, rm_family_ref(f)) == 0;
    RS_CHECK_EQ(started, 4);
    for (int i = 0; i < started; i++) {
        void *rc = NULL;
        pthread_join(th[i], &rc);
        RS_CHECK(rc == NULL);
    }
    /* each thread was given one reference it never dropped; drop them here */
    for (int i = 0; i < started; i++) {
        rm_family_t *extra = f;
        rm_family_unref(&extra);
        RS_CHECK(extra == NULL);
    }
    rm_family_destroy(&f);
}

/* The demo housing (revision 2): a crack in a critical zone whose score is under 0.6 is
 * not scrapped on its own word but sent to a person; a crack scored 0.6 or more is
 * scrapped as before, whatever the faint rule's band says. The faint false cracks that
 * unseen sound housings showed (the groove's rim: 8.4 mm, score 0.544) are the first case;
 * every true housing crack on three unseen sets (251 findings) scored 0.66 or more. */
static void test_housing_faint_crack(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/families/demo-housing.json", s_src());
    rm_family_t *f = rm_family_load(path);
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    if (!f)
        return;
    int volute = rm_family_zone_find(f, "volute");
    RS_CHECK(volute >= 0);
    static const struct {
        double len, score;
        int review;
        rm_route_t route, worst;
    } cases[] = {
        {8.4, 0.544, 1, RM_ROUTE_REUSE, RM_ROUTE_SCRAP}, /* faint: a person decides */
        {8.4, 0.4, 1, RM_ROUTE_REUSE, RM_ROUTE_SCRAP},   /* the least a crack can score */
        {20.0, 0.66, 0, RM_ROUTE_SCRAP, RM_ROUTE_SCRAP}, /* the faintest true crack seen */
        {20.0, 1.0, 0, RM_ROUTE_SCRAP, RM_ROUTE_SCRAP},
        {0, 0, 0, RM_ROUTE_REUSE, RM_ROUTE_REUSE}, /* no crack */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rv_findings_t list = {0};
        if (cases[i].len > 0) {
            rv_finding_t c;
            memset(&c, 0, sizeof c);
            c.type = RV_FINDING_CRACK;
            c.zone = volute;
            c.length_mm = cases[i].len;
            c.width_mm = 0.2;
            c.score = cases[i].score;
            RS_CHECK(rv_findings_push(&list, &c) == RV_OK);
        }
        static rm_grade_t g;
        RS_CHECK(rm_grade(f, &list, NAN, &g) == RV_OK);
        printf("demo housing, crack %.1f mm scored %.3f: %s (measured %s, worst %s)\n",
               cases[i].len, cases[i].score, rm_grade_proposal(&g), rm_route_name(g.route),
               rm_route_name(g.route_worst));
        RS_CHECK_EQ(g.review, cases[i].review);
        RS_CHECK_EQ(g.route, cases[i].route);
        RS_CHECK_EQ(g.route_worst, cases[i].worst);
        rv_findings_free(&list);
    }
    rm_family_destroy(&f);
}

int main(void)
{
    test_base();
    test_align();
    test_anomaly_model();
    test_bad_files();
    test_shipped();
    test_housing_faint_crack();
    test_mask();
    test_patterns();
    test_hostile();
    test_threads();
    return rs_test_end("test_family");
}
