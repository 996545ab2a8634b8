/* reman-gencore - write generated photographs of returned cores with their ground truth.
 *
 * Each core becomes DIR/<name>.jpg (the photograph), DIR/<name>.pgm (the label mask) and
 * DIR/<name>.json (schema reman.gencore/1). See --help. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ra/ra_gencore.h"
#include "ra/ra_version.h"
#include "rv/rv_error.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void s_help(FILE *f)
{
    fputs("Usage: reman-gencore --out DIR [options]\n"
          "Render deterministic photographs of returned cores with exact ground truth.\n"
          "\n"
          "  --seed N         first seed, 0..9223372036854775807 (default 1)\n"
          "  --shape S        disc | housing | shaft (default disc)\n"
          "  --size SIZE      WxH, vga, 2mp, 5mp or 12mp (default 1280x960);\n"
          "                   each side 480..12000 px, at most 50 MP\n"
          "  --out DIR        output directory (created if missing)\n"
          "  --count K        render K cores, seeds N..N+K-1 (default 1)\n"
          "  --defects LIST   comma list of crack,rust,pit,chip,wear, or all, or none\n"
          "                   (default all; the seed picks 1-3 of each)\n"
          "  --clean          same as --defects none\n"
          "  --per-type K     exactly K of each enabled defect type (1..8), where room allows\n"
          "  --journal-wear MM  shaft: the bearing journal's diameter this much under its\n"
          "                   nominal 52 mm (0..2; the JSON gives the true diameter)\n"
          "  --reference      reference rendering: same pose, no defects, no sensor noise\n"
          "  --canonical      the master pose: no rotation, centred (the pose the demo\n"
          "                   families' zones are drawn on); with --reference, a master image\n"
          "  --quality Q      JPEG quality 1..100 (default 92)\n"
          "  --name NAME      file name stem for a single core\n"
          "                   (default <shape>-<seed>, -ref appended for a reference)\n"
          "  --quiet          print nothing on success\n"
          "  --help, --version\n"
          "\n"
          "Writes DIR/NAME.jpg, DIR/NAME.pgm (binary PGM, one label byte per pixel:\n"
          "0 background 1 part 2 crack 3 rust 4 pit 5 chip 6 wear 7 code) and DIR/NAME.json\n"
          "(schema reman.gencore/1). The same arguments always give the same bytes.\n"
          "\n"
          "Exit status: 0 success, 1 rendering or writing failed, 2 bad arguments.\n",
          f);
}

static int s_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int s_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "reman-gencore: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'reman-gencore --help'.\n");
    va_end(ap);
    return EXIT_USAGE;
}

static int s_parse_u64(const char *text, unsigned long long max, unsigned long long *out)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    ra_gencore_params_t p;
    ra_gencore_params_init(&p);
    const char *out = NULL, *name = NULL;
    unsigned long long count = 1, v;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_help(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("reman-gencore (%s), schema %s\n", ra_version(), RA_GENCORE_SCHEMA);
            return EXIT_OK;
        } else if (strcmp(a, "--clean") == 0) {
            p.defects = 0;
            takes = 0;
        } else if (strcmp(a, "--reference") == 0) {
            p.reference = 1;
            takes = 0;
        } else if (strcmp(a, "--canonical") == 0) {
            p.canonical = 1;
            takes = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
            takes = 0;
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "--shape") == 0 ||
                   strcmp(a, "--size") == 0 || strcmp(a, "--out") == 0 ||
                   strcmp(a, "--count") == 0 || strcmp(a, "--defects") == 0 ||
                   strcmp(a, "--quality") == 0 || strcmp(a, "--name") == 0 ||
                   strcmp(a, "--per-type") == 0 || strcmp(a, "--journal-wear") == 0) {
            if (!val)
                return s_usage("%s needs a value", a);
            if (strcmp(a, "--seed") == 0) {
                if (s_parse_u64(val, (unsigned long long) RA_GENCORE_SEED_MAX, &v) != 0)
                    return s_usage("bad seed \"%s\" (0..9223372036854775807)", val);
                p.seed = v;
            } else if (strcmp(a, "--shape") == 0) {
                if (ra_gencore_parse_shape(val, &p.shape) != 0)
                    return s_usage("%s", rv_last_error());
            } else if (strcmp(a, "--size") == 0) {
                if (ra_gencore_parse_size(val, &p.width, &p.height) != 0)
                    return s_usage("%s", rv_last_error());
            } else if (strcmp(a, "--out") == 0) {
                out = val;
            } else if (strcmp(a, "--count") == 0) {
                if (s_parse_u64(val, 100000, &count) != 0 || count == 0)
                    return s_usage("bad count \"%s\" (1..100000)", val);
            } else if (strcmp(a, "--defects") == 0) {
                if (ra_gencore_parse_defects(val, &p.defects) != 0)
                    return s_usage("%s", rv_last_error());
            } else if (strcmp(a, "--quality") == 0) {
                if (s_parse_u64(val, 100, &v) != 0 || v < 1)
                    return s_usage("bad quality \"%s\" (1..100)", val);
                p.quality = (int) v;
            } else if (strcmp(a, "--journal-wear") == 0) {
                char *end = NULL;
                errno = 0;
                p.journal_wear_mm = strtod(val, &end);
                if (errno || !end || *end || end == val)
                    return s_usage("bad --journal-wear \"%s\" (mm, 0..%g)", val,
                                   RA_GENCORE_MAX_WEAR);
            } else if (strcmp(a, "--per-type") == 0) {
                if (s_parse_u64(val, RA_GENCORE_MAX_PER_TYPE, &v) != 0 || v < 1)
                    return s_usage("bad --per-type \"%s\" (1..8)", val);
                for (int t = 0; t < RA_DEFECT_NTYPES; t++)
                    p.counts[t] = (int) v;
            } else {
                name = val;
            }
        } else {
            return s_usage("unknown argument \"%s\"", a);
        }
        i += takes;
    }
    if (!out)
        return s_usage("%s", "--out DIR is required");
    if (name && count != 1)
        return s_usage("%s", "--name needs --count 1");
    if (name && (strchr(name, '/') || !*name))
        return s_usage("bad name \"%s\" (a plain file name stem)", name);
    if (p.seed + (count - 1) > (unsigned long long) RA_GENCORE_SEED_MAX)
        return s_usage("%s", "--seed + --count runs past the largest seed");
    if (ra_gencore_params_check(&p) != 0)
        return s_usage("%s", rv_last_error());
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "reman-gencore: cannot create %s: %s\n", out, strerror(errno));
        return EXIT_FAIL;
    }
    uint64_t first = p.seed;
    for (unsigned long long k = 0; k < count; k++) {
        p.seed = first + k;
        char stem[96];
        if (name)
            snprintf(stem, sizeof stem, "%s", name);
        else
            snprintf(stem, sizeof stem, "%s-%06llu%s", ra_gencore_shape_name(p.shape),
                     (unsigned long long) p.seed,
                     p.canonical ? (p.reference ? "-master" : "-canonical") : p.reference ? "-ref" : "");
        double t0 = s_now();
        ra_gencore_t *core = ra_gencore_render(&p);
        if (!core) {
            fprintf(stderr, "reman-gencore: seed %llu: %s\n", (unsigned long long) p.seed,
                    rv_last_error());
            return EXIT_FAIL;
        }
        double t1 = s_now();
        if (ra_gencore_write(core, out, stem) != 0) {
            fprintf(stderr, "reman-gencore: %s\n", rv_last_error());
            ra_gencore_destroy(&core);
            return EXIT_FAIL;
        }
        if (!quiet) {
            size_t len;
            ra_gencore_jpeg(core, &len);
            printf("%s/%s.{jpg,pgm,json}: %s %dx%d, %s, %zu defect(s), %zu bytes, %.0f ms\n",
                   out, stem, ra_gencore_shape_name(p.shape), p.width, p.height,
                   ra_gencore_serial(core), ra_gencore_defect_count(core), len,
                   (t1 - t0) * 1000.0);
        }
        ra_gencore_destroy(&core);
    }
    return EXIT_OK;
}
