/* rv_frontend.c - the detection front end over the SIMD kernels. */
#include "rv/rv_frontend.h"
#include "rv/rv_error.h"
#include "rv/rv_filter.h"
#include "rv/rv_point.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { M_GRAY, M_RUST, M_BLUR, M_DARK, M_CHANGE, M_SOBEL, M_EDGES, M_COUNT };
static const char *const s_map_names[M_COUNT] = {"gray", "rust", "blur",
                                                 "dark", "change", "sobel", "edges"};

struct rv_frontend {
    int width, height;
    rv_image_t *img[M_COUNT];
    rv_view_t view[M_COUNT];
};

static double s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void rv_frontend_params_init(rv_frontend_params_t *p)
{
    p->blackhat_diameter = 15;
    p->dark_thr = 24;
    p->rust_thr = 96;
    p->edge_thr = 24;
    p->min_blob_px = 4;
}

rv_frontend_t *rv_frontend_new(int width, int height)
{
    rv_frontend_t *self = calloc(1, sizeof *self);
    if (!self) {
        rv_fail(RV_ENOMEM, "rv_frontend_new", "out of memory");
        return NULL;
    }
    self->width = width;
    self->height = height;
    for (int i = 0; i < M_COUNT; i++) {
        self->img[i] = rv_image_new(width, height, RV_GRAY8);
        if (!self->img[i]) {
            rv_frontend_destroy(&self);
            return NULL; /* rv_image_new said why */
        }
        self->view[i] = rv_image_view(self->img[i]);
    }
    return self;
}

void rv_frontend_destroy(rv_frontend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (int i = 0; i < M_COUNT; i++)
        rv_image_destroy(&(*self_p)->img[i]);
    free(*self_p);
    *self_p = NULL;
}

void rv_frontend_result_free(rv_frontend_result_t *r)
{
    if (!r)
        return;
    rv_blobs_free(&r->dark);
    rv_blobs_free(&r->edges);
}

const rv_view_t *rv_frontend_map(const rv_frontend_t *self, const char *name)
{
    for (int i = 0; i < M_COUNT; i++)
        if (name && strcmp(name, s_map_names[i]) == 0)
            return &self->view[i];
    return NULL;
}

int rv_frontend_run(rv_frontend_t *self, const rv_view_t *rgb, const rv_view_t *lo,
                    const rv_view_t *hi, const rv_frontend_params_t *params,
                    rv_frontend_result_t *out)
{
    const char *domain = "rv_frontend_run";
    memset(out, 0, sizeof *out);
    if (!rgb || rgb->fmt != RV_RGB8)
        return rv_fail(RV_EINVAL, domain, "the input must be an RGB8 view");
    if (rgb->width != self->width || rgb->height != self->height)
        return rv_fail(RV_EINVAL, domain, "input is %dx%d, the front end was made for %dx%d",
                       rgb->width, rgb->height, self->width, self->height);
    if ((lo == NULL) != (hi == NULL))
        return rv_fail(RV_EINVAL, domain, "give both reference band limits or neither");
    rv_frontend_params_t defaults;
    if (!params) {
        rv_frontend_params_init(&defaults);
        params = &defaults;
    }
    rv_view_t *v = self->view;
    int rc;
    double t0 = s_now_ms(), t = t0, t1;
#define STAGE(field, call)                                                                   \
    do {                                                                                     \
        if ((rc = (call)) != RV_OK)                                                          \
            goto fail;                                                                       \
        t1 = s_now_ms();                                                                     \
        out->field = t1 - t;                                                                 \
        t = t1;                                                                              \
    } while (0)

    STAGE(ms_gray_rust, rv_front(rgb, &v[M_GRAY], &v[M_RUST], params->rust_thr, &out->rust_px));
    STAGE(ms_blur, rv_gauss5(&v[M_GRAY], &v[M_BLUR]));
    STAGE(ms_blackhat, rv_blackhat_disc_threshold(&v[M_BLUR], &v[M_DARK],
                                                  params->blackhat_diameter, params->dark_thr,
                                                  &out->dark_px));
    STAGE(ms_dark_blobs, rv_components(&v[M_DARK], 8, params->min_blob_px, &out->dark));
    if (lo) {
        STAGE(ms_change, rv_band_threshold(&v[M_BLUR], lo, hi, &v[M_CHANGE], &out->change_px));
    } else {
        rv_view_fill(&v[M_CHANGE], 0);
    }
    STAGE(ms_edges, rv_sobel_mag(&v[M_BLUR], &v[M_SOBEL]));
    if ((rc = rv_threshold(&v[M_SOBEL], &v[M_EDGES], params->edge_thr, &out->edge_px)) != RV_OK)
        goto fail;
    t1 = s_now_ms();
    out->ms_edges += t1 - t;
    t = t1;
    STAGE(ms_edge_chains, rv_components(&v[M_EDGES], 8, 1, &out->edges));
#undef STAGE
    out->ms_total = s_now_ms() - t0;
    return RV_OK;
fail:
    rv_frontend_result_free(out);
    return rc;
}
