/* ra_gencore_json.c - the ground truth as "reman.gencore/1" JSON, built with jansson.
 *
 * Every number in the document is the number the renderer used (values are rounded before
 * they are drawn, not after), so a reader can recompute a crack's length from its points
 * or an area from the mask and get the listed value. */
#include "ra_gencore_priv.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ra/ra_version.h"
#include "rv/rv_error.h"

static const char *s_domain = "ra_gencore";

static json_t *s_pair(double a, double b)
{
    return json_pack("[f, f]", a, b);
}

static json_t *s_box(const int b[4])
{
    return json_pack("[i, i, i, i]", b[0], b[1], b[2], b[3]);
}

/* json_object_set_new() that remembers a failure (a NULL value) instead of crashing. */
static void s_set(json_t *obj, const char *key, json_t *value, int *ok)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        *ok = 0;
}

static json_t *s_defect(const gc_t *g, const ra_gencore_defect_t *d, size_t id, int *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    s_set(o, "id", json_integer((json_int_t) id), ok);
    s_set(o, "type", json_string(ra_gencore_defect_name(d->type)), ok);
    s_set(o, "kind", json_string(d->kind), ok);
    s_set(o, "label", json_integer(d->type == RA_DEFECT_CRACK  ? RA_LABEL_CRACK
                                   : d->type == RA_DEFECT_RUST ? RA_LABEL_RUST
                                   : d->type == RA_DEFECT_PIT  ? RA_LABEL_PIT
                                   : d->type == RA_DEFECT_CHIP ? RA_LABEL_CHIP
                                                               : RA_LABEL_WEAR),
          ok);
    s_set(o, "bbox", s_box(d->bbox), ok);
    s_set(o, "area_px", json_integer(d->area_px), ok);
    s_set(o, "area_mm2", json_real(d->area_mm2), ok);
    switch (d->type) {
    case RA_DEFECT_CRACK: {
        s_set(o, "length_px", json_real(d->length_px), ok);
        s_set(o, "length_mm", json_real(d->length_mm), ok);
        s_set(o, "width_px", json_real(d->width_px), ok);
        s_set(o, "width_mm", json_real(d->width_mm), ok);
        json_t *pts = json_array();
        for (int i = 0; pts && i < d->npoints; i++)
            if (json_array_append_new(pts, s_pair(d->points[i][0], d->points[i][1])) != 0)
                *ok = 0;
        s_set(o, "points", pts, ok);
        break;
    }
    case RA_DEFECT_PIT:
        s_set(o, "centre", s_pair(d->centre[0], d->centre[1]), ok);
        s_set(o, "diameter_px", json_real(d->diameter_px), ok);
        s_set(o, "diameter_mm", json_real(d->diameter_mm), ok);
        break;
    case RA_DEFECT_CHIP:
        s_set(o, "centre", s_pair(d->centre[0], d->centre[1]), ok);
        s_set(o, "depth_px", json_real(d->depth_px), ok);
        s_set(o, "depth_mm", json_real(d->depth_mm), ok);
        break;
    case RA_DEFECT_WEAR:
        s_set(o, "centre", s_pair(d->centre[0], d->centre[1]), ok);
        s_set(o, "width_px", json_real(d->width_px), ok);
        s_set(o, "width_mm", json_real(d->width_mm), ok);
        break;
    case RA_DEFECT_RUST:
        s_set(o, "centre", s_pair(d->centre[0], d->centre[1]), ok);
        break;
    }
    (void) g;
    return o;
}

int gc_json_build(gc_t *g)
{
    int ok = 1;
    json_t *root = json_object();
    if (!root)
        return rv_fail(RV_ENOMEM, s_domain, "cannot build the JSON");
    s_set(root, "schema", json_string(RA_GENCORE_SCHEMA), &ok);
    s_set(root, "generator", json_string(ra_version()), &ok);
    s_set(root, "seed", json_integer((json_int_t) g->p.seed), &ok);
    s_set(root, "shape", json_string(ra_gencore_shape_name(g->p.shape)), &ok);
    s_set(root, "family", json_string(g->family), &ok);
    s_set(root, "finish", json_string(g->cast ? "cast" : "machined"), &ok);
    s_set(root, "width", json_integer(g->w), &ok);
    s_set(root, "height", json_integer(g->h), &ok);
    s_set(root, "mm_per_px", json_real(g->mmpp), &ok);
    s_set(root, "serial", json_string(g->serial), &ok);
    s_set(root, "part_number", json_string(g->part_number), &ok);
    s_set(root, "reference", json_boolean(g->p.reference), &ok);
    s_set(root, "canonical", json_boolean(g->p.canonical), &ok);
    s_set(root, "clean", json_boolean(g->ndefects == 0), &ok);
    s_set(root, "jpeg_quality", json_integer(g->p.quality), &ok);

    json_t *part = json_object();
    if (part) {
        s_set(part, "centre", s_pair(gc_round(g->cx, 0.01), gc_round(g->cy, 0.01)), &ok);
        s_set(part, "angle_deg", json_real(gc_round(g->ang * 180.0 / GC_PI, 0.001)), &ok);
        s_set(part, "bbox", s_box(g->part_bbox), &ok);
        s_set(part, "area_px", json_integer(g->part_area_px), &ok);
        s_set(part, "size_mm", s_pair(g->ext_u1 - g->ext_u0, g->ext_v1 - g->ext_v0), &ok);
        if (g->p.shape == RA_GENCORE_SHAFT) /* the true diameter a caliper should read */
            s_set(part, "journal_diameter_mm",
                  json_real(RA_GENCORE_JOURNAL_MM - g->p.journal_wear_mm), &ok);
    }
    s_set(root, "part", part, &ok);

    json_t *labels = json_array(), *counts = json_array();
    for (int i = 0; labels && counts && i < RA_LABEL_COUNT; i++) {
        if (json_array_append_new(labels, json_string(ra_gencore_label_name(i))) != 0 ||
            json_array_append_new(counts, json_integer(g->label_counts[i])) != 0)
            ok = 0;
    }
    s_set(root, "labels", labels, &ok);
    s_set(root, "label_counts", counts, &ok);

    const ra_gencore_code_t *cd = &g->code;
    json_t *code = json_object();
    if (code) {
        s_set(code, "symbology", json_string("datamatrix"), &ok);
        s_set(code, "text", json_string(cd->text), &ok);
        s_set(code, "rows", json_integer(cd->rows), &ok);
        s_set(code, "cols", json_integer(cd->cols), &ok);
        s_set(code, "quiet_modules", json_integer(cd->quiet), &ok);
        s_set(code, "module_px", json_real(cd->module_px), &ok);
        s_set(code, "module_mm", json_real(gc_round(cd->module_px * g->mmpp, 0.001)), &ok);
        s_set(code, "centre", s_pair(cd->centre[0], cd->centre[1]), &ok);
        s_set(code, "angle_deg", json_real(cd->angle_deg), &ok);
        json_t *corners = json_array();
        for (int k = 0; corners && k < 4; k++)
            if (json_array_append_new(corners, s_pair(cd->corners[k][0], cd->corners[k][1])))
                ok = 0;
        s_set(code, "corners", corners, &ok);
        s_set(code, "bbox", s_box(cd->bbox), &ok);
    }
    s_set(root, "code", code, &ok);

    json_t *defects = json_array();
    for (size_t i = 0; defects && i < g->ndefects; i++)
        if (json_array_append_new(defects, s_defect(g, &g->defects[i], i, &ok)) != 0)
            ok = 0;
    s_set(root, "defects", defects, &ok);

    char *text = ok ? json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(root);
    if (!text)
        return rv_fail(RV_ENOMEM, s_domain, "cannot build the JSON");
    size_t n = strlen(text);
    g->json = malloc(n + 2);
    if (!g->json) {
        free(text);
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    }
    memcpy(g->json, text, n);
    g->json[n] = '\n';
    g->json[n + 1] = '\0';
    free(text);
    return RV_OK;
}
