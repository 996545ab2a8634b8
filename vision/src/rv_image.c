/* rv_image.c - owned, 64-byte-aligned pixel buffers and borrowed views. */
#include "rv/rv_image.h"
#include "rv/rv_error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct rv_image {
    rv_view_t view;
    size_t size; /* bytes allocated */
};

int rv_format_is_valid(rv_format_t fmt)
{
    return fmt == RV_GRAY8 || fmt == RV_RGB8;
}

size_t rv_image_stride_for(int width, rv_format_t fmt)
{
    size_t row = (size_t) width * (size_t) fmt;
    return (row + 63u) & ~(size_t) 63u;
}

static int s_check_size(const char *domain, int width, int height, rv_format_t fmt)
{
    if (!rv_format_is_valid(fmt))
        return rv_fail(RV_EINVAL, domain, "unknown pixel format %d", (int) fmt);
    if (width <= 0 || height <= 0)
        return rv_fail(RV_EINVAL, domain, "bad size %dx%d (each side must be at least 1)",
                       width, height);
    if (width > RV_IMAGE_MAX_SIDE || height > RV_IMAGE_MAX_SIDE)
        return rv_fail(RV_ELIMIT, domain, "size %dx%d exceeds the largest side %d", width,
                       height, RV_IMAGE_MAX_SIDE);
    return RV_OK;
}

rv_image_t *rv_image_new(int width, int height, rv_format_t fmt)
{
    if (s_check_size("rv_image_new", width, height, fmt) != RV_OK)
        return NULL;
    rv_image_t *self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    size_t stride = rv_image_stride_for(width, fmt);
    self->size = stride * (size_t) height;
    /* at least 64 bytes so a vector tail may never straddle the allocation's end */
    self->view.data = aligned_alloc(64, self->size);
    if (!self->view.data)
        goto oom;
    self->view.width = width;
    self->view.height = height;
    self->view.stride = (ptrdiff_t) stride;
    self->view.fmt = fmt;
    return self;
oom:
    free(self);
    rv_fail(RV_ENOMEM, "rv_image_new", "cannot allocate %dx%dx%d", width, height, (int) fmt);
    return NULL;
}

rv_image_t *rv_image_new_filled(int width, int height, rv_format_t fmt, uint8_t value)
{
    rv_image_t *self = rv_image_new(width, height, fmt);
    if (self)
        memset(self->view.data, value, self->size);
    return self;
}

void rv_image_destroy(rv_image_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->view.data);
        free(*self_p);
        *self_p = NULL;
    }
}

rv_view_t rv_image_view(const rv_image_t *self)
{
    assert(self);
    return self->view;
}

int rv_image_width(const rv_image_t *self)
{
    return self->view.width;
}

int rv_image_height(const rv_image_t *self)
{
    return self->view.height;
}

int rv_view_roi(const rv_view_t *src, int x, int y, int width, int height, rv_view_t *out)
{
    assert(src && out);
    if (width <= 0 || height <= 0 || x < 0 || y < 0 || x > src->width - width ||
        y > src->height - height)
        return rv_fail(RV_EINVAL, "rv_view_roi", "rectangle %d,%d %dx%d leaves the %dx%d view",
                       x, y, width, height, src->width, src->height);
    out->data = src->data + (ptrdiff_t) y * src->stride + (ptrdiff_t) x * src->fmt;
    out->width = width;
    out->height = height;
    out->stride = src->stride;
    out->fmt = src->fmt;
    return RV_OK;
}

int rv_view_wrap(uint8_t *data, int width, int height, ptrdiff_t stride, rv_format_t fmt,
                 rv_view_t *out)
{
    int rc = s_check_size("rv_view_wrap", width, height, fmt);
    if (rc != RV_OK)
        return rc;
    if (!data)
        return rv_fail(RV_EINVAL, "rv_view_wrap", "no pixel memory");
    if (stride < (ptrdiff_t) width * fmt)
        return rv_fail(RV_EINVAL, "rv_view_wrap", "stride %td is less than a row of %d bytes",
                       stride, width * (int) fmt);
    out->data = data;
    out->width = width;
    out->height = height;
    out->stride = stride;
    out->fmt = fmt;
    return RV_OK;
}

int rv_view_copy(const rv_view_t *src, const rv_view_t *dst)
{
    if (src->width != dst->width || src->height != dst->height || src->fmt != dst->fmt)
        return rv_fail(RV_EINVAL, "rv_view_copy", "size or format differ (%dx%dx%d vs %dx%dx%d)",
                       src->width, src->height, (int) src->fmt, dst->width, dst->height,
                       (int) dst->fmt);
    size_t row = (size_t) src->width * src->fmt;
    for (int y = 0; y < src->height; y++)
        memmove(rv_view_row(dst, y), rv_view_row(src, y), row);
    return RV_OK;
}

int rv_shrink_factor(int w, int h, int tw, int th)
{
    if (w <= 0 || h <= 0 || tw <= 0 || th <= 0)
        return 1;
    int k = w / tw < h / th ? w / tw : h / th;
    return k < 1 ? 1 : k > 16 ? 16 : k;
}

int rv_view_shrink(const rv_view_t *src, const rv_view_t *dst, int k)
{
    const char *domain = "rv_view_shrink";
    if (!src || !dst || !src->data || !dst->data || src->fmt != dst->fmt ||
        !rv_format_is_valid(src->fmt))
        return rv_fail(RV_EINVAL, domain, "needs two views of one format (GRAY8 or RGB8)");
    if (k < 1 || k > 255)
        return rv_fail(RV_EINVAL, domain, "factor %d is not in 1..255", k);
    if (dst->width != src->width / k || dst->height != src->height / k || dst->width < 1 ||
        dst->height < 1)
        return rv_fail(RV_EINVAL, domain, "%dx%d shrunk by %d is %dx%d, not %dx%d", src->width,
                       src->height, k, src->width / k, src->height / k, dst->width, dst->height);
    if (k == 1)
        return rv_view_copy(src, dst);
    int c = (int) src->fmt;
    size_t n = (size_t) dst->width * (size_t) k * (size_t) c; /* bytes of src used per row */
    uint16_t *col = malloc(sizeof *col * n);                  /* k rows summed: <= 255 * 255 */
    if (!col)
        return rv_fail(RV_ENOMEM, domain, "out of memory");
    uint32_t area = (uint32_t) (k * k), half = area / 2;
    /* (s + half) / area as a multiply and a shift (Granlund and Montgomery: exact for every
     * s + half below 2^24, and 255 k^2 + half is below it for k <= 255) */
    int l = 0;
    while ((1u << l) < area)
        l++;
    const uint64_t magic = ((uint64_t) 1 << (24 + l)) / area + 1;
    const int dw = dst->width;
    for (int y = 0; y < dst->height; y++) {
        /* the k rows summed column by column first (contiguous: vectorises), then the k
         * columns of each block, channel by channel */
        const uint8_t *r0 = rv_view_row(src, y * k);
        for (size_t i = 0; i < n; i++)
            col[i] = r0[i];
        for (int dy = 1; dy < k; dy++) {
            const uint8_t *restrict r = rv_view_row(src, y * k + dy);
            uint16_t *restrict cs = col; /* never overlaps a row of src */
            size_t i = 0;
            /* blocks of 16: a trip count the compiler knows, so -O2 vectorises the block */
            for (; i + 16 <= n; i += 16)
                for (size_t j = i; j < i + 16; j++)
                    cs[j] = (uint16_t) (cs[j] + r[j]);
            for (; i < n; i++)
                col[i] = (uint16_t) (col[i] + r[i]);
        }
        uint8_t *d = rv_view_row(dst, y);
        for (int x = 0; x < dw; x++) {
            const uint16_t *b = col + (size_t) x * (size_t) k * (size_t) c;
            for (int ch = 0; ch < c; ch++) {
                uint32_t s = 0;
                for (int dx = 0; dx < k; dx++)
                    s += b[dx * c + ch];
                d[x * c + ch] = (uint8_t) (((uint64_t) (s + half) * magic) >> (24 + l));
            }
        }
    }
    free(col);
    return RV_OK;
}

void rv_view_fill(const rv_view_t *v, uint8_t value)
{
    size_t row = (size_t) v->width * v->fmt;
    for (int y = 0; y < v->height; y++)
        memset(rv_view_row(v, y), value, row);
}
