/* rv_jpeg.c - JPEG decode/encode through TurboJPEG, with errors that name the problem.
 * TurboJPEG handles are per thread (pthread key, destroyed when the thread ends). */
#include "rv/rv_jpeg.h"
#include "rv/rv_error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

static _Atomic uint64_t s_max_pixels = RV_JPEG_DEFAULT_MAX_PIXELS;

void rv_jpeg_set_max_pixels(uint64_t max_pixels)
{
    atomic_store(&s_max_pixels, max_pixels ? max_pixels : RV_JPEG_DEFAULT_MAX_PIXELS);
}

uint64_t rv_jpeg_max_pixels(void)
{
    return atomic_load(&s_max_pixels);
}

/* --- per-thread handles ------------------------------------------------------------ */

typedef struct {
    tjhandle dec, enc;
} s_handles_t;

static pthread_key_t s_key;
static pthread_once_t s_key_once = PTHREAD_ONCE_INIT;

static void s_handles_free(void *p)
{
    s_handles_t *h = p;
    if (h->dec)
        tjDestroy(h->dec);
    if (h->enc)
        tjDestroy(h->enc);
    free(h);
}

static void s_key_init(void)
{
    pthread_key_create(&s_key, s_handles_free);
}

static s_handles_t *s_handles(void)
{
    pthread_once(&s_key_once, s_key_init);
    s_handles_t *h = pthread_getspecific(s_key);
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h)
            return NULL;
        pthread_setspecific(s_key, h);
    }
    return h;
}

static tjhandle s_decoder(void)
{
    s_handles_t *h = s_handles();
    if (h && !h->dec)
        h->dec = tjInitDecompress();
    return h ? h->dec : NULL;
}

static tjhandle s_encoder(void)
{
    s_handles_t *h = s_handles();
    if (h && !h->enc)
        h->enc = tjInitCompress();
    return h ? h->enc : NULL;
}

/* --- decoding ------------------------------------------------------------------------ */

static int s_check_input(const char *domain, const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return rv_fail(RV_EFORMAT, domain, "empty input (0 bytes)");
    if (len < 4 || buf[0] != 0xFF || buf[1] != 0xD8)
        return rv_fail(RV_EFORMAT, domain, "not a JPEG (no SOI marker FF D8 at the start, %zu bytes)",
                       len);
    if (len > (size_t) 0xFFFFFFFFu)
        return rv_fail(RV_ELIMIT, domain, "input of %zu bytes is larger than 4 GiB", len);
    return RV_OK;
}

int rv_jpeg_read_header(const uint8_t *buf, size_t len, rv_jpeg_info_t *info)
{
    const char *domain = "rv_jpeg_read_header";
    int rc = s_check_input(domain, buf, len);
    if (rc != RV_OK)
        return rc;
    tjhandle tj = s_decoder();
    if (!tj)
        return rv_fail(RV_ENOMEM, domain, "cannot create a TurboJPEG decoder");
    int w = 0, h = 0, samp = 0, cs = 0;
    if (tjDecompressHeader3(tj, buf, (unsigned long) len, &w, &h, &samp, &cs) != 0)
        return rv_fail(RV_EFORMAT, domain, "bad JPEG header: %s", tjGetErrorStr2(tj));
    if (w <= 0 || h <= 0)
        return rv_fail(RV_EFORMAT, domain, "bad JPEG header: size %dx%d", w, h);
    info->width = w;
    info->height = h;
    info->subsampling = samp;
    info->components = (cs == TJCS_GRAY) ? 1 : 3;
    return RV_OK;
}

int rv_jpeg_scaled_size(const rv_jpeg_info_t *info, int denom, int *width, int *height)
{
    if (denom != 1 && denom != 2 && denom != 4 && denom != 8)
        return rv_fail(RV_EINVAL, "rv_jpeg", "scale 1/%d is not one of 1/1, 1/2, 1/4, 1/8", denom);
    tjscalingfactor sf = {1, denom};
    *width = TJSCALED(info->width, sf);
    *height = TJSCALED(info->height, sf);
    return RV_OK;
}

int rv_jpeg_shrink_denom(const rv_jpeg_info_t *info, int tw, int th)
{
    static const int denoms[] = {8, 4, 2};
    for (size_t i = 0; i < sizeof denoms / sizeof denoms[0]; i++) {
        int w = 0, h = 0;
        if (rv_jpeg_scaled_size(info, denoms[i], &w, &h) == RV_OK && w >= tw && h >= th)
            return denoms[i];
    }
    return 1;
}

rv_image_t *rv_jpeg_decode_cover(const uint8_t *buf, size_t len, rv_format_t fmt, int tw, int th,
                                 rv_jpeg_info_t *info, int *denom)
{
    rv_jpeg_info_t hdr;
    if (rv_jpeg_read_header(buf, len, &hdr) != RV_OK)
        return NULL;
    int d = tw > 0 ? rv_jpeg_shrink_denom(&hdr, tw, th) : 1;
    if (info)
        *info = hdr;
    if (denom)
        *denom = d;
    return rv_jpeg_decode(buf, len, fmt, d);
}

/* Header checks shared by both decode entry points: size limit before any allocation. */
static int s_prepare(const char *domain, const uint8_t *buf, size_t len, int denom,
                     rv_jpeg_info_t *info, int *sw, int *sh)
{
    int rc = rv_jpeg_read_header(buf, len, info);
    if (rc != RV_OK)
        return rc;
    uint64_t px = (uint64_t) info->width * (uint64_t) info->height;
    if (px > rv_jpeg_max_pixels())
        return rv_fail(RV_ELIMIT, domain,
                       "image of %dx%d (%.1f MP) exceeds the limit of %.1f MP", info->width,
                       info->height, px / 1e6, rv_jpeg_max_pixels() / 1e6);
    rc = rv_jpeg_scaled_size(info, denom, sw, sh);
    if (rc != RV_OK)
        return rc;
    if (*sw > RV_IMAGE_MAX_SIDE || *sh > RV_IMAGE_MAX_SIDE)
        return rv_fail(RV_ELIMIT, domain, "image side %dx%d exceeds %d", *sw, *sh,
                       RV_IMAGE_MAX_SIDE);
    return RV_OK;
}

static int s_decode(tjhandle tj, const uint8_t *buf, size_t len, const rv_view_t *dst)
{
    int pf = dst->fmt == RV_GRAY8 ? TJPF_GRAY : TJPF_RGB;
    /* TJFLAG_STOPONWARNING: a truncated or partly corrupt image is an error, not a gray
     * smear that could be graded. */
    int flags = TJFLAG_STOPONWARNING;
    if (tjDecompress2(tj, buf, (unsigned long) len, dst->data, dst->width, (int) dst->stride,
                      dst->height, pf, flags) != 0) {
        const char *msg = tjGetErrorStr2(tj);
        const char *kind = strstr(msg, "Premature end") ? "truncated JPEG"
                           : tjGetErrorCode(tj) == TJERR_WARNING ? "corrupt JPEG data"
                                                                  : "JPEG decode failed";
        return rv_fail(RV_EFORMAT, "rv_jpeg_decode", "%s: %s", kind, msg);
    }
    return RV_OK;
}

int rv_jpeg_decode_into(const uint8_t *buf, size_t len, const rv_view_t *dst, int denom)
{
    const char *domain = "rv_jpeg_decode";
    rv_jpeg_info_t info;
    int sw, sh;
    int rc = s_prepare(domain, buf, len, denom, &info, &sw, &sh);
    if (rc != RV_OK)
        return rc;
    if (dst->fmt != RV_GRAY8 && dst->fmt != RV_RGB8)
        return rv_fail(RV_EINVAL, domain, "output format must be gray8 or rgb8");
    if (dst->width != sw || dst->height != sh)
        return rv_fail(RV_EINVAL, domain, "output view is %dx%d, the image decodes to %dx%d",
                       dst->width, dst->height, sw, sh);
    tjhandle tj = s_decoder();
    if (!tj)
        return rv_fail(RV_ENOMEM, domain, "cannot create a TurboJPEG decoder");
    return s_decode(tj, buf, len, dst);
}

rv_image_t *rv_jpeg_decode(const uint8_t *buf, size_t len, rv_format_t fmt, int denom)
{
    const char *domain = "rv_jpeg_decode";
    rv_jpeg_info_t info;
    int sw, sh;
    if (fmt != RV_GRAY8 && fmt != RV_RGB8) {
        rv_fail(RV_EINVAL, domain, "output format must be gray8 or rgb8");
        return NULL;
    }
    if (s_prepare(domain, buf, len, denom, &info, &sw, &sh) != RV_OK)
        return NULL;
    rv_image_t *img = rv_image_new(sw, sh, fmt);
    if (!img)
        return NULL;
    rv_view_t v = rv_image_view(img);
    tjhandle tj = s_decoder();
    if (!tj) {
        rv_fail(RV_ENOMEM, domain, "cannot create a TurboJPEG decoder");
        goto fail;
    }
    if (s_decode(tj, buf, len, &v) != RV_OK)
        goto fail;
    return img;
fail:
    rv_image_destroy(&img);
    return NULL;
}

/* --- encoding ------------------------------------------------------------------------ */

int rv_jpeg_encode(const rv_view_t *src, int quality, uint8_t **out, size_t *out_len)
{
    const char *domain = "rv_jpeg_encode";
    if (!src || !src->data || src->width <= 0 || src->height <= 0)
        return rv_fail(RV_EINVAL, domain, "empty image");
    if (src->fmt != RV_GRAY8 && src->fmt != RV_RGB8)
        return rv_fail(RV_EINVAL, domain, "format must be gray8 or rgb8");
    if (quality < 1 || quality > 100)
        return rv_fail(RV_EINVAL, domain, "quality %d is outside 1..100", quality);
    tjhandle tj = s_encoder();
    if (!tj)
        return rv_fail(RV_ENOMEM, domain, "cannot create a TurboJPEG encoder");
    int pf = src->fmt == RV_GRAY8 ? TJPF_GRAY : TJPF_RGB;
    int samp = src->fmt == RV_GRAY8 ? TJSAMP_GRAY : quality >= 90 ? TJSAMP_444 : TJSAMP_420;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    if (tjCompress2(tj, src->data, src->width, (int) src->stride, src->height, pf, &buf, &size,
                    samp, quality, 0) != 0) {
        tjFree(buf);
        return rv_fail(RV_EBACKEND, domain, "%s", tjGetErrorStr2(tj));
    }
    *out = buf;
    *out_len = size;
    return RV_OK;
}

void rv_jpeg_free(uint8_t **buf_p)
{
    if (buf_p && *buf_p) {
        tjFree(*buf_p);
        *buf_p = NULL;
    }
}

/* --- files ------------------------------------------------------------------------- */

int rv_file_read(const char *path, size_t max_bytes, uint8_t **out, size_t *out_len)
{
    const char *domain = "rv_file_read";
    int rc = RV_OK;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rv_fail(RV_EIO, domain, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = rv_fail(RV_EIO, domain, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t) st.st_size > max_bytes) {
        rc = rv_fail(RV_ELIMIT, domain, "%s: %lld bytes exceeds the limit of %zu", path,
                     (long long) st.st_size, max_bytes);
        goto out;
    }
    size_t n = (size_t) st.st_size;
    buf = malloc(n ? n : 1);
    if (!buf) {
        rc = rv_fail(RV_ENOMEM, domain, "%s: %zu bytes", path, n);
        goto out;
    }
    if (n && fread(buf, 1, n, f) != n) {
        rc = rv_fail(RV_EIO, domain, "%s: short read", path);
        goto out;
    }
    *out = buf;
    *out_len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}
