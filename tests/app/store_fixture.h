/* store_fixture.h - what the store tests share: temporary directories, a realistic
 * reman.inspection/1 object, small real JPEG evidence, raw SQLite access. */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include "ra/ra_store.h"
#include "rv/rv.h"
#include "rv/rv_jpeg.h"

#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* rm -rf (chmod first: a test may have made things read-only). */
static inline void fx_rmrf(const char *path)
{
    struct stat sb;
    if (!path || !path[0] || lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t n = strlen(path) + strlen(e->d_name) + 2;
            char *sub = malloc(n);
            if (sub) {
                snprintf(sub, n, "%s/%s", path, e->d_name);
                fx_rmrf(sub);
                free(sub);
            }
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A new empty directory under /tmp (path: 64 bytes). */
static inline int fx_tmpdir(char *path, const char *tag)
{
    snprintf(path, 64, "/tmp/rs-%s.XXXXXX", tag);
    return mkdtemp(path) ? 0 : -1;
}

/* A store directory inside a temporary directory (the store creates it). */
static inline void fx_store_dir(char *out, size_t size, const char *tmp)
{
    snprintf(out, size, "%s/store", tmp);
}

/* A small real JPEG: a generated gradient with a mark whose place depends on seed. */
static inline int fx_jpeg(int w, int h, unsigned seed, uint8_t **out, size_t *len)
{
    rv_image_t *img = rv_image_new(w, h, RV_RGB8);
    if (!img)
        return -1;
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < h; y++) {
        uint8_t *row = rv_view_row(&v, y);
        for (int x = 0; x < w; x++) {
            int mark = abs(x - (int) (seed * 7 % (unsigned) w)) < 6 &&
                       abs(y - (int) (seed * 13 % (unsigned) h)) < 6;
            row[3 * x] = (uint8_t) (mark ? 255 : x * 255 / w);
            row[3 * x + 1] = (uint8_t) (mark ? 0 : y * 255 / h);
            row[3 * x + 2] = (uint8_t) ((x + y + (int) seed) & 0xff);
        }
    }
    int rc = rv_jpeg_encode(&v, 85, out, len);
    rv_image_destroy(&img);
    return rc;
}

/* Put a generated JPEG as evidence; hex gets its SHA-256. */
static inline int fx_put_jpeg(ra_store_t *st, int w, int h, unsigned seed, char hex[65], size_t *bytes)
{
    uint8_t *jpeg = NULL;
    size_t len = 0;
    if (fx_jpeg(w, h, seed, &jpeg, &len) != 0)
        return -1;
    int rc = ra_store_put_evidence(st, jpeg, len, hex);
    rv_jpeg_free(&jpeg);
    if (bytes)
        *bytes = len;
    return rc;
}

/* A reman.inspection/1 object as reman-inspect prints it. proposal: a route or "review";
 * route: the grader's route; original/overlay: evidence hashes or NULL. */
static inline json_t *fx_inspection(const char *serial, const char *proposal, const char *route,
                             const char *original, size_t original_bytes, const char *overlay,
                             size_t overlay_bytes)
{
    json_t *ev = json_array();
    if (original)
        json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", "original", "sha256",
                                            original, "bytes", (json_int_t) original_bytes));
    if (overlay)
        json_array_append_new(ev, json_pack("{s:s, s:s, s:I}", "kind", "overlay", "sha256",
                                            overlay, "bytes", (json_int_t) overlay_bytes));
    json_t *reasons = json_pack(
        "[{s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s, s:s},"
        " {s:s, s:s, s:b, s:b, s:f, s:f, s:f, s:s, s:s}]",
        "rule", "bore-crack", "code", "CRK-BORE", "fired", 1, "deciding", 0, "value", 3.25,
        "limit", 2.0, "guard", 0.2, "en", "crack in the bore 3.25 mm > 2 mm", "zh",
        "\xe5\xad\x94\xe5\x86\x85\xe8\xa3\x82\xe7\xba\xb9 3.25 mm > 2 mm", "rule",
        "seal-pit", "code", "PIT-SEAL", "fired", 0, "deciding", 1, "value", 0.48, "limit", 0.5,
        "guard", 0.05, "en", "pit on the seal face 0.48 mm (limit 0.5 mm)", "zh",
        "\xe5\xaf\x86\xe5\xb0\x81\xe9\x9d\xa2\xe5\x87\xb9\xe5\x9d\x91");
    json_t *findings = json_pack(
        "[{s:s, s:s, s:[i,i,i,i], s:f, s:f, s:f, s:f}, {s:s, s:s, s:[i,i,i,i], s:f, s:f}]",
        "type", "crack", "zone", "bore", "bbox", 410, 220, 36, 8, "length_mm", 3.25, "width_mm",
        0.12, "orientation_deg", 12.5, "score", 0.91, "type", "pit", "zone", "seal_face", "bbox",
        600, 300, 5, 5, "diameter_mm", 0.48, "score", 0.66);
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:s, s:{s:s, s:s, s:s}, s:s, s:i, s:s, s:s, s:s, s:b, s:[], s:o, s:s,"
        " s:{s:f, s:f, s:f}, s:o, s:{s:f, s:f}, s:{s:f, s:f, s:f, s:s}, s:{s:s, s:s, s:f, s:f},"
        " s:s, s:s, s:o, s:i, s:i}",
        "schema", "reman.inspection/1", "file", "cam0/000123.jpg", "bytes",
        (json_int_t) original_bytes, "sha256",
        original ? original : "0000000000000000000000000000000000000000000000000000000000000000",
        "code", "text", "SN:CAL-0001;PN:BC-4471", "serial", serial ? serial : "",
        "part_number", "BC-4471", "family", "brake-caliper", "family_revision", 3, "model_hash",
        "9f2c1e0d4b7a6c5e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70", "proposal",
        proposal, "route", route, "review", strcmp(proposal, "review") == 0, "review_why",
        "reasons", reasons, "credit", "partial", "value_retained", "fraction", 0.965,
        "material_kg", 2.895, "co2e_kg", 9.264, "findings", findings, "anomaly", "area_mm2",
        4.5, "score", 0.42, "alignment", "angle_deg", 1.25, "scale", 1.002, "iou", 0.97,
        "method", "silhouette", "calibration", "id", "cal-2026-11-01", "date", "2026-11-01",
        "mm_per_px", 0.0625, "rms_px", 0.21, "isa", "avx2", "software", "reman-station 0.9.0",
        "evidence", ev, "width", 1280, "height", 960);
    return o;
}

/* Append an inspection; its record number (0 on failure). */
static inline int64_t fx_inspect(ra_store_t *st, const char *serial, const char *proposal,
                          const char *route, const char *original, const char *overlay)
{
    json_t *o = fx_inspection(serial, proposal, route, original, 1000, overlay, 800);
    int64_t n = 0;
    if (!o || ra_store_inspection(st, o, &n) != 0)
        n = 0;
    json_decref(o);
    return n;
}

/* Raw SQLite on the store's database (as an attacker or an auditor would). */
static inline int fx_sql(const char *store_dir, const char *sql, char *err, size_t errsize)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store.db", store_dir);
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (err)
        snprintf(err, errsize, "%s", msg ? msg : (rc ? sqlite3_errstr(rc) : ""));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

/* One integer from a query on the store's database; -1 on failure. */
static inline long long fx_sql_int(const char *store_dir, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store.db", store_dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* One text from a query on the store's database (malloc'd); NULL on failure. */
static inline char *fx_sql_text(const char *store_dir, const char *sql)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store.db", store_dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *) sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#endif
