/* reman_inspect.c - reman-inspect: the headless inspection of core images.
 *
 * For each JPEG given (files, or folders of *.jpg / *.jpeg), it keeps the original bytes
 * (their SHA-256 is printed, the evidence hash), decodes them, runs the detection front
 * end and prints one JSON line per part on stdout. A file that cannot be inspected gets a
 * JSON line with "error" naming what was wrong, and the run goes on with the next one.
 *
 * Grading to a value-retention route comes with the part-family models; until then the
 * line carries the front end's measurements (candidate counts and areas), not a route. */
#include "ra/ra_version.h"
#include "rv/rv.h"

#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

#define MAX_FILE_BYTES ((size_t) 256 << 20)

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-inspect [options] IMAGE|FOLDER...\n"
            "Inspects JPEG images of returned cores and prints one JSON line per part.\n"
            "Folders are searched for *.jpg and *.jpeg (not recursively), in name order.\n"
            "\n"
            "options:\n"
            "  --max-mp N     refuse images over N megapixels (default 100)\n"
            "  --help         this text\n"
            "  --version      the software and vision versions\n"
            "  --simd-best    print the best instruction set of this CPU and exit\n"
            "\n"
            "environment: RV_SIMD=scalar|sse2|avx2|avx512 caps the instruction set.\n"
            "exit status: 0 every image inspected; 1 at least one image refused (its line\n"
            "says why); 2 usage error; 3 set-up failure.\n");
}

static int s_has_jpeg_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Append path (a file) or the JPEGs of path (a folder) to *list. */
static int s_collect(const char *path, char ***list, size_t *n, size_t *cap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "reman-inspect: %s: no such file or folder\n", path);
        return -1;
    }
    char **names = NULL;
    size_t nn = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) {
            fprintf(stderr, "reman-inspect: %s: cannot open the folder\n", path);
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !s_has_jpeg_ext(e->d_name))
                continue;
            names = realloc(names, (nn + 1) * sizeof *names);
            size_t len = strlen(path) + strlen(e->d_name) + 2;
            names[nn] = malloc(len);
            snprintf(names[nn], len, "%s/%s", path, e->d_name);
            nn++;
        }
        closedir(d);
        qsort(names, nn, sizeof *names, s_cmp_str);
    } else {
        names = malloc(sizeof *names);
        names[0] = strdup(path);
        nn = 1;
    }
    for (size_t i = 0; i < nn; i++) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *list = realloc(*list, *cap * sizeof **list);
        }
        (*list)[(*n)++] = names[i];
    }
    free(names);
    return 0;
}

static json_t *s_blob_json(const rv_blob_t *b)
{
    return json_pack("{s:[i,i,i,i], s:I, s:[f,f]}", "bbox", b->x0, b->y0, b->x1 - b->x0 + 1,
                     b->y1 - b->y0 + 1, "area_px", (json_int_t) b->area, "centroid", b->cx,
                     b->cy);
}

/* Inspect one file; prints its line. 0 when inspected, -1 when refused. */
static int s_inspect(const char *path, rv_frontend_t **fe)
{
    double t0 = s_now_ms();
    json_t *line = json_object();
    json_object_set_new(line, "file", json_string(path));
    uint8_t *bytes = NULL;
    size_t len = 0;
    rv_image_t *rgb = NULL;
    rv_frontend_result_t res = {0};
    int rc = -1;
    if (rv_file_read(path, MAX_FILE_BYTES, &bytes, &len) != RV_OK)
        goto out;
    double t_read = s_now_ms();
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(digest, bytes, len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    json_object_set_new(line, "bytes", json_integer((json_int_t) len));
    json_object_set_new(line, "sha256", json_string(hex));

    rgb = rv_jpeg_decode(bytes, len, RV_RGB8, 1);
    if (!rgb)
        goto out;
    double t_decode = s_now_ms();
    rv_view_t v = rv_image_view(rgb);
    json_object_set_new(line, "width", json_integer(v.width));
    json_object_set_new(line, "height", json_integer(v.height));
    if (!*fe || rv_frontend_map(*fe, "gray")->width != v.width ||
        rv_frontend_map(*fe, "gray")->height != v.height) {
        rv_frontend_destroy(fe);
        if (!(*fe = rv_frontend_new(v.width, v.height)))
            goto out;
    }
    rv_frontend_params_t params;
    rv_frontend_params_init(&params);
    if (rv_frontend_run(*fe, &v, NULL, NULL, &params, &res) != RV_OK)
        goto out;
    double t_front = s_now_ms();

    double npx = (double) v.width * v.height;
    const rv_blob_t *largest = NULL;
    for (size_t i = 0; i < res.dark.count; i++)
        if (!largest || res.dark.items[i].area > largest->area)
            largest = &res.dark.items[i];
    json_t *front = json_pack("{s:I, s:I, s:I, s:f, s:I, s:I}", "dark_blobs",
                              (json_int_t) res.dark.count, "dark_px", (json_int_t) res.dark_px,
                              "rust_px", (json_int_t) res.rust_px, "rust_pct",
                              100.0 * (double) res.rust_px / npx, "edge_px",
                              (json_int_t) res.edge_px, "edge_chains",
                              (json_int_t) res.edges.count);
    if (largest)
        json_object_set_new(front, "largest_dark_blob", s_blob_json(largest));
    json_object_set_new(line, "front", front);
    json_object_set_new(line, "isa", json_string(rv_simd_isa()));
    json_object_set_new(line, "software", json_string(ra_version()));
    json_object_set_new(line, "ms",
                        json_pack("{s:f, s:f, s:f, s:f}", "read", t_read - t0, "decode",
                                  t_decode - t_read, "front", t_front - t_decode, "total",
                                  t_front - t0));
    rc = 0;
out:
    if (rc != 0)
        json_object_set_new(line, "error", json_string(rv_last_error()));
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    if (text) {
        puts(text);
        fflush(stdout);
        free(text);
    }
    json_decref(line);
    rv_frontend_result_free(&res);
    rv_image_destroy(&rgb);
    free(bytes);
    return rc;
}

int main(int argc, char **argv)
{
    char **files = NULL;
    size_t nfiles = 0, cap = 0;
    int usage_error = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            rv_init();
            printf("%s (%s)\n", ra_version(), rv_describe());
            return 0;
        } else if (!strcmp(a, "--simd-best")) {
            printf("%s\n", rv_simd_best());
            return 0;
        } else if (!strcmp(a, "--max-mp")) {
            char *end = NULL;
            double mp = i + 1 < argc ? strtod(argv[++i], &end) : 0;
            if (!end || *end || mp <= 0 || mp > 1000) {
                fprintf(stderr, "reman-inspect: --max-mp needs a number of megapixels (0-1000]\n");
                return EXIT_USAGE;
            }
            rv_jpeg_set_max_pixels((uint64_t) (mp * 1e6));
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "reman-inspect: unknown option '%s' (see --help)\n", a);
            return EXIT_USAGE;
        } else if (s_collect(a, &files, &nfiles, &cap) != 0) {
            usage_error = 1;
        }
    }
    if (usage_error)
        return EXIT_USAGE;
    if (nfiles == 0) {
        fprintf(stderr, "reman-inspect: no images given (see --help)\n");
        return EXIT_USAGE;
    }
    if (sodium_init() < 0 || rv_init() != RV_OK) {
        fprintf(stderr, "reman-inspect: set-up failed: %s\n", rv_last_error());
        return EXIT_SETUP;
    }
    int refused = 0;
    int tty = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
    rv_frontend_t *fe = NULL;
    for (size_t i = 0; i < nfiles; i++) {
        if (tty)
            fprintf(stderr, "\r[%zu/%zu] %s\033[K", i + 1, nfiles, files[i]);
        if (s_inspect(files[i], &fe) != 0)
            refused++;
        free(files[i]);
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    rv_frontend_destroy(&fe);
    free(files);
    if (refused)
        fprintf(stderr, "reman-inspect: %d of %zu images refused\n", refused, nfiles);
    return refused ? EXIT_REFUSED : 0;
}
