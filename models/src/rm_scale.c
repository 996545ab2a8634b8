/* rm_scale.c - a family file drawn for another camera resolution (rm_family.h). */
#include "rm/rm_family.h"
#include "rv/rv_error.h"

#include <jansson.h>
#include <stdlib.h>

static void s_scale_points(json_t *arr, double f)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_array(v))
            s_scale_points(v, f);
        else if (json_is_number(v))
            json_array_set_new(arr, i, json_real(json_number_value(v) * f));
    }
}

char *rm_family_scaled_text(const char *path, int width, int height)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        rv_fail(RV_EIO, "rm_family", "%s: %s (line %d)", path, err.text, err.line);
        return NULL;
    }
    json_t *view = json_array_get(json_object_get(root, "views"), 0);
    json_int_t w0 = json_integer_value(json_object_get(view, "width"));
    if (!view || w0 <= 0 || width <= 0 || height <= 0) {
        json_decref(root);
        rv_fail(RV_EINVAL, "rm_family", "%s: views[0].width missing, or a size <= 0", path);
        return NULL;
    }
    double f = (double) width / (double) w0;
    json_object_set_new(view, "width", json_integer(width));
    json_object_set_new(view, "height", json_integer(height));
    json_t *cal = json_object_get(root, "calibration");
    json_object_set_new(cal, "mm_per_px",
                        json_real(json_number_value(json_object_get(cal, "mm_per_px")) / f));
    size_t i;
    json_t *z;
    json_array_foreach(json_object_get(root, "zones"), i, z)
    {
        s_scale_points(json_object_get(z, "polygon"), f);
        if (json_object_get(z, "holes"))
            s_scale_points(json_object_get(z, "holes"), f);
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        rv_fail(RV_ENOMEM, "rm_family", "out of memory");
    return text;
}
