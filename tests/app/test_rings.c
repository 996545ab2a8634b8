/* test_rings.c - a family whose anomaly model is "rings" (rv_polar.h) through the station's
 * own path: reman-train's reference learns the rings from good generated discs, the file
 * keeps them (save, load, a changed or truncated rings section refused), and the inspector
 * scores defective discs (chips, pits, cracks, rust) above clean ones, with the mark left
 * out, and its heat map (the rings' map in the master's frame) is hotter on them. */
#include "rs_test.h"
#include "ra/ra_gencore.h"
#include "ra/ra_inspect.h"
#include "ra/ra_reference.h"
#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rv/rv.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_dir;

static ra_gencore_t *s_core(uint64_t seed, int defects, int master)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    p.shape = RA_GENCORE_DISC;
    p.seed = seed;
    p.defects = defects && !master ? RA_GENCORE_DEFECTS_ALL : 0;
    p.reference = p.canonical = master;
    return ra_gencore_render(&p);
}

/* The demo disc's family file with "model": "rings" in its anomaly section. */
static rm_family_t *s_family(void)
{
    const char *src = getenv("RS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/families/demo-disc.json", src ? src : ".");
    uint8_t *text = NULL;
    size_t len = 0;
    RS_CHECK_EQ(rv_file_read(path, 1 << 20, &text, &len), RV_OK);
    if (!text)
        return NULL;
    const char *at = strstr((const char *) text, "\"anomaly\": {");
    RS_CHECK(at != NULL);
    if (!at) {
        free(text);
        return NULL;
    }
    size_t head = (size_t) (at - (const char *) text) + strlen("\"anomaly\": {");
    const char *ins = "\"model\": \"rings\", \"window\": 21, ";
    char *edited = malloc(len + strlen(ins) + 1);
    memcpy(edited, text, head);
    memcpy(edited + head, ins, strlen(ins));
    memcpy(edited + head + strlen(ins), text + head, len - head);
    edited[len + strlen(ins)] = '\0';
    rm_family_t *f = rm_family_load_text(edited, strlen(edited), "demo-disc-rings.json");
    RS_CHECKF(f != NULL, "%s", rv_last_error());
    free(edited);
    free(text);
    return f;
}

int main(void)
{
    rv_init();
    char tmpl[] = "/tmp/rs_test_rings_XXXXXX";
    s_dir = mkdtemp(tmpl);
    RS_CHECK(s_dir != NULL);
    rm_family_t *fam = s_family();
    if (!fam || !s_dir)
        return rs_test_end("app.rings");
    int window = 0;
    RS_CHECK_EQ(rm_family_anomaly_model(fam, &window), RM_ANOMALY_RINGS);

    /* learn from 12 good discs (k-fold needs 10) */
    enum { NGOOD = 12 };
    char master[512], *paths[NGOOD];
    ra_gencore_t *m = s_core(9000, 0, 1);
    RS_CHECK_EQ(ra_gencore_write(m, s_dir, "master"), RV_OK);
    snprintf(master, sizeof master, "%s/master.jpg", s_dir);
    ra_gencore_destroy(&m);
    for (int i = 0; i < NGOOD; i++) {
        char name[32];
        snprintf(name, sizeof name, "good%d", i);
        ra_gencore_t *g = s_core(5000 + (uint64_t) i, 0, 0);
        RS_CHECK_EQ(ra_gencore_write(g, s_dir, name), RV_OK);
        ra_gencore_destroy(&g);
        paths[i] = malloc(600);
        snprintf(paths[i], 600, "%s/%s.jpg", s_dir, name);
    }
    ra_reference_t *ref = ra_reference_train(fam, master, (const char *const *) paths, NGOOD, NULL);
    RS_CHECKF(ref != NULL, "%s", rv_last_error());
    for (int i = 0; i < NGOOD; i++)
        free(paths[i]);
    if (!ref) {
        rm_family_destroy(&fam);
        return rs_test_end("app.rings");
    }
    RS_CHECK(ref->rings != NULL);
    double thr = rv_polar_model_threshold(ref->rings);
    RS_CHECK(thr > 0 && isfinite(thr));

    /* the file keeps the rings; a changed or truncated rings section is refused */
    char refpath[700];
    snprintf(refpath, sizeof refpath, "%s/disc.ref", s_dir);
    RS_CHECK_EQ(ra_reference_save(ref, refpath), RV_OK);
    ra_reference_t *back = ra_reference_load(refpath);
    RS_CHECKF(back && back->rings, "%s", rv_last_error());
    if (back && back->rings) {
        rv_polar_params_t pa, pb;
        const float *sa, *sb;
        double ta, tb;
        rv_polar_model_export(ref->rings, &pa, &sa, &ta);
        rv_polar_model_export(back->rings, &pb, &sb, &tb);
        RS_CHECK(ta == tb && pa.nr == pb.nr && pa.window == pb.window &&
                 memcmp(sa, sb, sizeof(float) * (size_t) pa.nr) == 0);
    }
    ra_reference_destroy(&back);
    uint8_t *bytes = NULL;
    size_t len = 0;
    RS_CHECK_EQ(rv_file_read(refpath, 1 << 26, &bytes, &len), RV_OK);
    if (bytes) {
        /* a ring's spread set to NaN, the checksum made good again: the contents are
         * checked, not trusted */
        rv_polar_params_t pp;
        const float *sp;
        double tt;
        rv_polar_model_export(ref->rings, &pp, &sp, &tt);
        size_t at = len - 32 - 4 * (size_t) pp.nr + 8; /* ring 2's spread */
        uint32_t nan_bits = 0x7fc00000u;
        memcpy(bytes + at, &nan_bits, 4);
        crypto_hash_sha256(bytes + len - 32, bytes, len - 32);
        char bad[720];
        snprintf(bad, sizeof bad, "%s/bad.ref", s_dir);
        FILE *f = fopen(bad, "wb");
        fwrite(bytes, 1, len, f);
        fclose(f);
        RS_CHECK(ra_reference_load(bad) == NULL);
        RS_CHECK_MSG(rv_last_error(), "ring 2: spread nan");
        /* a byte of the rings section changed: the checksum no longer matches */
        f = fopen(bad, "wb");
        bytes[len - 32 - 4 * (size_t) pp.nr - 64] ^= 1;
        fwrite(bytes, 1, len, f);
        fclose(f);
        RS_CHECK(ra_reference_load(bad) == NULL);
        /* truncated in the rings section */
        f = fopen(bad, "wb");
        fwrite(bytes, 1, len - 40, f);
        fclose(f);
        RS_CHECK(ra_reference_load(bad) == NULL);
        free(bytes);
    }

    /* defective discs score above clean ones */
    ra_inspector_t *insp = ra_inspector_new(fam, ref);
    RS_CHECKF(insp != NULL, "%s", rv_last_error());
    double worst_clean = 0, best_defective = 1e9;
    int coolest_defective_heat = 256, hottest_clean_heat = -1;
    for (int k = 0; k < 8 && insp; k++) {
        int defective = k < 4;
        ra_gencore_t *core = s_core(800 + (uint64_t) k, defective, 0);
        size_t jl;
        const uint8_t *jpeg = ra_gencore_jpeg(core, &jl);
        ra_code_t code;
        memset(&code, 0, sizeof code);
        memcpy(code.corners, ra_gencore_code(core)->corners, sizeof code.corners);
        ra_inspection_t r;
        RS_CHECK_EQ(ra_inspect_jpeg(insp, jpeg, jl, &code, 1, &r), RV_OK);
        RS_CHECKF(!r.refused, "%s", r.refusal);
        if (!r.refused) {
            printf("%s disc %d: anomaly score %.3f, %.1f mm2 beyond, %s\n",
                   defective ? "defective" : "clean", 800 + k, r.anomaly_score, r.anomaly_mm2,
                   rm_grade_proposal(r.grade));
            if (defective) {
                best_defective = fmin(best_defective, r.anomaly_score);
            } else {
                worst_clean = fmax(worst_clean, r.anomaly_score);
            }
            /* the heat map is the rings' map in the master's frame: hotter on every
             * defective disc than on any clean one */
            RS_CHECK(r.heat != NULL);
            if (r.heat) {
                rv_view_t hv = rv_image_view(r.heat);
                int hot = 0;
                for (int y = 0; y < hv.height; y++)
                    for (int x = 0; x < hv.width; x++)
                        hot = rv_view_row(&hv, y)[x] > hot ? rv_view_row(&hv, y)[x] : hot;
                if (defective)
                    coolest_defective_heat = hot < coolest_defective_heat ? hot : coolest_defective_heat;
                else
                    hottest_clean_heat = hot > hottest_clean_heat ? hot : hottest_clean_heat;
            }
            if (defective)
                RS_CHECK(strcmp(rm_grade_proposal(r.grade), "reuse") != 0);
        }
        ra_inspection_free(&r);
        ra_gencore_destroy(&core);
    }
    printf("rings threshold %.2f; anomaly score of clean discs up to %.3f, of defective ones "
           "from %.3f; heat map peaks up to %d clean, from %d defective\n",
           thr, worst_clean, best_defective, hottest_clean_heat, coolest_defective_heat);
    RS_CHECKF(best_defective > worst_clean, "defective from %.3f, clean up to %.3f",
              best_defective, worst_clean);
    RS_CHECK(coolest_defective_heat > hottest_clean_heat);
    ra_inspector_destroy(&insp);
    ra_reference_destroy(&ref);
    rm_family_destroy(&fam);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    RS_CHECK_EQ(system(cmd), 0);
    return rs_test_end("app.rings");
}
