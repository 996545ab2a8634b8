/* ra_identify.c - part marks: DataMatrix through libdmtx, QR and 1-D barcodes through the
 * OpenCV shim, and typed or wedge-scanned codes. */
#include "ra/ra_identify.h"
#include "cv/rv_cv.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"

#include <dmtx.h>
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

/* One libdmtx search of a packed w x h buffer until limit. RV_OK with out filled. */
static int s_dmtx_search(unsigned char *buf, size_t w, size_t h, int shrink, DmtxTime *limit,
                         ra_code_t *out)
{
    int rc = RV_EFORMAT;
    DmtxImage *img = dmtxImageCreate(buf, (int) w, (int) h, DmtxPack8bppK);
    DmtxDecode *dec = img ? dmtxDecodeCreate(img, shrink) : NULL;
    if (dec) {
        /* every second scan line: halves the search, modules of >= 4 px are still crossed */
        dmtxDecodeSetProp(dec, DmtxPropScanGap, 2);
        DmtxRegion *reg;
        while ((reg = dmtxRegionFindNext(dec, limit)) != NULL) {
            DmtxMessage *msg = dmtxDecodeMatrixRegion(dec, reg, DmtxUndefined);
            if (msg) {
                char text[256];
                size_t n = msg->outputIdx > 0 ? (size_t) msg->outputIdx : 0;
                if (n > sizeof text - 1)
                    n = sizeof text - 1;
                memcpy(text, msg->output, n);
                text[n] = '\0';
                /* corners: libdmtx maps the unit square through fit2raw; y grows upwards */
                DmtxVector2 unit[4] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
                for (int k = 0; k < 4; k++) {
                    DmtxVector2 v = unit[k];
                    dmtxMatrix3VMultiplyBy(&v, reg->fit2raw);
                    out->corners[k][0] = v.X;
                    out->corners[k][1] = (double) h - 1 - v.Y;
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

int ra_identify_datamatrix(const rv_view_t *gray, int shrink, int timeout_ms, ra_code_t *out)
{
    const char *domain = "ra_identify";
    if (!gray || gray->fmt != RV_GRAY8 || shrink < 1 || shrink > 4 || timeout_ms < 0)
        return rv_fail(RV_EINVAL, domain, "needs a gray8 view, shrink 1..4 and a time limit");
    memset(out, 0, sizeof *out);
    /* libdmtx wants a packed buffer; rows of the view may be strided */
    size_t w = (size_t) gray->width, h = (size_t) gray->height;
    unsigned char *buf = malloc(w * h);
    if (!buf)
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    for (size_t y = 0; y < h; y++)
        memcpy(buf + y * w, rv_view_row(gray, (int) y), w);
    /* 0: no time limit, the whole image is searched (deterministic, for tests and for
     * small crops); otherwise a wall-clock limit bounds an unreadable part's cost */
    DmtxTime limit = dmtxTimeAdd(dmtxTimeNow(), (long) timeout_ms);
    DmtxTime *lim = timeout_ms > 0 ? &limit : NULL;
    int rc = s_dmtx_search(buf, w, h, shrink, lim, out);
    if (rc != RV_OK && (!lim || dmtxTimeExceeded(limit) == DmtxFalse)) {
        /* dot-peen marks: round dots that do not touch give libdmtx no solid L finder edge.
         * A minimum filter grows every dark dot by a pixel or two until neighbours merge into
         * modules; tried in the time left, 3 then 5 px (modules of about 4 to 10 px). */
        rv_view_t src, dst;
        unsigned char *tmp = malloc(w * h);
        for (int k = 3;
             tmp && k <= 5 && rc != RV_OK && (!lim || dmtxTimeExceeded(limit) == DmtxFalse);
             k += 2) {
            if (rv_view_wrap(buf, (int) w, (int) h, (ptrdiff_t) w, RV_GRAY8, &src) != RV_OK ||
                rv_view_wrap(tmp, (int) w, (int) h, (ptrdiff_t) w, RV_GRAY8, &dst) != RV_OK)
                break;
            for (size_t y = 0; y < h; y++)
                memcpy(buf + y * w, rv_view_row(gray, (int) y), w);
            if (rv_erode_rect(&src, &dst, k, k) != RV_OK)
                break;
            memset(out, 0, sizeof *out);
            rc = s_dmtx_search(tmp, w, h, shrink, lim, out);
        }
        free(tmp);
    }
    free(buf);
    if (rc != RV_OK) {
        memset(out, 0, sizeof *out);
        if (rc == RV_EFORMAT)
            rc = timeout_ms ? rv_fail(RV_EFORMAT, domain, "no DataMatrix found within %d ms",
                                      timeout_ms)
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

int ra_identify_any(const rv_view_t *gray, int shrink, int timeout_ms, ra_code_t *out)
{
    int rc = ra_identify_datamatrix(gray, shrink, timeout_ms, out);
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
