/* rm_family.c - loading and validating a part-family file (schema "reman.family/1").
 *
 * jansson decodes the text; this file checks the decoded tree field by field and copies
 * it into a flat, immutable rm_family_t. Every check that fails names the JSON path and
 * the line where the offending value (or key) starts, found by rm_locate_line() on the
 * raw text. Unknown keys are refused in every object, so a misspelt field is an error,
 * never a silently ignored rule. The file format is documented in docs/models.md. */
#include "rm_family_priv.h"
#include "rm_locate.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rv/rv_error.h"

#define S_DOMAIN "rm_family"
#define S_MAX_DEPTH 12    /* deepest path the schema has: zones[i].holes[j][k][0] */
#define S_REF_FILE_MAX 200 /* bytes of the reference file's relative path */
#define S_NOTE_MAX 1024    /* bytes of free-text notes and the description */
#define S_NUM_MAX 1e6      /* largest magnitude of a limit or guard, in any unit */
#define S_MAX_PLACEHOLDERS 4

static _Thread_local int s_load_status;

const char *const rm_measure_names[RM_NMEASURES] = {
    "length_mm", "width_mm", "area_mm2", "zone_pct", "diameter_mm", "value_mm", "count", "score"};

static const char *const s_crit_names[RM_NCRITICALITIES] = {"critical", "mating", "cosmetic"};
static const char *const s_agg_names[] = {"max", "min", "sum", "count"};
static const char *const s_op_names[] = {">", ">=", "<", "<="};

/* The measures that make sense per finding type (index RV_FINDING_NTYPES: "any"); a
 * rule asking a crack for its diameter would read a zero forever, so it is refused. */
#define S_MB(m) (1u << (m))
static const unsigned s_measures_for[RV_FINDING_NTYPES + 1] = {
    [RV_FINDING_CRACK] = S_MB(RM_M_LENGTH) | S_MB(RM_M_WIDTH) | S_MB(RM_M_AREA) |
                         S_MB(RM_M_ZONE_PCT) | S_MB(RM_M_COUNT) | S_MB(RM_M_SCORE),
    [RV_FINDING_CORROSION] = S_MB(RM_M_AREA) | S_MB(RM_M_ZONE_PCT) | S_MB(RM_M_COUNT) |
                             S_MB(RM_M_SCORE),
    [RV_FINDING_PIT] = S_MB(RM_M_DIAMETER) | S_MB(RM_M_AREA) | S_MB(RM_M_COUNT) |
                       S_MB(RM_M_SCORE),
    [RV_FINDING_MISSING] = S_MB(RM_M_AREA) | S_MB(RM_M_ZONE_PCT) | S_MB(RM_M_COUNT) |
                           S_MB(RM_M_SCORE),
    [RV_FINDING_WEAR] = S_MB(RM_M_AREA) | S_MB(RM_M_ZONE_PCT) | S_MB(RM_M_COUNT) |
                        S_MB(RM_M_SCORE),
    [RV_FINDING_DIMENSION] = S_MB(RM_M_VALUE) | S_MB(RM_M_COUNT) | S_MB(RM_M_SCORE),
    [RV_FINDING_NTYPES] = S_MB(RM_M_AREA) | S_MB(RM_M_ZONE_PCT) | S_MB(RM_M_COUNT) |
                          S_MB(RM_M_SCORE),
};

/* ---- validation context: the path being checked and the error that names it ---------- */

typedef struct s_ctx {
    const char *text;
    size_t len;
    const char *origin;
    rm_seg_t path[S_MAX_DEPTH];
    size_t depth;
} s_ctx_t;

static void s_push_key(s_ctx_t *c, const char *key)
{
    if (c->depth < S_MAX_DEPTH)
        c->path[c->depth] = (rm_seg_t) {key, 0};
    c->depth++;
}

static void s_push_index(s_ctx_t *c, size_t index)
{
    if (c->depth < S_MAX_DEPTH)
        c->path[c->depth] = (rm_seg_t) {NULL, index};
    c->depth++;
}

static void s_pop(s_ctx_t *c)
{
    c->depth--;
}

/* Record "origin: path: problem (line N)"; at_key points the line at the member's key
 * (an unknown key) rather than its value. Returns RV_EFORMAT. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int s_err(s_ctx_t *c, int at_key, const char *fmt, ...)
{
    char path[256], msg[256];
    size_t n = 0, depth = c->depth < S_MAX_DEPTH ? c->depth : S_MAX_DEPTH;
    path[0] = '\0';
    for (size_t i = 0; i < depth && n < sizeof path; i++) {
        int k = c->path[i].key
                    ? snprintf(path + n, sizeof path - n, "%s%s", i ? "." : "", c->path[i].key)
                    : snprintf(path + n, sizeof path - n, "[%zu]", c->path[i].index);
        if (k < 0)
            break;
        n += (size_t) k;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = rm_locate_line(c->text, c->len, c->path, depth, at_key);
    return rv_fail(RV_EFORMAT, S_DOMAIN, "%s: %s: %s (line %d)", c->origin,
                   depth ? path : "(document)", msg, line);
}

static const char *s_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Refuse members of obj not in allowed (NULL-terminated), in file order. */
static int s_keys(s_ctx_t *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            s_push_key(c, key);
            int rc = s_err(c, 1, "unknown key");
            s_pop(c);
            return rc;
        }
    }
    return RV_OK;
}

/* The member key of obj in *out: a missing required member is an error, a missing
 * optional one gives NULL. JSON null counts as missing only when null_ok. */
static int s_member(s_ctx_t *c, json_t *obj, const char *key, int required, json_t **out)
{
    *out = json_object_get(obj, key);
    if (*out)
        return RV_OK;
    if (!required)
        return RV_OK;
    s_push_key(c, key);
    int rc = s_err(c, 0, "missing");
    s_pop(c);
    return rc;
}

/* The value at the top of the path must be of a type; says what it is otherwise. */
static int s_want(s_ctx_t *c, json_t *v, int ok, const char *what)
{
    return ok ? RV_OK : s_err(c, 0, "expected %s, not %s", what, s_type_name(v));
}

typedef enum s_charset {
    S_CS_ID,      /* a-z 0-9 then a-z 0-9 . _ - */
    S_CS_CODE,    /* A-Z 0-9 then A-Z 0-9 _ - */
    S_CS_KEY,     /* a-z then a-z 0-9 _ */
    S_CS_PATTERN, /* A-Z a-z 0-9 - _ . / ? # * */
    S_CS_PATH,    /* A-Z a-z 0-9 - _ . / */
    S_CS_TEXT     /* UTF-8 without control characters */
} s_charset_t;

static int s_char_ok(s_charset_t cs, unsigned char ch, int first)
{
    int lower = ch >= 'a' && ch <= 'z', upper = ch >= 'A' && ch <= 'Z';
    int digit = ch >= '0' && ch <= '9';
    switch (cs) {
    case S_CS_ID:
        return lower || digit || (!first && (ch == '.' || ch == '_' || ch == '-'));
    case S_CS_CODE:
        return upper || digit || (!first && (ch == '_' || ch == '-'));
    case S_CS_KEY:
        return lower || (!first && (digit || ch == '_'));
    case S_CS_PATTERN:
        return lower || upper || digit || strchr("-_./?#*", ch) != NULL;
    case S_CS_PATH:
        return lower || upper || digit || strchr("-_./", ch) != NULL;
    case S_CS_TEXT:
        return ch >= 0x20 && ch != 0x7f;
    }
    return 0;
}

static const char *const s_cs_what[] = {
    "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
    "upper-case letters, digits, '_' and '-', starting with a letter or digit",
    "lower-case letters, digits and '_', starting with a letter",
    "letters, digits, '-', '_', '.', '/' and the wildcards '?', '#', '*'",
    "letters, digits, '-', '_', '.' and '/'",
    "text without control characters"};

/* A string value (top of path) of 1..size-1 bytes in a charset, copied to dst. */
static int s_str_value(s_ctx_t *c, json_t *v, s_charset_t cs, char *dst, size_t size)
{
    int rc = s_want(c, v, json_is_string(v), "a string");
    if (rc)
        return rc;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0)
        return s_err(c, 0, "must not be empty");
    if (n >= size)
        return s_err(c, 0, "too long: %zu bytes, at most %zu", n, size - 1);
    for (size_t i = 0; i < n; i++)
        if (!s_char_ok(cs, (unsigned char) s[i], i == 0))
            return s_err(c, 0, "may hold only %s", s_cs_what[cs]);
    memcpy(dst, s, n + 1);
    return RV_OK;
}

static int s_str(s_ctx_t *c, json_t *obj, const char *key, int required, s_charset_t cs,
                 char *dst, size_t size)
{
    json_t *v;
    int rc = s_member(c, obj, key, required, &v);
    if (rc || !v)
        return rc;
    s_push_key(c, key);
    rc = s_str_value(c, v, cs, dst, size);
    s_pop(c);
    return rc;
}

/* A finite number value in [lo, hi] (top of path). */
static int s_num_value(s_ctx_t *c, json_t *v, double lo, double hi, double *dst)
{
    int rc = s_want(c, v, json_is_number(v), "a number");
    if (rc)
        return rc;
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi)
        return s_err(c, 0, "%g is out of range [%g, %g]", x, lo, hi);
    *dst = x;
    return RV_OK;
}

static int s_num(s_ctx_t *c, json_t *obj, const char *key, int required, double lo, double hi,
                 double *dst)
{
    json_t *v;
    int rc = s_member(c, obj, key, required, &v);
    if (rc || !v)
        return rc;
    s_push_key(c, key);
    rc = s_num_value(c, v, lo, hi, dst);
    s_pop(c);
    return rc;
}

static int s_int(s_ctx_t *c, json_t *obj, const char *key, long long lo, long long hi, int *dst)
{
    json_t *v;
    int rc = s_member(c, obj, key, 1, &v);
    if (rc)
        return rc;
    s_push_key(c, key);
    rc = s_want(c, v, json_is_integer(v), "an integer");
    if (!rc) {
        long long x = json_integer_value(v);
        if (x < lo || x > hi)
            rc = s_err(c, 0, "%lld is out of range [%lld, %lld]", x, lo, hi);
        else
            *dst = (int) x;
    }
    s_pop(c);
    return rc;
}

/* A string member that must be one of names[0..n): its index in *dst. */
static int s_enum(s_ctx_t *c, json_t *obj, const char *key, int required,
                  const char *const *names, size_t n, int *dst)
{
    json_t *v;
    int rc = s_member(c, obj, key, required, &v);
    if (rc || !v)
        return rc;
    s_push_key(c, key);
    rc = s_want(c, v, json_is_string(v), "a string");
    if (!rc) {
        const char *s = json_string_value(v);
        rc = RV_EFORMAT;
        for (size_t i = 0; i < n; i++)
            if (strcmp(s, names[i]) == 0) {
                *dst = (int) i;
                rc = RV_OK;
            }
        if (rc) {
            char list[256];
            size_t k = 0;
            list[0] = '\0';
            for (size_t i = 0; i < n && k < sizeof list; i++) {
                int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", names[i]);
                if (w < 0)
                    break;
                k += (size_t) w;
            }
            rc = s_err(c, 0, "\"%.40s\" is not one of %s", s, list);
        }
    }
    s_pop(c);
    return rc;
}

/* An array member with nmin..nmax elements (top of path is the member afterwards). */
static int s_array(s_ctx_t *c, json_t *v, size_t nmin, size_t nmax, const char *what)
{
    int rc = s_want(c, v, json_is_array(v), "an array");
    if (rc)
        return rc;
    size_t n = json_array_size(v);
    if (n < nmin)
        return s_err(c, 0, "needs at least %zu %s", nmin, what);
    if (n > nmax)
        return s_err(c, 0, "too many %s: %zu, at most %zu", what, n, nmax);
    return RV_OK;
}

/* ---- pieces of the file --------------------------------------------------------------- */

static int s_patterns(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    json_t *arr;
    int rc = s_member(c, root, "part_numbers", 1, &arr);
    if (rc)
        return rc;
    s_push_key(c, "part_numbers");
    rc = s_array(c, arr, 1, RM_MAX_PATTERNS, "patterns");
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        s_push_index(c, i);
        rc = s_str_value(c, json_array_get(arr, i), S_CS_PATTERN, f->patterns[i], RM_PN_SIZE);
        for (size_t j = 0; !rc && j < i; j++)
            if (strcmp(f->patterns[j], f->patterns[i]) == 0)
                rc = s_err(c, 0, "\"%s\" listed twice", f->patterns[i]);
        s_pop(c);
        f->npatterns = i + 1;
    }
    s_pop(c);
    return rc;
}

/* A view's optional "align" object (top of path: the view). */
static int s_view_align(s_ctx_t *c, json_t *view, rm_view_align_t *a)
{
    static const char *const keys[] = {"motion",         "solid",      "rotation",
                                       "scale",          "max_axis_ratio", "work_width",
                                       "min_overlap",    "max_residual_px", "blind_holes",
                                       NULL};
    static const char *const motions[] = {"rigid", "affine"};
    a->affine = 0;
    a->solid = 0;
    a->blind_holes = 0;
    a->rotation = 1;
    a->min_scale = 0.8;
    a->max_scale = 1.25;
    a->max_aniso = 1.5;
    a->work_width = 512;
    a->min_overlap = 0.85;
    a->max_residual = 0.5;
    json_t *al, *v = NULL;
    int rc = s_member(c, view, "align", 0, &al);
    if (rc || !al)
        return rc;
    s_push_key(c, "align");
    rc = s_want(c, al, json_is_object(al), "an object");
    if (!rc)
        rc = s_keys(c, al, keys);
    if (!rc)
        rc = s_enum(c, al, "motion", 0, motions, 2, &a->affine);
    if (!rc)
        rc = s_member(c, al, "solid", 0, &v);
    if (!rc && v) {
        s_push_key(c, "solid");
        rc = s_want(c, v, json_is_boolean(v), "true or false");
        s_pop(c);
        a->solid = json_is_true(v);
    }
    if (!rc)
        rc = s_member(c, al, "blind_holes", 0, &v);
    if (!rc && v) {
        s_push_key(c, "blind_holes");
        rc = s_want(c, v, json_is_boolean(v), "true or false");
        s_pop(c);
        a->blind_holes = json_is_true(v);
    }
    if (!rc)
        rc = s_member(c, al, "rotation", 0, &v);
    if (!rc && v) {
        s_push_key(c, "rotation");
        rc = s_want(c, v, json_is_boolean(v), "true or false");
        s_pop(c);
        a->rotation = json_is_true(v);
    }
    if (!rc)
        rc = s_member(c, al, "scale", 0, &v);
    if (!rc && v) {
        s_push_key(c, "scale");
        rc = s_want(c, v, json_is_array(v) && json_array_size(v) == 2, "an array [min, max]");
        for (size_t i = 0; !rc && i < 2; i++) {
            s_push_index(c, i);
            rc = s_num_value(c, json_array_get(v, i), i ? 1.0 : 0.1, i ? 10.0 : 1.0,
                             i ? &a->max_scale : &a->min_scale);
            s_pop(c);
        }
        s_pop(c);
    }
    if (!rc)
        rc = s_num(c, al, "max_axis_ratio", 0, 1.0, 4.0, &a->max_aniso);
    if (!rc)
        rc = s_num(c, al, "min_overlap", 0, 0.5, 0.99, &a->min_overlap);
    if (!rc)
        rc = s_num(c, al, "max_residual_px", 0, 0.0, 10.0, &a->max_residual);
    if (!rc && json_object_get(al, "work_width"))
        rc = s_int(c, al, "work_width", 64, 4096, &a->work_width);
    s_pop(c);
    return rc;
}

static int s_views(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    static const char *const keys[] = {"name", "width", "height", "align", NULL};
    json_t *arr;
    int rc = s_member(c, root, "views", 1, &arr);
    if (rc)
        return rc;
    s_push_key(c, "views");
    rc = s_array(c, arr, 1, RM_MAX_VIEWS, "views");
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        rm_view_def_t *vd = &f->views[i];
        s_push_index(c, i);
        rc = s_want(c, v, json_is_object(v), "an object");
        if (!rc)
            rc = s_keys(c, v, keys);
        if (!rc)
            rc = s_str(c, v, "name", 1, S_CS_ID, vd->name, sizeof vd->name);
        if (!rc)
            rc = s_int(c, v, "width", 1, RM_MAX_VIEW_SIDE, &vd->width);
        if (!rc)
            rc = s_int(c, v, "height", 1, RM_MAX_VIEW_SIDE, &vd->height);
        if (!rc)
            rc = s_view_align(c, v, &vd->align);
        for (size_t j = 0; !rc && j < i; j++)
            if (strcmp(f->views[j].name, vd->name) == 0) {
                s_push_key(c, "name");
                rc = s_err(c, 0, "\"%s\" is already views[%zu]", vd->name, j);
                s_pop(c);
            }
        s_pop(c);
        f->nviews = i + 1;
    }
    s_pop(c);
    return rc;
}

static int s_calibration(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    static const char *const keys[] = {"mm_per_px", "record", "note", NULL};
    json_t *cal, *note = NULL;
    int rc = s_member(c, root, "calibration", 1, &cal);
    if (rc)
        return rc;
    s_push_key(c, "calibration");
    rc = s_want(c, cal, json_is_object(cal), "an object");
    if (!rc)
        rc = s_keys(c, cal, keys);
    if (!rc)
        rc = s_num(c, cal, "mm_per_px", 0, 1e-9, 1000.0, &f->mm_per_px);
    if (!rc)
        rc = s_str(c, cal, "record", 0, S_CS_ID, f->cal_record, sizeof f->cal_record);
    if (!rc && (f->mm_per_px > 0) == (f->cal_record[0] != '\0')) {
        if (f->mm_per_px > 0)
            s_push_key(c, "record");
        rc = s_err(c, 0, f->mm_per_px > 0 ? "give mm_per_px or a calibration record, not both"
                                          : "needs mm_per_px or a calibration record");
        if (f->mm_per_px > 0)
            s_pop(c);
    }
    if (!rc)
        rc = s_member(c, cal, "note", 0, &note);
    if (!rc && note) {
        char buf[S_NOTE_MAX];
        s_push_key(c, "note");
        rc = s_str_value(c, note, S_CS_TEXT, buf, sizeof buf);
        s_pop(c);
    }
    s_pop(c);
    return rc;
}

/* One ring of points (top of path): 3..RM_MAX_POINTS pairs inside the view, some area. */
static int s_ring(s_ctx_t *c, json_t *arr, const rm_view_def_t *view, rm_ring_t *ring)
{
    int rc = s_array(c, arr, 3, RM_MAX_POINTS, "points");
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    ring->pts = calloc(n, sizeof *ring->pts);
    if (!ring->pts)
        return rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
    ring->n = n;
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *p = json_array_get(arr, i);
        s_push_index(c, i);
        rc = s_want(c, p, json_is_array(p) && json_array_size(p) == 2, "an [x, y] pair");
        for (size_t k = 0; !rc && k < 2; k++) {
            s_push_index(c, k);
            rc = s_num_value(c, json_array_get(p, k), 0.0,
                             k == 0 ? (double) view->width : (double) view->height,
                             &ring->pts[i][k]);
            s_pop(c);
        }
        s_pop(c);
    }
    if (rc)
        return rc;
    /* some area: not every point on one line (a self-intersecting ring such as a bow tie
     * may have a zero signed area and still cover pixels, so the shoelace sum won't do) */
    const double *p0 = ring->pts[0], *p1 = NULL;
    int flat = 1;
    for (size_t i = 1; i < n && flat; i++) {
        const double *p = ring->pts[i];
        if (!p1) {
            if (p[0] != p0[0] || p[1] != p0[1])
                p1 = p;
        } else if ((p1[0] - p0[0]) * (p[1] - p0[1]) - (p1[1] - p0[1]) * (p[0] - p0[0]) != 0) {
            flat = 0;
        }
    }
    if (flat)
        return s_err(c, 0, "has no area (the points lie on a line)");
    return RV_OK;
}

static int s_detectors(s_ctx_t *c, json_t *det, rm_zone_t *z)
{
    int rc = s_want(c, det, json_is_object(det), "an object");
    const char *name;
    json_t *params;
    json_object_foreach(det, name, params) {
        if (rc)
            break;
        s_push_key(c, name);
        int type = rv_finding_type_parse(name);
        if (type < 0)
            rc = s_err(c, 1, "unknown detector (crack, corrosion, pit, missing, wear, "
                             "dimension)");
        if (!rc)
            rc = s_want(c, params, json_is_object(params), "an object");
        if (!rc && json_object_size(params) > RM_MAX_PARAMS)
            rc = s_err(c, 0, "too many parameters: %zu, at most %d",
                       json_object_size(params), RM_MAX_PARAMS);
        const char *key;
        json_t *val;
        json_object_foreach(params, key, val) {
            if (rc)
                break;
            s_push_key(c, key);
            size_t k = z->nparams[type];
            rm_param_t *p = &z->params[type][k];
            size_t kl = strlen(key);
            int ok = kl > 0 && kl < RM_KEY_SIZE;
            for (size_t i = 0; ok && i < kl; i++)
                ok = s_char_ok(S_CS_KEY, (unsigned char) key[i], i == 0);
            if (!ok)
                rc = s_err(c, 1, "a parameter name has 1..%d of %s", RM_KEY_SIZE - 1,
                           s_cs_what[S_CS_KEY]);
            if (!rc)
                rc = s_num_value(c, val, -S_NUM_MAX, S_NUM_MAX, &p->value);
            if (!rc) {
                memcpy(p->key, key, kl + 1);
                z->nparams[type] = k + 1;
            }
            s_pop(c);
        }
        s_pop(c);
    }
    return rc;
}

static int s_zone(s_ctx_t *c, json_t *zv, rm_family_t *f, size_t index)
{
    static const char *const keys[] = {"name",  "name_zh",   "view", "criticality",
                                       "polygon", "holes", "detectors", NULL};
    rm_zone_t *z = &f->zones[index];
    int rc = s_want(c, zv, json_is_object(zv), "an object");
    if (!rc)
        rc = s_keys(c, zv, keys);
    if (!rc)
        rc = s_str(c, zv, "name", 1, S_CS_ID, z->name, sizeof z->name);
    for (size_t j = 0; !rc && j < index; j++)
        if (strcmp(f->zones[j].name, z->name) == 0) {
            s_push_key(c, "name");
            rc = s_err(c, 0, "\"%s\" is already zones[%zu]", z->name, j);
            s_pop(c);
        }
    z->name_zh[0] = '\0';
    if (!rc)
        rc = s_str(c, zv, "name_zh", 0, S_CS_TEXT, z->name_zh, sizeof z->name_zh);
    char view[RM_ID_SIZE] = "";
    if (!rc)
        rc = s_str(c, zv, "view", 0, S_CS_ID, view, sizeof view);
    z->view = 0;
    if (!rc && view[0]) {
        size_t v = 0;
        while (v < f->nviews && strcmp(f->views[v].name, view) != 0)
            v++;
        if (v == f->nviews) {
            s_push_key(c, "view");
            rc = s_err(c, 0, "no view is named \"%s\"", view);
            s_pop(c);
        }
        z->view = v;
    }
    int crit = 0;
    if (!rc)
        rc = s_enum(c, zv, "criticality", 1, s_crit_names, RM_NCRITICALITIES, &crit);
    z->criticality = (rm_criticality_t) crit;
    json_t *poly = NULL, *holes = NULL, *det = NULL;
    if (!rc)
        rc = s_member(c, zv, "polygon", 1, &poly);
    if (!rc) {
        s_push_key(c, "polygon");
        rc = s_ring(c, poly, &f->views[z->view], &z->rings[0]);
        z->nrings = 1;
        s_pop(c);
    }
    if (!rc)
        rc = s_member(c, zv, "holes", 0, &holes);
    if (!rc && holes) {
        s_push_key(c, "holes");
        rc = s_array(c, holes, 0, RM_MAX_RINGS - 1, "holes");
        for (size_t i = 0; !rc && i < json_array_size(holes); i++) {
            s_push_index(c, i);
            rc = s_ring(c, json_array_get(holes, i), &f->views[z->view], &z->rings[i + 1]);
            z->nrings = i + 2;
            s_pop(c);
        }
        s_pop(c);
    }
    if (!rc)
        rc = s_member(c, zv, "detectors", 0, &det);
    if (!rc && det) {
        s_push_key(c, "detectors");
        rc = s_detectors(c, det, z);
        s_pop(c);
    }
    return rc;
}

static int s_zones(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    json_t *arr;
    int rc = s_member(c, root, "zones", 1, &arr);
    if (rc)
        return rc;
    s_push_key(c, "zones");
    rc = s_array(c, arr, 1, RM_MAX_ZONES, "zones");
    if (!rc) {
        f->zones = calloc(json_array_size(arr), sizeof *f->zones);
        if (!f->zones)
            rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
    }
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        s_push_index(c, i);
        f->nzones = i + 1; /* counted before filling, so a failure frees what it holds */
        rc = s_zone(c, json_array_get(arr, i), f, i);
        s_pop(c);
    }
    s_pop(c);
    return rc;
}

static int s_routes(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    json_t *arr;
    int rc = s_member(c, root, "routes", 1, &arr);
    if (rc)
        return rc;
    s_push_key(c, "routes");
    rc = s_array(c, arr, 1, RM_NROUTES, "routes");
    unsigned seen = 0;
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        s_push_index(c, i);
        rc = s_want(c, v, json_is_string(v), "a string");
        int r = rc ? -1 : rm_route_parse(json_string_value(v));
        if (!rc && r < 0)
            rc = s_err(c, 0, "\"%.40s\" is not a route (reuse, remanufacture, refurbish, "
                             "repair, scrap)", json_string_value(v));
        if (!rc && (seen & RM_ROUTE_BIT(r)))
            rc = s_err(c, 0, "\"%s\" listed twice", rm_route_name((rm_route_t) r));
        if (!rc && r == RM_ROUTE_SCRAP && i + 1 != json_array_size(arr))
            rc = s_err(c, 0, "scrap must be the last route");
        if (!rc) {
            seen |= RM_ROUTE_BIT(r);
            f->routes[i] = (rm_route_t) r;
            f->nroutes = i + 1;
        }
        s_pop(c);
    }
    if (!rc && !(seen & RM_ROUTE_BIT(RM_ROUTE_SCRAP)))
        rc = s_err(c, 0, "scrap is always allowed and must be listed last");
    s_pop(c);
    return rc;
}

/* A text template: UTF-8 (jansson checked), no control characters, and '{' only as the
 * start of a known placeholder. */
static int s_template(s_ctx_t *c, json_t *obj, const char *key, char *dst)
{
    int rc = s_str(c, obj, key, 1, S_CS_TEXT, dst, RM_TEXT_MAX + 1);
    if (rc)
        return rc;
    static const char *const ph[] = {"{value}", "{limit}", "{zone}"};
    int count = 0;
    for (const char *p = strchr(dst, '{'); p && !rc; p = strchr(p + 1, '{')) {
        int known = 0;
        for (size_t i = 0; i < 3; i++)
            known |= strncmp(p, ph[i], strlen(ph[i])) == 0;
        s_push_key(c, key);
        if (!known)
            rc = s_err(c, 0, "unknown placeholder at \"%.12s\" ({value}, {limit}, {zone})", p);
        else if (++count > S_MAX_PLACEHOLDERS)
            rc = s_err(c, 0, "more than %d placeholders", S_MAX_PLACEHOLDERS);
        s_pop(c);
    }
    return rc;
}

static int s_texts(s_ctx_t *c, json_t *obj, rm_rule_t *rule)
{
    static const char *const keys[] = {"en", "zh", NULL};
    json_t *t;
    int rc = s_member(c, obj, "text", 1, &t);
    if (rc)
        return rc;
    s_push_key(c, "text");
    rc = s_want(c, t, json_is_object(t), "an object");
    if (!rc)
        rc = s_keys(c, t, keys);
    if (!rc)
        rc = s_template(c, t, "en", rule->text_en);
    if (!rc)
        rc = s_template(c, t, "zh", rule->text_zh);
    s_pop(c);
    return rc;
}

/* A list of routes to exclude: 1..4 distinct routes, never scrap. */
static int s_excludes(s_ctx_t *c, json_t *obj, unsigned *dst)
{
    json_t *arr;
    int rc = s_member(c, obj, "excludes", 1, &arr);
    if (rc)
        return rc;
    s_push_key(c, "excludes");
    rc = s_array(c, arr, 1, RM_NROUTES - 1, "routes");
    *dst = 0;
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        s_push_index(c, i);
        rc = s_want(c, v, json_is_string(v), "a string");
        int r = rc ? -1 : rm_route_parse(json_string_value(v));
        if (!rc && r < 0)
            rc = s_err(c, 0, "\"%.40s\" is not a route (reuse, remanufacture, refurbish, "
                             "repair)", json_string_value(v));
        if (!rc && r == RM_ROUTE_SCRAP)
            rc = s_err(c, 0, "scrap cannot be excluded: it is always allowed");
        if (!rc && (*dst & RM_ROUTE_BIT(r)))
            rc = s_err(c, 0, "\"%s\" listed twice", rm_route_name((rm_route_t) r));
        if (!rc)
            *dst |= RM_ROUTE_BIT(r);
        s_pop(c);
    }
    s_pop(c);
    return rc;
}

static int s_when(s_ctx_t *c, json_t *obj, const rm_family_t *f, rm_cond_t *w)
{
    static const char *const keys[] = {"finding", "zone",     "criticality", "name",
                                       "min_score", "measure", "aggregate",  "per_zone",
                                       "op",      "limit",    "guard",       NULL};
    static const char *const types[RV_FINDING_NTYPES + 1] = {
        "crack", "corrosion", "pit", "missing", "wear", "dimension", "any"};
    json_t *when;
    int rc = s_member(c, obj, "when", 1, &when);
    if (rc)
        return rc;
    s_push_key(c, "when");
    rc = s_want(c, when, json_is_object(when), "an object");
    if (!rc)
        rc = s_keys(c, when, keys);
    int type = 0, crit = -1, measure = 0, agg = RM_AGG_MAX, op = 0;
    if (!rc)
        rc = s_enum(c, when, "finding", 1, types, RV_FINDING_NTYPES + 1, &type);
    w->type = type == RV_FINDING_NTYPES ? -1 : type;
    char zone[RM_ID_SIZE] = "";
    if (!rc)
        rc = s_str(c, when, "zone", 0, S_CS_ID, zone, sizeof zone);
    w->zone = -1;
    if (!rc && zone[0]) {
        w->zone = rm_family_zone_find(f, zone);
        if (w->zone < 0) {
            s_push_key(c, "zone");
            rc = s_err(c, 0, "no zone is named \"%s\"", zone);
            s_pop(c);
        }
    }
    if (!rc)
        rc = s_enum(c, when, "criticality", 0, s_crit_names, RM_NCRITICALITIES, &crit);
    w->criticality = crit;
    if (!rc && zone[0] && crit >= 0) {
        s_push_key(c, "criticality");
        rc = s_err(c, 0, "give a zone or a criticality, not both");
        s_pop(c);
    }
    if (!rc)
        rc = s_str(c, when, "name", 0, S_CS_ID, w->name, sizeof w->name);
    if (!rc && w->name[0] && w->type != RV_FINDING_DIMENSION) {
        s_push_key(c, "name");
        rc = s_err(c, 0, "only dimension findings have a name");
        s_pop(c);
    }
    w->min_score = 0;
    if (!rc)
        rc = s_num(c, when, "min_score", 0, 0.0, 1.0, &w->min_score);
    if (!rc)
        rc = s_enum(c, when, "measure", 1, rm_measure_names, RM_NMEASURES, &measure);
    w->measure = (rm_measure_t) measure;
    if (!rc && !(s_measures_for[type] & S_MB(measure))) {
        s_push_key(c, "measure");
        rc = s_err(c, 0, "%s findings do not carry %s", types[type], rm_measure_names[measure]);
        s_pop(c);
    }
    if (!rc)
        rc = s_enum(c, when, "aggregate", 0, s_agg_names, 4, &agg);
    w->aggregate = (rm_aggregate_t) agg;
    if (!rc && (agg == RM_AGG_COUNT) != (measure == RM_M_COUNT)) {
        s_push_key(c, json_object_get(when, "aggregate") ? "aggregate" : "measure");
        rc = s_err(c, 0, "aggregate \"count\" goes with measure \"count\", and only with it");
        s_pop(c);
    }
    json_t *pz = NULL;
    if (!rc)
        rc = s_member(c, when, "per_zone", 0, &pz);
    if (!rc && pz) {
        s_push_key(c, "per_zone");
        rc = s_want(c, pz, json_is_boolean(pz), "true or false");
        s_pop(c);
    }
    w->per_zone = pz && json_is_true(pz);
    if (!rc)
        rc = s_enum(c, when, "op", 1, s_op_names, 4, &op);
    w->op = (rm_op_t) op;
    if (!rc)
        rc = s_num(c, when, "limit", 1, -S_NUM_MAX, S_NUM_MAX, &w->limit);
    if (!rc)
        rc = s_num(c, when, "guard", 1, 0.0, S_NUM_MAX, &w->guard);
    s_pop(c);
    return rc;
}

/* A rule id must be unique among route rules, credit rules and "anomaly". */
static int s_rule_id(s_ctx_t *c, json_t *obj, const rm_family_t *f, rm_rule_t *rule)
{
    int rc = s_str(c, obj, "id", 1, S_CS_ID, rule->id, sizeof rule->id);
    if (rc)
        return rc;
    const char *dup = NULL;
    size_t at = 0;
    if (strcmp(rule->id, "anomaly") == 0)
        dup = "anomaly";
    for (size_t i = 0; !dup && i < f->nrules; i++)
        if (&f->rules[i] != rule && strcmp(f->rules[i].id, rule->id) == 0)
            dup = "rules", at = i;
    for (size_t i = 0; !dup && i < f->ncredit; i++)
        if (&f->credit_rules[i] != rule && strcmp(f->credit_rules[i].id, rule->id) == 0)
            dup = "credit_rules", at = i;
    if (!dup)
        return RV_OK;
    s_push_key(c, "id");
    if (strcmp(dup, "anomaly") == 0)
        rc = s_err(c, 0, "\"anomaly\" is reserved for the anomaly section");
    else
        rc = s_err(c, 0, "\"%s\" is already %s[%zu]", rule->id, dup, at);
    s_pop(c);
    return rc;
}

/* rules (credit = 0) or credit_rules (credit = 1). */
static int s_rules(s_ctx_t *c, json_t *root, rm_family_t *f, int credit)
{
    static const char *const rkeys[] = {"id", "when", "excludes", "reason", "text", NULL};
    static const char *const ckeys[] = {"id", "when", "credit", "reason", "text", NULL};
    static const char *const credits[] = {"partial", "none"};
    const char *name = credit ? "credit_rules" : "rules";
    size_t max = credit ? RM_MAX_CREDIT_RULES : RM_MAX_RULES;
    json_t *arr;
    int rc = s_member(c, root, name, !credit, &arr);
    if (rc || !arr)
        return rc;
    s_push_key(c, name);
    rc = s_array(c, arr, 0, max, "rules");
    rm_rule_t *rules = NULL;
    if (!rc && json_array_size(arr)) {
        rules = calloc(json_array_size(arr), sizeof *rules);
        if (!rules)
            rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
    }
    if (credit)
        f->credit_rules = rules;
    else
        f->rules = rules;
    for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
        json_t *rv = json_array_get(arr, i);
        rm_rule_t *rule = &rules[i];
        s_push_index(c, i);
        if (credit)
            f->ncredit = i + 1;
        else
            f->nrules = i + 1;
        rc = s_want(c, rv, json_is_object(rv), "an object");
        if (!rc)
            rc = s_keys(c, rv, credit ? ckeys : rkeys);
        if (!rc)
            rc = s_rule_id(c, rv, f, rule);
        if (!rc)
            rc = s_when(c, rv, f, &rule->when);
        if (!rc && !credit)
            rc = s_excludes(c, rv, &rule->excludes);
        int cr = 0;
        if (!rc && credit)
            rc = s_enum(c, rv, "credit", 1, credits, 2, &cr);
        rule->credit = credit ? (rm_credit_t) (cr + 1) : RM_CREDIT_FULL;
        if (!rc)
            rc = s_str(c, rv, "reason", 1, S_CS_CODE, rule->code, sizeof rule->code);
        if (!rc)
            rc = s_texts(c, rv, rule);
        s_pop(c);
    }
    s_pop(c);
    return rc;
}

static int s_anomaly(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    static const char *const keys[] = {"threshold", "uncertain", "excludes", "reason",
                                       "text",      "model",     "window",   NULL};
    static const char *const models[] = {"band", "rings"};
    json_t *an, *band = NULL;
    f->anomaly_model = RM_ANOMALY_BAND;
    f->anomaly_window = 21;
    int rc = s_member(c, root, "anomaly", 0, &an);
    if (rc || !an || json_is_null(an))
        return rc;
    rm_rule_t *a = &f->anomaly;
    s_push_key(c, "anomaly");
    rc = s_want(c, an, json_is_object(an), "an object or null");
    if (!rc)
        rc = s_keys(c, an, keys);
    if (!rc)
        rc = s_num(c, an, "threshold", 1, -S_NUM_MAX, S_NUM_MAX, &a->when.limit);
    if (!rc)
        rc = s_member(c, an, "uncertain", 1, &band);
    if (!rc) {
        s_push_key(c, "uncertain");
        rc = s_want(c, band, json_is_array(band) && json_array_size(band) == 2,
                    "a [low, high] pair");
        double lh[2] = {0, 0};
        for (size_t k = 0; !rc && k < 2; k++) {
            s_push_index(c, k);
            rc = s_num_value(c, json_array_get(band, k), -S_NUM_MAX, S_NUM_MAX, &lh[k]);
            s_pop(c);
        }
        if (!rc && !(lh[0] <= a->when.limit && a->when.limit <= lh[1]))
            rc = s_err(c, 0, "must contain the threshold: low <= %g <= high", a->when.limit);
        f->anomaly_lo = lh[0];
        f->anomaly_hi = lh[1];
        s_pop(c);
    }
    if (!rc)
        rc = s_enum(c, an, "model", 0, models, 2, &f->anomaly_model);
    if (!rc && json_object_get(an, "window")) {
        rc = s_int(c, an, "window", 3, 359, &f->anomaly_window);
        if (!rc && f->anomaly_window % 2 == 0) {
            s_push_key(c, "window");
            rc = s_err(c, 0, "must be odd (the centre of a median)");
            s_pop(c);
        }
    }
    if (!rc)
        rc = s_excludes(c, an, &a->excludes);
    if (!rc)
        rc = s_str(c, an, "reason", 1, S_CS_CODE, a->code, sizeof a->code);
    if (!rc)
        rc = s_texts(c, an, a);
    s_pop(c);
    if (!rc) {
        snprintf(a->id, sizeof a->id, "anomaly");
        a->when.type = -1;
        a->when.zone = -1;
        a->when.criticality = -1;
        a->when.measure = RM_M_SCORE;
        a->when.op = RM_OP_GE;
        a->credit = RM_CREDIT_FULL;
        f->has_anomaly = 1;
    }
    return rc;
}

static int s_economics(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    static const char *const keys[] = {"mass_kg", "co2e_kg", "note", NULL};
    json_t *ec, *note = NULL;
    int rc = s_member(c, root, "economics", 1, &ec);
    if (rc)
        return rc;
    s_push_key(c, "economics");
    rc = s_want(c, ec, json_is_object(ec), "an object");
    if (!rc)
        rc = s_keys(c, ec, keys);
    if (!rc)
        rc = s_num(c, ec, "mass_kg", 1, 1e-6, 1e5, &f->mass_kg);
    if (!rc)
        rc = s_num(c, ec, "co2e_kg", 1, 0.0, 1e6, &f->co2e_kg);
    if (!rc)
        rc = s_member(c, ec, "note", 0, &note);
    if (!rc && note) {
        char buf[S_NOTE_MAX];
        s_push_key(c, "note");
        rc = s_str_value(c, note, S_CS_TEXT, buf, sizeof buf);
        s_pop(c);
    }
    s_pop(c);
    return rc;
}

/* The directory part of origin ("" when it has none), so the reference resolves
 * relative to the family file. */
static char *s_resolve(const char *origin, const char *file)
{
    const char *slash = origin ? strrchr(origin, '/') : NULL;
    size_t dl = slash ? (size_t) (slash - origin) + 1 : 0;
    size_t fl = strlen(file);
    char *p = malloc(dl + fl + 1);
    if (!p)
        return NULL;
    memcpy(p, origin, dl);
    memcpy(p + dl, file, fl + 1);
    return p;
}

static int s_reference(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    static const char *const keys[] = {"file", "sha256", NULL};
    json_t *ref;
    int rc = s_member(c, root, "reference", 0, &ref);
    if (rc || !ref || json_is_null(ref))
        return rc;
    s_push_key(c, "reference");
    rc = s_want(c, ref, json_is_object(ref), "an object or null");
    if (!rc)
        rc = s_keys(c, ref, keys);
    char file[S_REF_FILE_MAX + 1];
    if (!rc)
        rc = s_str(c, ref, "file", 1, S_CS_PATH, file, sizeof file);
    if (!rc && (file[0] == '/' || strstr(file, "..") || file[strlen(file) - 1] == '/')) {
        s_push_key(c, "file");
        rc = s_err(c, 0, "must be a file relative to the family file, without \"..\"");
        s_pop(c);
    }
    if (!rc)
        rc = s_str(c, ref, "sha256", 1, S_CS_PATH, f->ref_sha256, sizeof f->ref_sha256);
    if (!rc) {
        int ok = strlen(f->ref_sha256) == 64;
        for (size_t i = 0; ok && i < 64; i++)
            ok = strchr("0123456789abcdef", f->ref_sha256[i]) != NULL;
        if (!ok) {
            s_push_key(c, "sha256");
            rc = s_err(c, 0, "expected 64 lower-case hex digits");
            s_pop(c);
        }
    }
    if (!rc) {
        f->ref_file = strdup(file);
        f->ref_path = s_resolve(c->origin, file);
        if (!f->ref_file || !f->ref_path)
            rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
    }
    s_pop(c);
    return rc;
}

static int s_document(s_ctx_t *c, json_t *root, rm_family_t *f)
{
    static const char *const keys[] = {
        "schema", "id",     "name",   "revision",     "description", "part_numbers",
        "views",  "calibration", "zones", "routes",   "rules",       "anomaly",
        "credit_rules", "economics", "reference", NULL};
    int rc = s_want(c, root, json_is_object(root), "an object");
    if (!rc)
        rc = s_keys(c, root, keys);
    char schema[32];
    if (!rc)
        rc = s_str(c, root, "schema", 1, S_CS_TEXT, schema, sizeof schema);
    if (!rc && strcmp(schema, RM_FAMILY_SCHEMA) != 0) {
        s_push_key(c, "schema");
        rc = s_err(c, 0, "\"%s\" is not \"%s\"", schema, RM_FAMILY_SCHEMA);
        s_pop(c);
    }
    if (!rc)
        rc = s_str(c, root, "id", 1, S_CS_ID, f->id, sizeof f->id);
    if (!rc)
        rc = s_str(c, root, "name", 1, S_CS_TEXT, f->name, sizeof f->name);
    if (!rc)
        rc = s_int(c, root, "revision", 1, 1000000000, &f->revision);
    json_t *desc = NULL;
    if (!rc)
        rc = s_member(c, root, "description", 0, &desc);
    if (!rc && desc) {
        char buf[S_NOTE_MAX];
        s_push_key(c, "description");
        rc = s_str_value(c, desc, S_CS_TEXT, buf, sizeof buf);
        s_pop(c);
    }
    if (!rc)
        rc = s_patterns(c, root, f);
    if (!rc)
        rc = s_views(c, root, f);
    if (!rc)
        rc = s_calibration(c, root, f);
    if (!rc)
        rc = s_zones(c, root, f);
    if (!rc)
        rc = s_routes(c, root, f);
    if (!rc)
        rc = s_rules(c, root, f, 0);
    if (!rc)
        rc = s_anomaly(c, root, f);
    if (!rc)
        rc = s_rules(c, root, f, 1);
    if (!rc)
        rc = s_economics(c, root, f);
    if (!rc)
        rc = s_reference(c, root, f);
    return rc;
}

/* ---- life cycle ----------------------------------------------------------------------- */

static void s_free(rm_family_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->zones && i < f->nzones; i++)
        for (size_t k = 0; k < RM_MAX_RINGS; k++)
            free(f->zones[i].rings[k].pts);
    free(f->zones);
    free(f->rules);
    free(f->credit_rules);
    free(f->ref_file);
    free(f->ref_path);
    free(f->origin);
    free(f);
}

static rm_family_t *s_failed(int status)
{
    s_load_status = status;
    return NULL;
}

int rm_family_load_status(void)
{
    return s_load_status;
}

rm_family_t *rm_family_load_text(const char *text, size_t len, const char *origin)
{
    if (!origin || !*origin)
        origin = "(text)";
    if (!text)
        return s_failed(rv_fail(RV_EINVAL, S_DOMAIN, "%s: no text", origin));
    /* refused before decoding: a hostile file must cost nothing */
    if (len > RM_FAMILY_MAX_BYTES)
        return s_failed(rv_fail(RV_ELIMIT, S_DOMAIN, "%s: %zu bytes, more than the limit of %d",
                                origin, len, RM_FAMILY_MAX_BYTES));
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return s_failed(rv_fail(RV_EFORMAT, S_DOMAIN, "%s: syntax error: %s (line %d, column %d)",
                                origin, jerr.text, jerr.line, jerr.column));
    rm_family_t *f = calloc(1, sizeof *f);
    if (!f) {
        json_decref(root);
        return s_failed(rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory"));
    }
    s_ctx_t c = {.text = text, .len = len, .origin = origin, .depth = 0};
    int rc = s_document(&c, root, f);
    json_decref(root);
    if (!rc) {
        f->origin = strdup(origin);
        if (!f->origin)
            rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
        else if (sodium_init() < 0) /* idempotent and thread-safe */
            rc = rv_fail(RV_EBACKEND, S_DOMAIN, "libsodium failed to initialise");
    }
    if (rc) {
        s_free(f);
        return s_failed(rc);
    }
    crypto_hash_sha256(f->hash, (const unsigned char *) text, len);
    sodium_bin2hex(f->hash_hex, sizeof f->hash_hex, f->hash, sizeof f->hash);
    atomic_init(&f->refs, 1);
    s_load_status = RV_OK;
    return f;
}

rm_family_t *rm_family_load(const char *path)
{
    if (!path)
        return s_failed(rv_fail(RV_EINVAL, S_DOMAIN, "no path"));
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return s_failed(rv_fail(RV_EIO, S_DOMAIN, "%s: %s", path, strerror(errno)));
    struct stat st;
    rm_family_t *f = NULL;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return s_failed(rv_fail(RV_EIO, S_DOMAIN, "%s: not a regular file", path));
    }
    if (st.st_size > RM_FAMILY_MAX_BYTES) {
        fclose(fp);
        return s_failed(rv_fail(RV_ELIMIT, S_DOMAIN, "%s: %lld bytes, more than the limit of %d",
                                path, (long long) st.st_size, RM_FAMILY_MAX_BYTES));
    }
    /* read at most one byte past the limit: the file may grow between stat and read */
    char *buf = malloc((size_t) RM_FAMILY_MAX_BYTES + 1);
    if (!buf) {
        fclose(fp);
        return s_failed(rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory"));
    }
    size_t n = fread(buf, 1, (size_t) RM_FAMILY_MAX_BYTES + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad)
        s_failed(rv_fail(RV_EIO, S_DOMAIN, "%s: read error", path));
    else
        f = rm_family_load_text(buf, n, path);
    free(buf);
    return f;
}

rm_family_t *rm_family_ref(rm_family_t *self)
{
    if (self)
        atomic_fetch_add_explicit(&self->refs, 1, memory_order_relaxed);
    return self;
}

void rm_family_destroy(rm_family_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rm_family_t *f = *self_p;
    *self_p = NULL;
    /* release: our writes happen before the free; acquire in the freeing thread */
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        s_free(f);
}

void rm_family_unref(rm_family_t **self_p)
{
    rm_family_destroy(self_p);
}

/* ---- accessors ------------------------------------------------------------------------ */

const char *rm_family_id(const rm_family_t *self)
{
    return self->id;
}

const char *rm_family_name(const rm_family_t *self)
{
    return self->name;
}

int rm_family_revision(const rm_family_t *self)
{
    return self->revision;
}

const char *rm_family_origin(const rm_family_t *self)
{
    return self->origin;
}

const uint8_t *rm_family_hash(const rm_family_t *self)
{
    return self->hash;
}

const char *rm_family_hash_hex(const rm_family_t *self)
{
    return self->hash_hex;
}

size_t rm_family_pattern_count(const rm_family_t *self)
{
    return self->npatterns;
}

const char *rm_family_pattern(const rm_family_t *self, size_t i)
{
    return i < self->npatterns ? self->patterns[i] : NULL;
}

size_t rm_family_view_count(const rm_family_t *self)
{
    return self->nviews;
}

const char *rm_family_view_name(const rm_family_t *self, size_t i)
{
    return i < self->nviews ? self->views[i].name : NULL;
}

int rm_family_view_align(const rm_family_t *self, size_t i, rm_view_align_t *out)
{
    if (i >= self->nviews)
        return rv_fail(RV_EINVAL, S_DOMAIN, "view %zu of %zu", i, self->nviews);
    *out = self->views[i].align;
    return RV_OK;
}

int rm_family_view_size(const rm_family_t *self, size_t i, int *width, int *height)
{
    if (i >= self->nviews)
        return rv_fail(RV_EINVAL, S_DOMAIN, "view %zu of %zu", i, self->nviews);
    *width = self->views[i].width;
    *height = self->views[i].height;
    return RV_OK;
}

double rm_family_mm_per_px(const rm_family_t *self)
{
    return self->mm_per_px;
}

const char *rm_family_calibration_record(const rm_family_t *self)
{
    return self->cal_record[0] ? self->cal_record : NULL;
}

size_t rm_family_zone_count(const rm_family_t *self)
{
    return self->nzones;
}

const rm_zone_t *rm_family_zone(const rm_family_t *self, size_t i)
{
    return i < self->nzones ? &self->zones[i] : NULL;
}

int rm_family_zone_find(const rm_family_t *self, const char *name)
{
    for (size_t i = 0; name && i < self->nzones; i++)
        if (strcmp(self->zones[i].name, name) == 0)
            return (int) i;
    return -1;
}

const char *rm_zone_name_zh(const rm_zone_t *zone)
{
    return zone->name_zh[0] ? zone->name_zh : zone->name;
}

const char *rm_zone_name(const rm_zone_t *zone)
{
    return zone->name;
}

rm_criticality_t rm_zone_criticality(const rm_zone_t *zone)
{
    return zone->criticality;
}

size_t rm_zone_view(const rm_zone_t *zone)
{
    return zone->view;
}

size_t rm_zone_ring_count(const rm_zone_t *zone)
{
    return zone->nrings;
}

const double (*rm_zone_ring(const rm_zone_t *zone, size_t i, size_t *npoints))[2]
{
    if (i >= zone->nrings) {
        if (npoints)
            *npoints = 0;
        return NULL;
    }
    if (npoints)
        *npoints = zone->rings[i].n;
    return (const double(*)[2]) zone->rings[i].pts;
}

double rm_zone_param(const rm_zone_t *zone, const char *detector, const char *key, double def)
{
    int type = rv_finding_type_parse(detector);
    if (!zone || type < 0 || !key)
        return def;
    for (size_t i = 0; i < zone->nparams[type]; i++)
        if (strcmp(zone->params[type][i].key, key) == 0)
            return zone->params[type][i].value;
    return def;
}

size_t rm_zone_params(const rm_zone_t *zone, const char *detector, rv_param_t *out, size_t max)
{
    int type = rv_finding_type_parse(detector);
    if (!zone || type < 0)
        return 0;
    size_t n = zone->nparams[type];
    for (size_t i = 0; i < n && i < max; i++) {
        out[i].key = zone->params[type][i].key;
        out[i].value = zone->params[type][i].value;
    }
    return n;
}

int rm_family_anomaly_model(const rm_family_t *self, int *window)
{
    if (window)
        *window = self->anomaly_window > 0 ? self->anomaly_window : 21;
    return self->has_anomaly ? self->anomaly_model : RM_ANOMALY_BAND;
}

double rm_family_anomaly_threshold(const rm_family_t *self)
{
    return self->has_anomaly ? self->anomaly.when.limit : NAN;
}

const char *rm_family_reference_file(const rm_family_t *self)
{
    return self->ref_file;
}

const char *rm_family_reference_path(const rm_family_t *self)
{
    return self->ref_path;
}

const char *rm_family_reference_sha256(const rm_family_t *self)
{
    return self->ref_file ? self->ref_sha256 : NULL;
}

double rm_family_mass_kg(const rm_family_t *self)
{
    return self->mass_kg;
}

double rm_family_co2e_kg(const rm_family_t *self)
{
    return self->co2e_kg;
}

size_t rm_family_rule_count(const rm_family_t *self)
{
    return self->nrules;
}

size_t rm_family_credit_rule_count(const rm_family_t *self)
{
    return self->ncredit;
}

size_t rm_family_route_count(const rm_family_t *self)
{
    return self->nroutes;
}

rm_route_t rm_family_route(const rm_family_t *self, size_t i)
{
    return i < self->nroutes ? self->routes[i] : RM_ROUTE_SCRAP;
}

const char *rm_criticality_name(rm_criticality_t c)
{
    return (int) c >= 0 && (int) c < RM_NCRITICALITIES ? s_crit_names[c] : NULL;
}

int rm_criticality_parse(const char *name)
{
    for (int i = 0; name && i < RM_NCRITICALITIES; i++)
        if (strcmp(name, s_crit_names[i]) == 0)
            return i;
    return -1;
}
