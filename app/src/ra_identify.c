/* ra_identify.c - part marks: DataMatrix through libdmtx, QR and 1-D barcodes through the
 * OpenCV shim, and typed or wedge-scanned codes. */
#include "ra/ra_identify.h"
#include "cv/rv_cv.h"
#include "rv/rv_blobs.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"

#include <dmtx.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ra_code_parse(const char *text, ra_code_t *out)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n >= sizeof out->text)
        return rv_fail(RV_EFORMAT, "ra_code_parse", "code text is empty or longer than %zu bytes",
                       sizeof out->text - 1);
    memset(out->serial, 0, sizeof out->serial);
    memset(out->part_number, 0, sizeof out->part_number);
    snprintf(out->text, sizeof out->text, "%s", text);
    int fields = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        char *dst = NULL;
        size_t cap = 0;
        if (len > 2 && p[1] == ':' && (p[0] == 'S' || p[0] == 's')) {
            dst = out->serial;
            cap = sizeof out->serial;
        } else if (len > 2 && p[1] == ':' && (p[0] == 'P' || p[0] == 'p')) {
            dst = out->part_number;
            cap = sizeof out->part_number;
        }
        if (dst) {
            if (len - 2 >= cap)
                return rv_fail(RV_EFORMAT, "ra_code_parse", "field '%.2s' longer than %zu bytes",
                               p, cap - 1);
            memcpy(dst, p + 2, len - 2);
            dst[len - 2] = '\0';
            fields++;
        }
        p += len + (end ? 1 : 0);
    }
    if (!fields) {
        if (n >= sizeof out->serial)
            return rv_fail(RV_EFORMAT, "ra_code_parse", "code text longer than %zu bytes",
                           sizeof out->serial - 1);
        snprintf(out->serial, sizeof out->serial, "%s", text);
    }
    return RV_OK;
}

/* One libdmtx search of a packed w x h buffer; *left (NULL: no limit) is the number of
 * locations it may still scan, decremented as it goes. RV_OK with out filled (corners in
 * the buffer's pixels). libdmtx scans its grid of locations coarse to fine, and
 * dmtxRegionFindNext returns after each location it scans once its time limit has passed:
 * given a limit already passed, one call is one location, so counting calls bounds the
 * search by work (the same on every machine and under any load), not by the wall clock. */
static int s_dmtx_search(unsigned char *buf, size_t w, size_t h, int shrink, long *left,
                         ra_code_t *out)
{
    int rc = RV_EFORMAT;
    DmtxImage *img = dmtxImageCreate(buf, (int) w, (int) h, DmtxPack8bppK);
    DmtxDecode *dec = img ? dmtxDecodeCreate(img, shrink) : NULL;
    if (dec) {
        /* every second scan line: halves the search, modules of >= 4 px are still crossed */
        dmtxDecodeSetProp(dec, DmtxPropScanGap, 2);
        DmtxTime spent; /* the epoch: always exceeded */
        memset(&spent, 0, sizeof spent);
        while (!left || *left > 0) {
            DmtxRegion *reg = dmtxRegionFindNext(dec, &spent);
            if (left)
                (*left)--;
            if (!reg) {
                /* the grid's finest level is done: the whole buffer was scanned */
                if (dec->grid.extent == 0 || dec->grid.extent < dec->grid.minExtent)
                    break;
                continue;
            }
            DmtxMessage *msg = dmtxDecodeMatrixRegion(dec, reg, DmtxUndefined);
            if (msg) {
                char text[256];
                size_t n = msg->outputIdx > 0 ? (size_t) msg->outputIdx : 0;
                if (n > sizeof text - 1)
                    n = sizeof text - 1;
                memcpy(text, msg->output, n);
                text[n] = '\0';
                /* corners: libdmtx maps the unit square through fit2raw into its grid of
                 * every shrink-th pixel (y grows upwards): in buffer pixels, times shrink
                 * (read at shrink 2, the corners of a 5 MP frame's mark were half as far
                 * from the buffer's origin as they are) */
                DmtxVector2 unit[4] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
                for (int k = 0; k < 4; k++) {
                    DmtxVector2 v = unit[k];
                    dmtxMatrix3VMultiplyBy(&v, reg->fit2raw);
                    out->corners[k][0] = v.X * shrink;
                    out->corners[k][1] = (double) h - 1 - v.Y * shrink;
                }
                rc = ra_code_parse(text, out);
                out->kind = RA_CODE_DATAMATRIX;
                dmtxMessageDestroy(&msg);
                dmtxRegionDestroy(&reg);
                break;
            }
            dmtxRegionDestroy(&reg);
        }
        dmtxDecodeDestroy(&dec);
    }
    if (img)
        dmtxImageDestroy(&img);
    return rc;
}

/* Search the w x h region at (x0, y0) of gray (packed into buf, tmp: scratch of its size)
 * as it is, then with its dark dots grown: dot-peen marks are round dots that do not touch,
 * which give libdmtx no solid L finder edge; a minimum filter grows every dot by a pixel or
 * two until neighbours merge into modules (3 then 5 px: modules of about 4 to 10 px). */
static int s_dmtx_region(const rv_view_t *gray, int x0, int y0, size_t w, size_t h, int shrink,
                         long *left, unsigned char *buf, unsigned char *tmp, ra_code_t *out)
{
    int rc = RV_EFORMAT;
    rv_view_t src, dst; /* the region in gray; tmp packed */
    if (rv_view_wrap(rv_view_row(gray, y0) + x0, (int) w, (int) h, gray->stride, RV_GRAY8,
                     &src) != RV_OK ||
        rv_view_wrap(tmp, (int) w, (int) h, (ptrdiff_t) w, RV_GRAY8, &dst) != RV_OK)
        return rc;
    for (int k = 1; k <= 5 && rc != RV_OK && (!left || *left > 0); k += 2) {
        unsigned char *scan = buf;
        if (k == 1) {
            for (size_t y = 0; y < h; y++)
                memcpy(buf + y * w, rv_view_row(&src, (int) y), w);
        } else {
            if (rv_erode_rect(&src, &dst, k, k) != RV_OK)
                break;
            scan = tmp;
        }
        memset(out, 0, sizeof *out);
        rc = s_dmtx_search(scan, w, h, shrink, left, out);
    }
    if (rc == RV_OK)
        for (int c = 0; c < 4; c++)
            out->corners[c][0] += x0, out->corners[c][1] += y0;
    return rc;
}

/* Where a DataMatrix probably is. A symbol is a square of modules: in each of its blocks
 * (32 px at the search's scale) a tenth of the pixels or more sit on a strong step both
 * across and along the rows. A part's outline, a bore's rim or a machining streak crosses a
 * block as one line (a few percent of its pixels, mostly in one direction), so the blocks
 * that pass gather on the symbol. Each 8-connected group of passing blocks, grown by a
 * block for the quiet zone and the blocks the symbol only grazes, is a window; at most cap
 * windows, the largest groups first, none larger than a quarter of the image. Returns how
 * many, or RV_ENOMEM. */
enum { S_BLOCK = 32, S_STEP = 24, S_WINDOWS = 4 };

static int s_windows(const rv_view_t *gray, int shrink, int win[][4], int cap)
{
    int bs = S_BLOCK * shrink, bw = gray->width / bs, bh = gray->height / bs;
    if (bw < 1 || bh < 1)
        return 0;
    size_t nb = (size_t) bw * bh;
    int *across = calloc(nb, sizeof *across), *along = calloc(nb, sizeof *along);
    rv_image_t *pass = rv_image_new(bw, bh, RV_GRAY8);
    rv_blobs_t groups = {0};
    int n = RV_ENOMEM;
    if (!across || !along || !pass)
        goto done;
    ptrdiff_t st = gray->stride;
    for (int y = 1; y < bh * bs - 1; y++) {
        const uint8_t *r = rv_view_row(gray, y);
        int *ax = across + (size_t) (y / bs) * bw, *ay = along + (size_t) (y / bs) * bw;
        for (int x = 1; x < bw * bs - 1; x++) {
            ax[x / bs] += abs(r[x + 1] - r[x - 1]) > S_STEP;
            ay[x / bs] += abs(r[x + st] - r[x - st]) > S_STEP;
        }
    }
    rv_view_t pv = rv_image_view(pass);
    int need = bs * bs / 10;
    for (int by = 0; by < bh; by++)
        for (int bx = 0; bx < bw; bx++) {
            size_t b = (size_t) by * bw + bx;
            rv_view_row(&pv, by)[bx] = across[b] >= need && along[b] >= need ? 255 : 0;
        }
    if (rv_components(&pv, 8, 1, &groups) != RV_OK)
        goto done;
    for (n = 0; n < cap;) {
        rv_blob_t *g = NULL;
        for (size_t i = 0; i < groups.count; i++)
            if (groups.items[i].area > 0 && (!g || groups.items[i].area > g->area))
                g = &groups.items[i];
        if (!g)
            break;
        g->area = 0;
        int x0 = (g->x0 - 1) * bs, y0 = (g->y0 - 1) * bs;
        int x1 = (g->x1 + 2) * bs, y1 = (g->y1 + 2) * bs;
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > gray->width ? gray->width : x1, y1 = y1 > gray->height ? gray->height : y1;
        if ((double) (x1 - x0) * (y1 - y0) > 0.25 * gray->width * gray->height)
            continue;
        win[n][0] = x0, win[n][1] = y0, win[n][2] = x1 - x0, win[n][3] = y1 - y0;
        n++;
    }
done:
    rv_blobs_free(&groups);
    rv_image_destroy(&pass);
    free(across);
    free(along);
    return n;
}

int ra_identify_datamatrix(const rv_view_t *gray, int shrink, long budget, ra_code_t *out)
{
    const char *domain = "ra_identify";
    if (!gray || gray->fmt != RV_GRAY8 || shrink < 1 || shrink > 4 || budget < 0)
        return rv_fail(RV_EINVAL, domain, "needs a gray8 view, shrink 1..4 and a work budget");
    memset(out, 0, sizeof *out);
    /* libdmtx wants a packed buffer; rows of the view may be strided */
    size_t w = (size_t) gray->width, h = (size_t) gray->height;
    unsigned char *buf = malloc(w * h), *tmp = malloc(w * h);
    if (!buf || !tmp) {
        free(buf);
        free(tmp);
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    }
    /* 0: no limit, the whole image is searched; otherwise budget scan locations in all
     * (about 8 us each on a desktop core of the 2020s) bound an unreadable part's cost */
    long left = budget, *lim = budget > 0 ? &left : NULL;
    int rc = RV_EFORMAT;
    /* first where the symbol probably is (a few ms, and a window is searched in tens of
     * ms where the whole image's coarse-to-fine grid reached some symbols only after
     * seconds); then the whole image */
    int win[S_WINDOWS][4];
    int nw = s_windows(gray, shrink, win, S_WINDOWS);
    if (nw < 0) {
        free(buf);
        free(tmp);
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    }
    for (int i = 0; i < nw && rc != RV_OK && (!lim || left > 0); i++)
        rc = s_dmtx_region(gray, win[i][0], win[i][1], (size_t) win[i][2], (size_t) win[i][3],
                           shrink, lim, buf, tmp, out);
    if (rc != RV_OK && (!lim || left > 0))
        rc = s_dmtx_region(gray, 0, 0, w, h, shrink, lim, buf, tmp, out);
    free(buf);
    free(tmp);
    if (rc != RV_OK) {
        memset(out, 0, sizeof *out);
        if (rc == RV_EFORMAT)
            rc = budget ? rv_fail(RV_EFORMAT, domain,
                                  "no DataMatrix found within %ld scan locations", budget)
                        : rv_fail(RV_EFORMAT, domain, "no DataMatrix found in the image");
    }
    return rc;
}

/* ---- QR and 1-D barcodes through the OpenCV shim, typed codes ------------------------- */

const char *ra_code_kind_name(int kind)
{
    switch (kind) {
    case RA_CODE_DATAMATRIX: return "datamatrix";
    case RA_CODE_QR: return "qr";
    case RA_CODE_EAN13: return "ean13";
    case RA_CODE_EAN8: return "ean8";
    case RA_CODE_UPCA: return "upca";
    case RA_CODE_UPCE: return "upce";
    case RA_CODE_BARCODE: return "barcode";
    case RA_CODE_MANUAL: return "manual";
    case RA_CODE_CODE128: return "code128";
    case RA_CODE_CARRIED: return "carried";
    default: return "unknown";
    }
}

static int s_kind_from_cv(int k)
{
    switch (k) {
    case RV_CV_CODE_QR: return RA_CODE_QR;
    case RV_CV_CODE_EAN13: return RA_CODE_EAN13;
    case RV_CV_CODE_EAN8: return RA_CODE_EAN8;
    case RV_CV_CODE_UPCA: return RA_CODE_UPCA;
    case RV_CV_CODE_UPCE: return RA_CODE_UPCE;
    default: return RA_CODE_BARCODE;
    }
}

/* The first decoded code of a shim result that parses. */
static int s_from_codes(const rv_cv_codes_t *codes, ra_code_t *out, const char *what)
{
    for (int i = 0; i < codes->count; i++) {
        const rv_cv_code_t *c = &codes->items[i];
        char text[64];
        const char *t = c->text;
        int kind = s_kind_from_cv(c->kind);
        if (kind == RA_CODE_UPCA && c->len == 12) {
            /* a UPC-A is the EAN-13 with a leading 0, and decoders report either for the
             * same label: one form (GTIN-13) so that one label always reads the same */
            snprintf(text, sizeof text, "0%s", c->text);
            t = text;
            kind = RA_CODE_EAN13;
        }
        if (ra_code_parse(t, out) != RV_OK)
            continue;
        out->kind = kind;
        for (int k = 0; k < 4; k++) {
            out->corners[k][0] = c->corners[k].x;
            out->corners[k][1] = c->corners[k].y;
        }
        return RV_OK;
    }
    return rv_fail(RV_EFORMAT, "ra_identify", "no %s found", what);
}

int ra_identify_qr(const rv_view_t *view, ra_code_t *out)
{
    if (!out)
        return rv_fail(RV_EINVAL, "ra_identify_qr", "output is NULL");
    memset(out, 0, sizeof *out);
    rv_cv_codes_t codes = {0};
    int rc = rv_cv_decode_qr(view, &codes);
    if (rc == RV_OK)
        rc = s_from_codes(&codes, out, "QR code");
    rv_cv_codes_free(&codes);
    return rc;
}

int ra_identify_barcode(const rv_view_t *view, ra_code_t *out)
{
    if (!out)
        return rv_fail(RV_EINVAL, "ra_identify_barcode", "output is NULL");
    memset(out, 0, sizeof *out);
    rv_cv_codes_t codes = {0};
    int rc = rv_cv_decode_barcodes(view, &codes);
    if (rc == RV_OK)
        rc = s_from_codes(&codes, out, "barcode");
    rv_cv_codes_free(&codes);
    return rc;
}

void ra_code_unscale(ra_code_t *code, int scale)
{
    for (int k = 0; k < 4 && scale > 1; k++)
        for (int j = 0; j < 2; j++)
            code->corners[k][j] = code->corners[k][j] * scale + (scale - 1) / 2.0;
}

int ra_identify_any(const rv_view_t *gray, int shrink, long budget, ra_code_t *out)
{
    int rc = ra_identify_datamatrix(gray, shrink, budget, out);
    if (rc == RV_OK || rc == RV_EINVAL)
        return rc;
    if (ra_identify_qr(gray, out) == RV_OK || ra_identify_barcode(gray, out) == RV_OK ||
        ra_identify_code128(gray, out) == RV_OK)
        return RV_OK;
    memset(out, 0, sizeof *out);
    return rv_fail(RV_EFORMAT, "ra_identify", "no DataMatrix, QR code or barcode found");
}

int ra_identify_manual(const char *line, ra_code_t *out)
{
    static const char *domain = "ra_identify_manual";
    if (!line || !out)
        return rv_fail(RV_EINVAL, domain, "line or output is NULL");
    memset(out, 0, sizeof *out);
    char buf[sizeof out->text];
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                 line[n - 1] == '\t'))
        n--;
    while (n && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    int kind = RA_CODE_MANUAL;
    /* AIM identifier: ']' + symbology letter + modifier digit (ISO/IEC 15424) */
    if (n >= 3 && line[0] == ']') {
        switch (line[1]) {
        case 'd': kind = RA_CODE_DATAMATRIX; break;
        case 'Q': kind = RA_CODE_QR; break;
        case 'E': kind = RA_CODE_EAN13; break;
        case 'C': kind = RA_CODE_CODE128; break;
        default: kind = RA_CODE_BARCODE; break;
        }
        line += 3;
        n -= 3;
    }
    if (n == 0 || n >= sizeof buf)
        return rv_fail(RV_EFORMAT, domain, "code is empty or longer than %zu bytes",
                       sizeof buf - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) line[i];
        if (ch == 0x1D)
            ch = ';'; /* GS: the scanner's field separator */
        else if (ch < 0x20 || ch == 0x7F)
            return rv_fail(RV_EFORMAT, domain, "control character 0x%02X at %zu", ch, i);
        buf[i] = (char) ch;
    }
    buf[n] = '\0';
    int rc = ra_code_parse(buf, out);
    if (rc == RV_OK)
        out->kind = kind;
    return rc;
}

int ra_code_located(const ra_code_t *code)
{
    if (!code)
        return 0;
    double area = 0; /* the quad's area, shoelace */
    for (int k = 0; k < 4; k++) {
        const double *p = code->corners[k], *q = code->corners[(k + 1) % 4];
        area += p[0] * q[1] - q[0] * p[1];
    }
    return fabs(area) / 2 >= 1.0;
}
