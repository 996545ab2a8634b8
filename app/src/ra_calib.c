/* ra_calib.c - calibration records from target views. (The golden-sample check is
 * ra_golden.c.) */
#include "ra/ra_calib.h"

#include "cv/rv_cv.h"
#include "rv/rv_error.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *s_domain = "ra_calib";

/* Ideal (undistorted) pixel of a distorted one under OpenCV's model, by fixed-point
 * iteration: converges for the mild distortions of machine-vision lenses. */
static void s_undistort_point(const ra_calib_t *c, double u, double v, double *ou, double *ov)
{
    double fx = c->camera[0][0], fy = c->camera[1][1], cx = c->camera[0][2], cy = c->camera[1][2];
    double k1 = c->dist[0], k2 = c->dist[1], p1 = c->dist[2], p2 = c->dist[3], k3 = c->dist[4];
    double xd = (u - cx) / fx, yd = (v - cy) / fy, x = xd, y = yd;
    for (int it = 0; it < 50; it++) {
        double r2 = x * x + y * y;
        double radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2;
        double dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
        double dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
        x = (xd - dx) / radial;
        y = (yd - dy) / radial;
    }
    *ou = fx * x + cx;
    *ov = fy * y + cy;
}

int ra_calib_compute(const rv_view_t *views, int n, int target, int cols, int rows,
                     double spacing_mm, int plane_view, ra_calib_t *out)
{
    if (!views || !out || n < 1 || cols < 2 || rows < 2 || !(spacing_mm > 0) ||
        (target != RA_CALIB_CHESSBOARD && target != RA_CALIB_CIRCLES) || plane_view < 0 ||
        plane_view >= n)
        return rv_fail(RV_EINVAL, s_domain,
                       "needs views, a %s target of >= 2x2 points, a spacing > 0 and a plane "
                       "view among them",
                       "chessboard or circle-grid");
    memset(out, 0, sizeof *out);
    size_t npt = (size_t) cols * (size_t) rows;
    rv_cv_point2f_t *pts = malloc(sizeof *pts * npt * (size_t) n);
    if (!pts)
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    rv_cv_pattern_t pat = {target == RA_CALIB_CHESSBOARD ? RV_CV_PATTERN_CHESSBOARD
                                                         : RV_CV_PATTERN_CIRCLES,
                           cols, rows, spacing_mm};
    int used = 0, plane_slot = -1, rc = RV_OK;
    char missing[256] = "";
    for (int i = 0; i < n; i++) {
        if (views[i].width != views[0].width || views[i].height != views[0].height) {
            rc = rv_fail(RV_EINVAL, s_domain, "view %d is %dx%d, view 0 is %dx%d", i,
                         views[i].width, views[i].height, views[0].width, views[0].height);
            goto done;
        }
        int found = 0;
        rc = rv_cv_find_pattern(&views[i], &pat, pts + (size_t) used * npt, &found);
        if (rc != RV_OK)
            goto done;
        if (found) {
            if (i == plane_view)
                plane_slot = used;
            used++;
        } else {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%d", l ? ", " : "", i);
        }
    }
    if (plane_slot < 0) {
        rc = rv_fail(RV_EFORMAT, s_domain, "no target found in the plane view %d", plane_view);
        goto done;
    }
    if (used < 3) {
        rc = rv_fail(RV_EFORMAT, s_domain, "target found in %d of %d views (none in %s), need 3",
                     used, n, missing);
        goto done;
    }
    rv_cv_calib_t cal;
    rc = rv_cv_calibrate(&pat, pts, used, views[0].width, views[0].height, &cal);
    if (rc != RV_OK)
        goto done;
    out->target = target;
    out->cols = cols;
    out->rows = rows;
    out->spacing_mm = spacing_mm;
    out->width = cal.width;
    out->height = cal.height;
    memcpy(out->camera, cal.camera, sizeof out->camera);
    memcpy(out->dist, cal.dist, sizeof out->dist);
    out->rms_px = cal.rms;
    out->views_used = used;
    out->views_given = n;
    out->plane_view = plane_view;
    /* scale on the working plane: known spacing over the mean undistorted distance between
     * neighbouring points of the plane view */
    const rv_cv_point2f_t *p = pts + (size_t) plane_slot * npt;
    double sum = 0;
    int pairs = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double u0, v0, u1, v1;
            s_undistort_point(out, p[r * cols + c].x, p[r * cols + c].y, &u0, &v0);
            if (c + 1 < cols) {
                s_undistort_point(out, p[r * cols + c + 1].x, p[r * cols + c + 1].y, &u1, &v1);
                sum += hypot(u1 - u0, v1 - v0);
                pairs++;
            }
            if (r + 1 < rows) {
                s_undistort_point(out, p[(r + 1) * cols + c].x, p[(r + 1) * cols + c].y, &u1, &v1);
                sum += hypot(u1 - u0, v1 - v0);
                pairs++;
            }
        }
    out->mm_per_px = spacing_mm / (sum / pairs);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out->date, sizeof out->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* the id names the moment and the content, so two records never share one */
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    unsigned char h[16];
    double model[14];
    memcpy(model, out->camera, sizeof out->camera);
    memcpy(model + 9, out->dist, sizeof out->dist);
    crypto_generichash(h, sizeof h, (const unsigned char *) model, sizeof model, NULL, 0);
    snprintf(out->id, sizeof out->id, "cal-%s-%02x%02x%02x%02x", stamp, h[0], h[1], h[2], h[3]);
done:
    free(pts);
    return rc;
}

static json_t *s_json(const ra_calib_t *c)
{
    json_t *cam = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(cam, json_pack("[f,f,f]", c->camera[i][0], c->camera[i][1],
                                             c->camera[i][2]));
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:i, s:f}, s:[i,i], s:o, s:[f,f,f,f,f], "
                     "s:f, s:f, s:{s:i, s:i, s:i}}",
                     "schema", RA_CALIB_SCHEMA, "id", c->id, "date", c->date, "target", "kind",
                     c->target == RA_CALIB_CHESSBOARD ? "chessboard" : "circles", "cols",
                     c->cols, "rows", c->rows, "spacing_mm", c->spacing_mm, "image_size",
                     c->width, c->height, "camera_matrix", cam, "distortion", c->dist[0],
                     c->dist[1], c->dist[2], c->dist[3], c->dist[4], "rms_px", c->rms_px,
                     "mm_per_px", c->mm_per_px, "views", "used", c->views_used, "given",
                     c->views_given, "plane_view", c->plane_view);
}

char *ra_calib_to_json(const ra_calib_t *c)
{
    json_t *j = s_json(c);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))
                   : NULL;
    json_decref(j);
    if (!text)
        rv_fail(RV_ENOMEM, s_domain, "cannot format the record");
    return text;
}

int ra_calib_save(const ra_calib_t *c, const char *path)
{
    char *text = ra_calib_to_json(c);
    if (!text)
        return RV_ENOMEM;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return rv_fail(RV_EIO, s_domain, "cannot write %s", path);
    }
    return RV_OK;
}

int ra_calib_load(const char *path, ra_calib_t *out)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        return rv_fail(RV_EIO, s_domain, "%s: %s (line %d)", path, err.text, err.line);
    memset(out, 0, sizeof *out);
    const char *schema = NULL, *id = NULL, *date = NULL, *kind = NULL;
    json_t *cam = NULL;
    int rc = json_unpack_ex(
        j, &err, 0,
        "{s:s, s:s, s:s, s:{s:s, s:i, s:i, s:F}, s:[i,i], s:o, s:[F,F,F,F,F], s:F, s:F, "
        "s?:{s?:i, s?:i, s?:i}}",
        "schema", &schema, "id", &id, "date", &date, "target", "kind", &kind, "cols", &out->cols,
        "rows", &out->rows, "spacing_mm", &out->spacing_mm, "image_size", &out->width,
        &out->height, "camera_matrix", &cam, "distortion", &out->dist[0], &out->dist[1],
        &out->dist[2], &out->dist[3], &out->dist[4], "rms_px", &out->rms_px, "mm_per_px",
        &out->mm_per_px, "views", "used", &out->views_used, "given", &out->views_given,
        "plane_view", &out->plane_view);
    if (rc == 0 && strcmp(schema, RA_CALIB_SCHEMA) != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "%s: schema %s, want %s", path, schema, RA_CALIB_SCHEMA);
    else if (rc != 0)
        rc = rv_fail(RV_EFORMAT, s_domain, "%s: %s", path, err.text);
    for (int i = 0; rc == 0 && i < 3; i++)
        if (json_unpack(json_array_get(cam, (size_t) i), "[F,F,F]", &out->camera[i][0],
                        &out->camera[i][1], &out->camera[i][2]) != 0)
            rc = rv_fail(RV_EFORMAT, s_domain, "%s: camera_matrix row %d", path, i);
    if (rc == 0) {
        snprintf(out->id, sizeof out->id, "%s", id);
        snprintf(out->date, sizeof out->date, "%s", date);
        out->target = !strcmp(kind, "circles") ? RA_CALIB_CIRCLES : RA_CALIB_CHESSBOARD;
        if (!(out->mm_per_px > 0) || out->width <= 0 || out->height <= 0)
            rc = rv_fail(RV_EFORMAT, s_domain, "%s: mm_per_px or image size not positive", path);
    }
    json_decref(j);
    return rc;
}
