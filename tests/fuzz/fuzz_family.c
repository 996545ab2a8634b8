/* fuzz_family.c - libFuzzer target for the family loader (rm_family_load_text) and, for
 * what it accepts, the accessors, zone masks and the grader. Any crash, leak, hang or
 * sanitizer report is a bug; a refusal must say why (path and line, or the syntax error).
 * Seed the corpus with the shipped family files (models/families/). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rv/rv_error.h"
#include "rv/rv_findings.h"
#include "rv/rv_image.h"

/* Findings derived from the input bytes, so the grader sees varied zones and values. */
static void s_findings(const rm_family_t *f, const uint8_t *data, size_t size,
                       rv_findings_t *list)
{
    size_t nz = rm_family_zone_count(f);
    for (size_t i = 0; i + 4 <= size && list->count < 16; i += 97) {
        rv_finding_t x;
        memset(&x, 0, sizeof x);
        x.type = (rv_finding_type_t) (data[i] % RV_FINDING_NTYPES);
        x.zone = (int) (data[i + 1] % (nz + 1)) - 1;
        double v = data[i + 2] / 8.0;
        x.length_mm = x.width_mm = x.area_mm2 = x.diameter_mm = x.value_mm = v;
        x.zone_pct = data[i + 3] / 2.55;
        x.score = data[i + 3] / 255.0;
        if (rv_findings_push(list, &x) != RV_OK)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rv_clear_error();
    rm_family_t *f = rm_family_load_text((const char *) data, size, "fuzz.json");
    if (!f) {
        if (rv_last_error()[0] == '\0')
            __builtin_trap(); /* a refusal must say why */
        return 0;
    }
    /* accepted: every accessor and the rasteriser must hold up */
    for (size_t z = 0; z < rm_family_zone_count(f); z++) {
        const rm_zone_t *zone = rm_family_zone(f, z);
        (void) rm_zone_param(zone, "crack", "min_length_mm", 0.0);
        int w = 0, h = 0;
        if (rm_family_view_size(f, rm_zone_view(zone), &w, &h) != RV_OK)
            __builtin_trap();
        if ((long long) w * h <= 4000000) { /* keep single runs fast */
            rv_image_t *img = rv_image_new(w, h, RV_GRAY8);
            if (img) {
                rv_view_t v = rv_image_view(img);
                if (rm_family_zone_mask(f, z, &v) != RV_OK)
                    __builtin_trap();
                rv_image_destroy(&img);
            }
        }
    }
    (void) rm_family_matches(f, "BRK-DISC-300");
    rv_findings_t list = {0};
    s_findings(f, data, size, &list);
    rm_grade_t *g = malloc(sizeof *g);
    if (g) {
        double score = size ? data[size - 1] / 255.0 : NAN;
        if (rm_grade(f, &list, score, g) != RV_OK)
            __builtin_trap(); /* valid findings must grade */
        if (g->nreasons > RM_MAX_REASONS || strlen(g->reasons[0].text_en) >= RM_REASON_TEXT_SIZE)
            __builtin_trap();
        free(g);
    }
    rv_findings_free(&list);
    rm_family_t *again = rm_family_ref(f);
    rm_family_destroy(&again);
    rm_family_destroy(&f);
    return 0;
}
