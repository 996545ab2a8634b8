/* ra_gencore_code.c - the direct part mark: a DataMatrix encoded by libdmtx, placed on
 * free part surface and painted like a laser mark (dark annealed modules on a lighter,
 * cleaned rectangle that includes the quiet zone).
 *
 * libdmtx renders the symbol at one pixel per module; we read that grid back and draw it
 * ourselves, rotated with the part and anti-aliased by 4x4 supersampling, so the module
 * pitch may be fractional and the mark scales with the frame. */
#include "ra_gencore_priv.h"

#include <dmtx.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"

static const char *s_domain = "ra_gencore";

#define QUIET_MODULES 2 /* ISO/IEC 16022 asks for one; two decode more robustly */

/* The module grid of text, rows x cols bytes (1 = dark), row 0 first in memory as
 * libdmtx lays out its own image. Square symbols: libdmtx 0.7 misreads rectangular ones
 * now and then at 3 px per module, even drawn perfectly; squares read every time. */
static int s_encode(const char *text, uint8_t **grid, int *rows, int *cols)
{
    DmtxEncode *enc = dmtxEncodeCreate();
    if (!enc)
        return rv_fail(RV_ENOMEM, s_domain, "cannot create a DataMatrix encoder");
    int rc = RV_OK;
    dmtxEncodeSetProp(enc, DmtxPropModuleSize, 1);
    dmtxEncodeSetProp(enc, DmtxPropMarginSize, 0);
    dmtxEncodeSetProp(enc, DmtxPropSizeRequest, DmtxSymbolSquareAuto);
    if (dmtxEncodeDataMatrix(enc, (int) strlen(text), (unsigned char *) text) != DmtxPass ||
        !enc->image) {
        rc = rv_fail(RV_EBACKEND, s_domain, "libdmtx cannot encode \"%s\"", text);
        goto done;
    }
    DmtxImage *img = enc->image;
    *rows = img->height;
    *cols = img->width;
    *grid = malloc((size_t) img->width * (size_t) img->height);
    if (!*grid) {
        rc = rv_fail(RV_ENOMEM, s_domain, "out of memory");
        goto done;
    }
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            const unsigned char *px =
                img->pxl + (size_t) y * (size_t) img->rowSizeBytes +
                (size_t) x * (size_t) img->bytesPerPixel;
            (*grid)[y * img->width + x] = px[0] < 128;
        }
done:
    dmtxEncodeDestroy(&enc);
    return rc;
}

/* 1 when a w x h rectangle centred at (cx, cy), rotated by (ca, sa), lies on intact part
 * surface (label 1) everywhere we sample it (at least every half module). */
static int s_fits(const gc_t *g, double cx, double cy, double ca, double sa, double w,
                  double h, double step)
{
    rv_view_t lab = rv_image_view(g->labels);
    int nx = (int) (w / step) + 1, ny = (int) (h / step) + 1;
    for (int j = 0; j <= ny; j++)
        for (int i = 0; i <= nx; i++) {
            double a = -w / 2 + w * i / nx, b = -h / 2 + h * j / ny;
            double x = cx + a * ca - b * sa, y = cy + a * sa + b * ca;
            int xi = (int) floor(x + 0.5), yi = (int) floor(y + 0.5);
            if (xi < 0 || yi < 0 || xi >= g->w || yi >= g->h)
                return 0;
            if (rv_view_row(&lab, yi)[xi] != RA_LABEL_PART)
                return 0;
        }
    return 1;
}

static void s_paint(gc_t *g, const uint8_t *grid)
{
    ra_gencore_code_t *cd = &g->code;
    rv_view_t rgb = rv_image_view(g->rgb), lab = rv_image_view(g->labels);
    double s, c;
    gc_sincos(cd->angle_deg * GC_PI / 180.0, &s, &c);
    const double m = cd->module_px;
    const double bw = cd->cols + 2 * cd->quiet, bh = cd->rows + 2 * cd->quiet; /* modules */
    double xmin = 1e9, xmax = -1e9, ymin = 1e9, ymax = -1e9;
    for (int k = 0; k < 4; k++) {
        xmin = fmin(xmin, cd->corners[k][0]);
        xmax = fmax(xmax, cd->corners[k][0]);
        ymin = fmin(ymin, cd->corners[k][1]);
        ymax = fmax(ymax, cd->corners[k][1]);
    }
    int x0 = (int) floor(xmin) - 1, x1 = (int) ceil(xmax) + 1;
    int y0 = (int) floor(ymin) - 1, y1 = (int) ceil(ymax) + 1;
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > g->w - 1)
        x1 = g->w - 1;
    if (y1 > g->h - 1)
        y1 = g->h - 1;
    for (int y = y0; y <= y1; y++) {
        uint8_t *p = rv_view_row(&rgb, y), *l = rv_view_row(&lab, y);
        for (int x = x0; x <= x1; x++) {
            int plate = 0, dark = 0, centre_in = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double dx = x + (sx + 0.5) / 4 - 0.5 - cd->centre[0];
                    double dy = y + (sy + 0.5) / 4 - 0.5 - cd->centre[1];
                    double a = (dx * c + dy * s) / m + bw / 2;
                    double b = (-dx * s + dy * c) / m + bh / 2;
                    if (a < 0 || b < 0 || a >= bw || b >= bh)
                        continue;
                    plate++;
                    int mx = (int) a - cd->quiet, my = (int) b - cd->quiet;
                    if (mx >= 0 && my >= 0 && mx < cd->cols && my < cd->rows &&
                        grid[my * cd->cols + mx])
                        dark++;
                }
            {
                double dx = x - cd->centre[0], dy = y - cd->centre[1];
                double a = (dx * c + dy * s) / m + bw / 2, b = (-dx * s + dy * c) / m + bh / 2;
                centre_in = a >= 0 && b >= 0 && a < bw && b < bh;
            }
            if (centre_in)
                l[x] = RA_LABEL_CODE;
            if (!plate)
                continue;
            float lt = gc_light(g, x, y);
            float fp = (float) (plate - dark) / 16.0f, fd = (float) dark / 16.0f;
            /* annealed modules are not perfectly uniform */
            float mod = 40.0f * lt * (0.85f + 0.3f * gc_hash01(x, y, g->tex_seed ^ 0xD0Du));
            for (int ch = 0; ch < 3; ch++) {
                float old = p[3 * x + ch];
                float bright = 0.72f * 212.0f * lt * g->tint[ch] + 0.28f * old;
                float v = old * (1.0f - fp - fd) + bright * fp + mod * fd;
                p[3 * x + ch] = (uint8_t) gc_clampf(v + 0.5f, 0.0f, 255.0f);
            }
        }
    }
}

int gc_code_paint(gc_t *g)
{
    ra_gencore_code_t *cd = &g->code;
    snprintf(cd->text, sizeof cd->text, "S:%s;P:%s", g->serial, g->part_number);
    uint8_t *grid = NULL;
    int rc = s_encode(cd->text, &grid, &cd->rows, &cd->cols);
    if (rc != RV_OK)
        return rc;
    cd->quiet = QUIET_MODULES;
    /* about 200 modules across the short side, never under 4 px: libdmtx 0.7 fails to find
     * ~1 symbol in 20 at 3 - 3.5 px per module, and none in hundreds at 4 px */
    int short_side = g->w < g->h ? g->w : g->h;
    cd->module_px = gc_round(fmax(4.0, short_side / 200.0), 0.01);
    const double m = cd->module_px;
    const double bw = (cd->cols + 2 * cd->quiet) * m, bh = (cd->rows + 2 * cd->quiet) * m;
    gc_rng_t rng;
    gc_rng_init(&rng, g->p.seed, GC_CODE);
    int found = 0;
    for (int tries = 0; tries < 400 && !found; tries++) {
        double u, v, a, x, y, s, c;
        if (tries == 0)
            gc_code_nominal(g, &u, &v, &a); /* the family's marking place, when it fits */
        else
            gc_code_candidate(g, &rng, &u, &v, &a);
        gc_to_pixel(g, u, v, &x, &y);
        double deg = gc_round((a + g->ang) * 180.0 / GC_PI, 0.001);
        while (deg > 180)
            deg -= 360;
        while (deg <= -180)
            deg += 360;
        gc_sincos(deg * GC_PI / 180.0, &s, &c);
        x = gc_round(x, 0.01);
        y = gc_round(y, 0.01);
        /* the quiet zone and 2 px around it on intact surface */
        if (s_fits(g, x, y, c, s, bw + 4, bh + 4, fmax(1.0, m / 2))) {
            found = 1;
            cd->centre[0] = x;
            cd->centre[1] = y;
            cd->angle_deg = deg;
            static const double sx[4] = {-1, 1, 1, -1}, sy[4] = {-1, -1, 1, 1};
            for (int k = 0; k < 4; k++) {
                double da = sx[k] * bw / 2, db = sy[k] * bh / 2;
                cd->corners[k][0] = gc_round(x + da * c - db * s, 0.01);
                cd->corners[k][1] = gc_round(y + da * s + db * c, 0.01);
            }
        }
    }
    if (!found) {
        free(grid);
        return rv_fail(RV_EINVAL, s_domain,
                       "no room for the %dx%d DataMatrix on a %dx%d %s; use a larger size",
                       cd->rows, cd->cols, g->w, g->h, ra_gencore_shape_name(g->p.shape));
    }
    s_paint(g, grid);
    free(grid);
    g->have_code = 1;
    /* the loose box for the census and for keeping defects away: corners plus a margin */
    double xmin = 1e9, xmax = -1e9, ymin = 1e9, ymax = -1e9;
    for (int k = 0; k < 4; k++) {
        xmin = fmin(xmin, cd->corners[k][0]);
        xmax = fmax(xmax, cd->corners[k][0]);
        ymin = fmin(ymin, cd->corners[k][1]);
        ymax = fmax(ymax, cd->corners[k][1]);
    }
    int bx0 = (int) floor(xmin) - 1, by0 = (int) floor(ymin) - 1;
    int bx1 = (int) ceil(xmax) + 2, by1 = (int) ceil(ymax) + 2;
    if (bx0 < 0)
        bx0 = 0;
    if (by0 < 0)
        by0 = 0;
    if (bx1 > g->w)
        bx1 = g->w;
    if (by1 > g->h)
        by1 = g->h;
    int box[4] = {bx0, by0, bx1, by1};
    cd->bbox[0] = bx0;
    cd->bbox[1] = by0;
    cd->bbox[2] = bx1 - bx0;
    cd->bbox[3] = by1 - by0;
    gc_box_add(g, box);
    return RV_OK;
}
