/* reman_train.c - reman-train: learn a part family's reference from good parts only. */
#include "ra/ra_files.h"
#include "rv/rv_memory.h"
#include "ra/ra_reference.h"
#include "ra/ra_version.h"
#include "rm/rm_family.h"
#include "rv/rv.h"
#include "rv/rv_surface.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-train FAMILY.json --master MASTER.jpg [options] IMAGE|FOLDER...\n"
            "Learns what good parts of a family look like, from images of good parts only:\n"
            "each image is aligned to the master (the view the family's zones are drawn on),\n"
            "and the reference keeps the per-pixel mean and spread, the part's silhouette and\n"
            "an anomaly threshold set from a target false-alarm rate on good images held out\n"
            "from training (k-fold). That needs 1 / RATE - 1 good images or more (49 for\n"
            "2 %%); with fewer, a warning says what they hold the false alarms to (the JSON\n"
            "line's fa_expected). The JSON line's residual_px gives the good images'\n"
            "alignment residual (median, max) beside the family's review limit; a warning\n"
            "says when the goods themselves would be proposed for review.\n"
            "\n"
            "options:\n"
            "  --master FILE   the master image (JPEG, the family's view size)\n"
            "  --out FILE      where to write the reference (default <family id>.ref)\n"
            "  --fa RATE       false-alarm rate on good parts, 0.001-0.5 (default 0.02)\n"
            "  --folds K       hold-out folds, 2-20 (default 5)\n"
            "  --quiet         no progress lines\n"
            "  --help, --version\n"
            "exit status: 0 written; 1 training failed (the message names the image);\n"
            "2 usage error.\n");
}

int main(int argc, char **argv)
{
    rv_memory_keep(); /* images freed stay for the next (rv_memory.h) */
    const char *family_path = NULL, *master = NULL, *out = NULL;
    ra_train_params_t p;
    ra_train_params_init(&p);
    p.verbose = 1;
    char **images = NULL;
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("%s\n", ra_version());
            return 0;
        } else if (!strcmp(a, "--master") && i + 1 < argc) {
            master = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--fa") && i + 1 < argc) {
            p.fa_target = atof(argv[++i]);
            if (p.fa_target < 0.001 || p.fa_target > 0.5) {
                fprintf(stderr, "reman-train: --fa must lie in 0.001..0.5\n");
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--folds") && i + 1 < argc) {
            p.folds = atoi(argv[++i]);
            if (p.folds < 2 || p.folds > 20) {
                fprintf(stderr, "reman-train: --folds must lie in 2..20\n");
                return EXIT_USAGE;
            }
        } else if (!strcmp(a, "--quiet")) {
            p.verbose = 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "reman-train: unknown option or missing value: %s (see --help)\n", a);
            return EXIT_USAGE;
        } else if (!family_path) {
            family_path = a;
        } else if (ra_files_collect(a, &images, &n) != RV_OK) {
            fprintf(stderr, "reman-train: %s\n", rv_last_error());
            ra_files_free(&images, &n);
            return EXIT_USAGE;
        }
    }
    if (!family_path || !master || n == 0) {
        fprintf(stderr, "reman-train: needs FAMILY.json, --master and good images (see --help)\n");
        return EXIT_USAGE;
    }
    if (sodium_init() < 0 || rv_init() != RV_OK) {
        fprintf(stderr, "reman-train: set-up failed: %s\n", rv_last_error());
        return EXIT_FAILED;
    }
    int rc = EXIT_FAILED;
    rm_family_t *family = rm_family_load(family_path);
    ra_reference_t *ref = NULL;
    char outbuf[512];
    if (!family) {
        fprintf(stderr, "reman-train: %s\n", rv_last_error());
        goto done;
    }
    if (!out) {
        snprintf(outbuf, sizeof outbuf, "%s.ref", rm_family_id(family));
        out = outbuf;
    }
    ref = ra_reference_train(family, master, (const char *const *) images, n, &p);
    if (!ref) {
        fprintf(stderr, "reman-train: %s\n", rv_last_error());
        goto done;
    }
    if (ra_reference_save(ref, out) != RV_OK) {
        fprintf(stderr, "reman-train: %s\n", rv_last_error());
        goto done;
    }
    /* what the held-out goods can hold the false alarms to: with few of them the threshold
     * is their largest score, and about 1 in n + 1 sound parts lies above it */
    double fa_expected = rv_fa_expected((size_t) ref->n_train, p.fa_target);
    if (fa_expected > p.fa_target)
        fprintf(stderr,
                "reman-train: warning: %d good images cannot hold the false alarms to %g %%: "
                "about %.1f %% of sound parts (1 in %.0f) will score above the threshold; "
                "%zu or more good images are needed for %g %%\n",
                ref->n_train, 100 * p.fa_target, 100 * fa_expected, 1 / fa_expected,
                rv_fa_goods_needed(p.fa_target), 100 * p.fa_target);
    /* the goods' alignment residual against the family's review limit: a limit they reach
     * would send every part like them to review */
    rm_view_align_t va;
    double limit = rm_family_view_align(family, 0, &va) == RV_OK ? va.max_residual : 0;
    if (limit > 0 && ref->train_residual_max > limit)
        fprintf(stderr,
                "reman-train: warning: the good images' alignment residual reaches %.2f px "
                "(median %.2f), over the family's views[0].align.max_residual_px %.2f: parts "
                "photographed like them will be proposed for review; raise the limit above "
                "what the goods read, or 0 for a family whose zones need no pixel placement\n",
                ref->train_residual_max, ref->train_residual_median, limit);
    printf("{\"family\":\"%s\",\"reference\":\"%s\",\"n_train\":%d,\"folds\":%d,\"fa_target\":%g,"
           "\"fa_expected\":%.4f,\"anomaly_threshold_mm2\":%.4f,\"width\":%d,\"height\":%d",
           rm_family_id(family), out, ref->n_train, p.folds, p.fa_target, fa_expected,
           ref->anomaly_threshold, ref->width, ref->height);
    if (ref->train_residual_max >= 0)
        printf(",\"residual_px\":{\"median\":%.3f,\"max\":%.3f,\"limit\":%g}",
               ref->train_residual_median, ref->train_residual_max, limit);
    if (ref->rings) /* the family's anomaly model is "rings": its own threshold */
        printf(",\"anomaly_model\":\"rings\",\"rings_threshold\":%.4f,\"rings_folds\":%d",
               rv_polar_model_threshold(ref->rings), rv_polar_model_folds(ref->rings));
    printf("}\n");
    rc = 0;
done:
    ra_reference_destroy(&ref);
    rm_family_destroy(&family);
    ra_files_free(&images, &n);
    return rc;
}
