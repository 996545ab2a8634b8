/* reman_calibrate.c - reman-calibrate: a calibration record from pictures of a target.
 *
 * The station's measurements in mm rest on this record: camera matrix, lens distortion,
 * RMS reprojection error and the scale on the working plane, with the date and the target
 * used, written as JSON ("reman.calibration/1") for every decision to reference. */
#include "ra/ra_calib.h"
#include "rv/rv_memory.h"
#include "ra/ra_files.h"
#include "ra/ra_version.h"
#include "rv/rv.h"
#include "rv/rv_io.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-calibrate --square-mm MM --cols N --rows N --out FILE [options] "
            "IMAGE|FOLDER...\n"
            "Calibrates the station camera from pictures of a checkerboard (or circle grid)\n"
            "in several poses, tilted in different directions: intrinsics, distortion, RMS\n"
            "reprojection error and millimetres per pixel on the working plane. The first\n"
            "image (or --plane K) must show the target lying on the working plane.\n"
            "\n"
            "  --square-mm MM   square side (circle grid: centre distance), mm\n"
            "  --cols N         inner corners per row (circle grid: circles per row)\n"
            "  --rows N         inner corners per column (circle grid: rows)\n"
            "  --circles        the target is a symmetric grid of dark circles\n"
            "  --plane K        the image (0-based, in the order given) on the working plane\n"
            "  --out FILE       the calibration record to write (JSON)\n"
            "exit status: 0 written; 1 calibration failed; 2 usage error.\n");
}

static int s_int(const char *s, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || v < 0 || v > 1000)
        return -1;
    *out = (int) v;
    return 0;
}

int main(int argc, char **argv)
{
    rv_memory_keep(); /* images freed stay for the next (rv_memory.h) */
    double square = 0;
    int cols = 0, rows = 0, target = RA_CALIB_CHESSBOARD, plane = 0;
    const char *out = NULL;
    char **files = NULL;
    size_t nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("%s\n", ra_version());
            return 0;
        } else if (!strcmp(a, "--square-mm") && i + 1 < argc) {
            char *end = NULL;
            square = strtod(argv[++i], &end);
            bad = !end || *end || !(square > 0);
        } else if (!strcmp(a, "--cols") && i + 1 < argc) {
            bad = s_int(argv[++i], &cols);
        } else if (!strcmp(a, "--rows") && i + 1 < argc) {
            bad = s_int(argv[++i], &rows);
        } else if (!strcmp(a, "--plane") && i + 1 < argc) {
            bad = s_int(argv[++i], &plane);
        } else if (!strcmp(a, "--circles")) {
            target = RA_CALIB_CIRCLES;
        } else if (!strcmp(a, "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "reman-calibrate: unknown option or missing value: %s\n", a);
            return EXIT_USAGE;
        } else if (ra_files_collect(a, &files, &nfiles) != RV_OK) {
            fprintf(stderr, "reman-calibrate: %s\n", rv_last_error());
            ra_files_free(&files, &nfiles);
            return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "reman-calibrate: bad value for %s\n", a);
            ra_files_free(&files, &nfiles);
            return EXIT_USAGE;
        }
    }
    if (!(square > 0) || cols < 2 || rows < 2 || !out || nfiles < 3) {
        fprintf(stderr, "reman-calibrate: needs --square-mm, --cols, --rows (>= 2), --out and "
                        "at least 3 images (see --help)\n");
        ra_files_free(&files, &nfiles);
        return EXIT_USAGE;
    }
    if (sodium_init() < 0 || rv_init() != RV_OK) {
        fprintf(stderr, "reman-calibrate: set-up failed: %s\n", rv_last_error());
        ra_files_free(&files, &nfiles);
        return EXIT_FAILED;
    }
    int code = EXIT_FAILED;
    rv_image_t **imgs = calloc(nfiles, sizeof *imgs);
    rv_view_t *views = calloc(nfiles, sizeof *views);
    if (!imgs || !views)
        goto done;
    for (size_t i = 0; i < nfiles; i++) {
        if (!(imgs[i] = rv_image_read_gray(files[i]))) {
            fprintf(stderr, "reman-calibrate: %s: %s\n", files[i], rv_last_error());
            goto done;
        }
        views[i] = rv_image_view(imgs[i]);
    }
    ra_calib_t cal;
    if (ra_calib_compute(views, (int) nfiles, target, cols, rows, square, plane, &cal) != RV_OK) {
        fprintf(stderr, "reman-calibrate: %s\n", rv_last_error());
        goto done;
    }
    if (ra_calib_save(&cal, out) != RV_OK) {
        fprintf(stderr, "reman-calibrate: %s\n", rv_last_error());
        goto done;
    }
    printf("%s: RMS %.3f px, fx %.1f fy %.1f, k1 %.4f, %.5f mm/px, %d of %d views -> %s\n",
           cal.id, cal.rms_px, cal.camera[0][0], cal.camera[1][1], cal.dist[0], cal.mm_per_px,
           cal.views_used, cal.views_given, out);
    code = 0;
done:
    for (size_t i = 0; imgs && i < nfiles; i++)
        rv_image_destroy(&imgs[i]);
    free(imgs);
    free(views);
    ra_files_free(&files, &nfiles);
    return code;
}
