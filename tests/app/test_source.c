/* test_source.c - capture sources: files / replay, the hot folder (exactly once across a
 * restart, files written slowly, renamed into place, duplicated names, empty, truncated,
 * not JPEG, a few hundred at once), and the camera path (missing device, an image
 * sequence standing in for a camera that is unplugged and comes back; a real V4L2 device
 * only when /dev/video* exists). */
#include "rs_test.h"

#include "ra/ra_source.h"
#include "rv/rv.h"
#include "rv/rv_jpeg.h"

#include <dirent.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A small JPEG whose pixels encode id (so every file's bytes differ). */
static uint8_t *make_jpeg(int id, size_t *len)
{
    rv_image_t *img = rv_image_new(64, 48, RV_RGB8);
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = rv_view_row(&v, y) + 3 * x;
            p[0] = (uint8_t) id;
            p[1] = (uint8_t) (id >> 8);
            p[2] = (uint8_t) (x * 4);
        }
    uint8_t *jpeg = NULL, *own = NULL;
    if (rv_jpeg_encode(&v, 90, &jpeg, len) == RV_OK && (own = malloc(*len)))
        memcpy(own, jpeg, *len);
    rv_jpeg_free(&jpeg);
    rv_image_destroy(&img);
    return own;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_jpeg(const char *path, int id)
{
    size_t len = 0;
    uint8_t *j = make_jpeg(id, &len);
    int rc = j ? write_file(path, j, len) : -1;
    free(j);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && strlen(de->d_name) >= strlen(suffix) &&
            !strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* ---- files --------------------------------------------------------------------------- */

static void test_files(const char *dir)
{
    char p[3][600];
    for (int i = 0; i < 3; i++)
        snprintf(p[i], sizeof p[i], "%s/f%d.jpg", dir, i);
    RS_CHECK_EQ(write_jpeg(p[0], 1), 0);
    RS_CHECK_EQ(write_file(p[1], (const uint8_t *) "not a jpeg", 10), 0);
    RS_CHECK_EQ(write_jpeg(p[2], 3), 0);
    const char *paths[3] = {p[0], p[1], p[2]};
    ra_source_t *s = ra_source_files_new(paths, 3, NULL);
    RS_CHECK(s != NULL);
    if (!s)
        return;
    RS_CHECK(!strcmp(ra_source_name(s), "files"));
    ra_frame_t *f = NULL;
    RS_CHECK_EQ(ra_source_next(s, -1, &f), RV_OK);
    if (f) {
        size_t len = 0;
        uint8_t *want = make_jpeg(1, &len);
        RS_CHECK(f->jpeg_len == len && !memcmp(f->jpeg, want, len)); /* bytes as delivered */
        RS_CHECK(f->seq == 1 && !strcmp(f->name, p[0]) && !f->encoded_by_station);
        RS_CHECK(f->rgb && rv_image_width(f->rgb) == 64);
        RS_CHECK(f->timestamp > 1.6e9);
        free(want);
    }
    ra_frame_destroy(&f);
    RS_CHECK(f == NULL);
    RS_CHECK_EQ(ra_source_next(s, -1, &f), RV_EFORMAT); /* named, then the source goes on */
    RS_CHECK(!strcmp(ra_source_current(s), p[1]) && f == NULL);
    RS_CHECK_MSG(rv_last_error(), "not a JPEG");
    RS_CHECK_EQ(ra_source_next(s, -1, &f), RV_OK);
    RS_CHECK(f && f->seq == 2 && !strcmp(f->name, p[2]));
    ra_frame_destroy(&f);
    RS_CHECK_EQ(ra_source_next(s, -1, &f), RA_SOURCE_END);
    RS_CHECK_EQ(ra_source_status(s), RA_SOURCE_END);
    ra_source_destroy(&s);
    RS_CHECK(s == NULL);

    /* replay: a looping list paced like a 20 fps camera */
    ra_source_opts_t o;
    ra_source_opts_default(&o);
    o.loop = 1;
    o.interval_ms = 50;
    const char *two[2] = {p[0], p[2]};
    s = ra_source_open("files", two, 2, &o);
    RS_CHECK(s != NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int got = 0;
    for (int i = 0; s && i < 5; i++) {
        if (ra_source_next(s, -1, &f) == RV_OK)
            got++;
        ra_frame_destroy(&f);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    RS_CHECK_EQ(got, 5);
    RS_CHECKF(ms >= 195, "5 frames at 50 ms intervals took %.0f ms", ms);
    ra_source_destroy(&s);
    RS_CHECK(ra_source_files_new(NULL, 0, NULL) == NULL);
    RS_CHECK(ra_source_open("tape:x", NULL, 0, NULL) == NULL);
    RS_CHECK_MSG(rv_last_error(), "unknown source \"tape:x\"");
    for (int i = 0; i < 3; i++)
        unlink(p[i]);
}

/* Shrink on load: a 256 x 192 JPEG from a source told to cover 100 x 80 is decoded at
 * 1/2 (1/4 would not cover), says so, and keeps its delivered size and bytes; told to
 * cover more than it has, or nothing, it is decoded in full; truncated, it is refused
 * as ever (the scaled decode still reads every entropy-coded byte). */
static void test_cover(const char *dir)
{
    rv_image_t *img = rv_image_new(256, 192, RV_RGB8);
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < 192; y++)
        for (int x = 0; x < 256; x++) {
            uint8_t *p = rv_view_row(&v, y) + 3 * x;
            p[0] = (uint8_t) x, p[1] = (uint8_t) y, p[2] = (uint8_t) (x ^ y);
        }
    uint8_t *jpeg = NULL;
    size_t len = 0;
    RS_CHECK_EQ(rv_jpeg_encode(&v, 90, &jpeg, &len), RV_OK);
    char p[2][600];
    snprintf(p[0], sizeof p[0], "%s/big.jpg", dir);
    snprintf(p[1], sizeof p[1], "%s/cut.jpg", dir);
    RS_CHECK_EQ(write_file(p[0], jpeg, len), 0);
    RS_CHECK_EQ(write_file(p[1], jpeg, len * 2 / 3), 0);
    static const int cover[4][2] = {{100, 80}, {0, 0}, {300, 100}, {64, 48}};
    static const int want[4] = {2, 1, 1, 4};
    for (int c = 0; c < 4; c++) {
        ra_source_opts_t o;
        ra_source_opts_default(&o);
        o.cover_width = cover[c][0], o.cover_height = cover[c][1];
        const char *paths[2] = {p[0], p[1]};
        ra_source_t *s = ra_source_files_new(paths, 2, &o);
        ra_frame_t *f = NULL;
        RS_CHECK(s && ra_source_next(s, -1, &f) == RV_OK && f);
        if (f) {
            RS_CHECKF(f->scale == want[c], "cover %dx%d: scale %d, want %d", cover[c][0],
                      cover[c][1], f->scale, want[c]);
            RS_CHECK(f->width == 256 && f->height == 192);
            RS_CHECK(rv_image_width(f->rgb) == 256 / want[c] &&
                     rv_image_height(f->rgb) == 192 / want[c]);
            RS_CHECK(f->jpeg_len == len && !memcmp(f->jpeg, jpeg, len));
        }
        ra_frame_destroy(&f);
        RS_CHECK(s && ra_source_next(s, -1, &f) == RV_EFORMAT && !f);
        RS_CHECK_MSG(rv_last_error(), "truncated JPEG");
        ra_source_destroy(&s);
    }
    unlink(p[0]);
    unlink(p[1]);
    rv_jpeg_free(&jpeg);
    rv_image_destroy(&img);
}

/* ---- hot folder ------------------------------------------------------------------------ */

typedef struct {
    char path[600];
    uint8_t *bytes;
    size_t len;
} slow_t;

/* A writer that delivers a JPEG in four pieces, 120 ms apart, under its final name. */
static void *slow_writer(void *arg)
{
    slow_t *s = arg;
    FILE *f = fopen(s->path, "wb");
    if (!f)
        return NULL;
    size_t step = s->len / 4 + 1;
    for (size_t off = 0; off < s->len; off += step) {
        size_t n = s->len - off < step ? s->len - off : step;
        fwrite(s->bytes + off, 1, n, f);
        fflush(f);
        sleep_ms(120);
    }
    fclose(f);
    return NULL;
}

static ra_source_opts_t folder_opts(void)
{
    ra_source_opts_t o;
    ra_source_opts_default(&o);
    o.poll_ms = 20;
    o.stable_polls = 2;
    o.reject_after_ms = 500;
    return o;
}

static void test_folder_cases(const char *dir)
{
    ra_source_opts_t o = folder_opts();
    ra_source_t *s = ra_source_folder_new(dir, &o);
    RS_CHECKF(s != NULL, "%s", rv_last_error());
    if (!s)
        return;
    char p[600], q[600];
    ra_frame_t *f = NULL;
    RS_CHECK_EQ(ra_source_next(s, 0, &f), RA_SOURCE_IDLE); /* empty: one look, nothing */

    /* written slowly in pieces: waited for, taken whole, once */
    slow_t sw;
    snprintf(sw.path, sizeof sw.path, "%s/slow.jpg", dir);
    sw.bytes = make_jpeg(7, &sw.len);
    pthread_t th;
    RS_CHECK_EQ(pthread_create(&th, NULL, slow_writer, &sw), 0);
    int rc = ra_source_next(s, 3000, &f);
    RS_CHECKF(rc == RV_OK, "rc %d: %s", rc, rv_last_error());
    pthread_join(th, NULL);
    if (f) {
        RS_CHECK(f->jpeg_len == sw.len && !memcmp(f->jpeg, sw.bytes, sw.len));
        RS_CHECK(!strcmp(f->original, "slow.jpg"));
        snprintf(p, sizeof p, "%s/taken/slow.jpg", dir);
        RS_CHECK(!strcmp(f->name, p) && access(p, F_OK) == 0);
    }
    ra_frame_destroy(&f);
    free(sw.bytes);

    /* renamed into place from a hidden temporary name */
    snprintf(p, sizeof p, "%s/.part-0001.jpg", dir);
    snprintf(q, sizeof q, "%s/renamed.jpg", dir);
    RS_CHECK_EQ(write_jpeg(p, 8), 0);
    RS_CHECK_EQ(ra_source_next(s, 200, &f), RA_SOURCE_IDLE); /* hidden: not touched */
    RS_CHECK_EQ(rename(p, q), 0);
    RS_CHECK_EQ(ra_source_next(s, 2000, &f), RV_OK);
    RS_CHECK(f && !strcmp(f->original, "renamed.jpg"));
    ra_frame_destroy(&f);

    /* the same name twice: the second never overwrites the first's evidence */
    snprintf(p, sizeof p, "%s/IMG_0001.JPG", dir);
    for (int k = 0; k < 2; k++) {
        RS_CHECK_EQ(write_jpeg(p, 20 + k), 0);
        RS_CHECK_EQ(ra_source_next(s, 2000, &f), RV_OK);
        if (f) {
            snprintf(q, sizeof q, k ? "%s/taken/IMG_0001.1.JPG" : "%s/taken/IMG_0001.JPG", dir);
            RS_CHECKF(!strcmp(f->name, q), "taken as %s, want %s", f->name, q);
            size_t len;
            uint8_t *want = make_jpeg(20 + k, &len);
            RS_CHECK(f->jpeg_len == len && !memcmp(f->jpeg, want, len));
            free(want);
        }
        ra_frame_destroy(&f);
    }

    /* broken deliveries: set aside with a reason after the timeout, never delivered */
    size_t len;
    uint8_t *half = make_jpeg(9, &len);
    snprintf(p, sizeof p, "%s/zero.jpg", dir);
    RS_CHECK_EQ(write_file(p, half, 0), 0);
    snprintf(p, sizeof p, "%s/truncated.jpg", dir);
    RS_CHECK_EQ(write_file(p, half, len / 2), 0);
    snprintf(p, sizeof p, "%s/text.jpeg", dir);
    RS_CHECK_EQ(write_file(p, (const uint8_t *) "hello, not an image\n", 20), 0);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    RS_CHECK_EQ(write_file(p, (const uint8_t *) "left alone\n", 11), 0);
    free(half);
    RS_CHECK_EQ(ra_source_next(s, 1500, &f), RA_SOURCE_IDLE);
    RS_CHECK(f == NULL);
    ra_source_stats_t st;
    ra_source_stats(s, &st);
    RS_CHECK_EQ(st.rejected, 3);
    RS_CHECK_EQ(st.delivered, 4);
    snprintf(q, sizeof q, "%s/rejected", dir);
    RS_CHECK_EQ(count_files(q, ".jpg"), 2);
    RS_CHECK_EQ(count_files(q, ".jpeg"), 1);
    RS_CHECK_EQ(count_files(q, ".reason.txt"), 3);
    snprintf(q, sizeof q, "%s/rejected/zero.jpg.reason.txt", dir);
    FILE *r = fopen(q, "r");
    char reason[512] = "";
    if (r) {
        if (!fgets(reason, sizeof reason, r))
            reason[0] = '\0';
        fclose(r);
    }
    RS_CHECK_MSG(reason, "zero.jpg: empty file (0 bytes)");
    snprintf(q, sizeof q, "%s/rejected/truncated.jpg.reason.txt", dir);
    r = fopen(q, "r");
    reason[0] = '\0';
    if (r) {
        if (!fgets(reason, sizeof reason, r))
            reason[0] = '\0';
        fclose(r);
    }
    RS_CHECK_MSG(reason, "truncated.jpg: not a complete JPEG");
    printf("folder: truncated file's reason: %s", reason);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    RS_CHECK(access(p, F_OK) == 0);
    ra_source_destroy(&s);
}

/* Two thousand files at once, the station restarted in the middle: each valid file is
 * taken exactly once over the two runs. */
static void test_folder_bulk(const char *dir)
{
    enum { N = 2000, FIRST = 700 };
    char p[600];
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "%s/cell_%04d.jpg", dir, i);
        if (write_jpeg(p, 1000 + i) != 0) {
            RS_CHECKF(0, "cannot write %s", p);
            return;
        }
    }
    static int seen[N];
    memset(seen, 0, sizeof seen);
    ra_source_opts_t o = folder_opts();
    int total = 0, dups = 0, bad = 0;
    for (int run = 0; run < 2; run++) {
        ra_source_t *s = ra_source_folder_new(dir, &o);
        RS_CHECK(s != NULL);
        ra_frame_t *f = NULL;
        int taken = 0;
        while (s && (run == 1 || taken < FIRST) && ra_source_next(s, 600, &f) == RV_OK) {
            int i = -1;
            if (sscanf(f->original, "cell_%d.jpg", &i) != 1 || i < 0 || i >= N) {
                bad++;
            } else {
                size_t len;
                uint8_t *want = make_jpeg(1000 + i, &len);
                if (f->jpeg_len != len || memcmp(f->jpeg, want, len))
                    bad++;
                free(want);
                dups += seen[i]++ > 0;
            }
            taken++;
            ra_frame_destroy(&f);
        }
        total += taken;
        ra_source_destroy(&s); /* the restart: all state but the folder is gone */
    }
    int missing = 0;
    for (int i = 0; i < N; i++)
        missing += seen[i] == 0;
    printf("folder: %d files, restart after %d: %d taken, %d twice, %d missing, %d wrong\n", N,
           FIRST, total, dups, missing, bad);
    RS_CHECK_EQ(total, N);
    RS_CHECK_EQ(dups, 0);
    RS_CHECK_EQ(missing, 0);
    RS_CHECK_EQ(bad, 0);
    snprintf(p, sizeof p, "%s/taken", dir);
    RS_CHECK_EQ(count_files(p, ".jpg"), N);
    RS_CHECK_EQ(count_files(dir, ".jpg"), 0);
}

/* ---- camera ------------------------------------------------------------------------------ */

static void test_camera(const char *dir)
{
    ra_source_t *s = ra_source_camera_new("97", NULL);
    RS_CHECK(s == NULL);
    RS_CHECK_MSG(rv_last_error(), "no such camera device /dev/video97");
    s = ra_source_open("camera:/dev/video98", NULL, 0, NULL);
    RS_CHECK(s == NULL);
    RS_CHECK_MSG(rv_last_error(), "/dev/video98");

    /* an image sequence stands in for a camera without MJPEG: frames are encoded once at
     * quality 95 and flagged; its end is an unplug; reopening it is the reconnection */
    char p[600], pat[600];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/seq_%03d.jpg", dir, i);
        RS_CHECK_EQ(write_jpeg(p, 50 + i), 0);
    }
    snprintf(pat, sizeof pat, "%s/seq_%%03d.jpg", dir);
    ra_source_opts_t o;
    ra_source_opts_default(&o);
    o.reconnect_ms = 50;
    s = ra_source_camera_new(pat, &o);
    RS_CHECKF(s != NULL, "%s", rv_last_error());
    if (!s)
        return;
    ra_frame_t *f = NULL;
    for (int i = 0; i < 3; i++) {
        int rc = ra_source_next(s, 1000, &f);
        RS_CHECKF(rc == RV_OK, "frame %d: rc %d %s", i, rc, rv_last_error());
        if (f) {
            RS_CHECK(f->encoded_by_station == 1 && f->quality == 95);
            RS_CHECK(f->jpeg_len > 4 && f->jpeg[0] == 0xFF && f->jpeg[1] == 0xD8);
            RS_CHECK(f->rgb && rv_image_width(f->rgb) == 64);
            RS_CHECK(f->seq == (uint64_t) i + 1 && strstr(f->name, "#") != NULL);
        }
        ra_frame_destroy(&f);
    }
    RS_CHECK_EQ(ra_source_next(s, 200, &f), RA_SOURCE_DISCONNECTED);
    RS_CHECK_EQ(ra_source_status(s), RA_SOURCE_DISCONNECTED);
    RS_CHECK(f == NULL);
    /* unplugged for good: still disconnected, nothing half delivered */
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/seq_%03d.jpg", dir, i);
        unlink(p);
    }
    RS_CHECK_EQ(ra_source_next(s, 300, &f), RA_SOURCE_DISCONNECTED);
    RS_CHECK(f == NULL);
    /* plugged back in: frames again */
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/seq_%03d.jpg", dir, i);
        RS_CHECK_EQ(write_jpeg(p, 60 + i), 0);
    }
    int rc = ra_source_next(s, 2000, &f);
    RS_CHECKF(rc == RV_OK, "after reconnection: rc %d %s", rc, rv_last_error());
    RS_CHECK(f && f->seq == 4);
    ra_frame_destroy(&f);
    ra_source_stats_t st;
    ra_source_stats(s, &st);
    RS_CHECK_EQ(st.reconnects, 1);
    ra_source_destroy(&s);
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/seq_%03d.jpg", dir, i);
        unlink(p);
    }

    /* a real V4L2 device, when there is one */
    glob_t g;
    if (glob("/dev/video*", 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        ra_source_opts_default(&o);
        s = ra_source_camera_new(g.gl_pathv[0], &o);
        if (!s) {
            printf("app.source: %s present but does not open (%s): smoke test skipped\n",
                   g.gl_pathv[0], rv_last_error());
        } else {
            rc = ra_source_next(s, 5000, &f);
            RS_CHECKF(rc == RV_OK || rc == RA_SOURCE_IDLE, "%s: rc %d %s", g.gl_pathv[0], rc,
                      rv_last_error());
            if (f)
                printf("app.source: %s: %dx%d, %zu bytes, %s\n", g.gl_pathv[0],
                       rv_image_width(f->rgb), rv_image_height(f->rgb), f->jpeg_len,
                       f->encoded_by_station ? "encoded by the station" : "the camera's MJPEG");
            ra_frame_destroy(&f);
            ra_source_destroy(&s);
        }
    } else {
        printf("app.source: no /dev/video* device here: V4L2 camera smoke test skipped\n");
    }
    globfree(&g);
}

int main(void)
{
    if (rv_init() != RV_OK)
        return rs_test_skip("app.source", rv_last_error());
    char dir[] = "/tmp/ra_sourceXXXXXX";
    if (!mkdtemp(dir))
        return rs_test_skip("app.source", "no temporary folder");
    char sub[200];
    test_files(dir);
    test_cover(dir);
    snprintf(sub, sizeof sub, "%s/hot", dir);
    mkdir(sub, 0777);
    test_folder_cases(sub);
    snprintf(sub, sizeof sub, "%s/bulk", dir);
    mkdir(sub, 0777);
    test_folder_bulk(sub);
    snprintf(sub, sizeof sub, "%s/cam", dir);
    mkdir(sub, 0777);
    test_camera(sub);
    RS_CHECK(ra_source_folder_new("/nonexistent/in", NULL) == NULL);
    RS_CHECK_MSG(rv_last_error(), "no such folder /nonexistent/in");
    rm_rf(dir);
    return rs_test_end("app.source");
}
