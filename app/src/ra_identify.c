/* ra_identify.c - DataMatrix part marks through libdmtx. */
#include "ra/ra_identify.h"
#include "rv/rv_error.h"

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

int ra_identify_datamatrix(const rv_view_t *gray, int shrink, int timeout_ms, ra_code_t *out)
{
    const char *domain = "ra_identify";
    if (!gray || gray->fmt != RV_GRAY8 || shrink < 1 || shrink > 4 || timeout_ms <= 0)
        return rv_fail(RV_EINVAL, domain, "needs a gray8 view, shrink 1..4 and a time limit");
    memset(out, 0, sizeof *out);
    /* libdmtx wants a packed buffer; rows of the view may be strided */
    size_t w = (size_t) gray->width, h = (size_t) gray->height;
    unsigned char *buf = malloc(w * h);
    if (!buf)
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    for (size_t y = 0; y < h; y++)
        memcpy(buf + y * w, rv_view_row(gray, (int) y), w);
    int rc = rv_fail(RV_EFORMAT, domain, "no DataMatrix found within %d ms", timeout_ms);
    DmtxImage *img = dmtxImageCreate(buf, (int) w, (int) h, DmtxPack8bppK);
    DmtxDecode *dec = img ? dmtxDecodeCreate(img, shrink) : NULL;
    if (dec) {
        /* every second scan line: halves the search, modules of >= 4 px are still crossed */
        dmtxDecodeSetProp(dec, DmtxPropScanGap, 2);
        DmtxTime limit = dmtxTimeAdd(dmtxTimeNow(), (long) timeout_ms);
        DmtxRegion *reg;
        while ((reg = dmtxRegionFindNext(dec, &limit)) != NULL) {
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
    free(buf);
    return rc;
}
