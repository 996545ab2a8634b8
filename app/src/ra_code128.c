/* ra_code128.c - Code 128 (ISO/IEC 15417): encoding (code set B) for generated labels and
 * tests, and a reader for gray images (OpenCV 4.6 reads EAN/UPC only).
 *
 * The reader scans straight lines across the image at 36 directions (every 5 degrees) and
 * 15 offsets each. Along a line it samples the gray level (bilinear, 1 px steps), marks a
 * sample dark when it lies below the local mean of +-20 px (so glare and uneven light move
 * the threshold with them), and turns the marks into runs. Wherever six runs match a start
 * symbol, it reads symbols of six runs each: each symbol's runs are scaled to its 11 modules
 * and matched to the nearest of the 107 patterns (sum of absolute differences below 2.2
 * modules, so a bar widened by blur still matches); the stop symbol ends it and the
 * modulo-103 check symbol must agree. The same runs reversed read a label upside down.
 * Text: code sets A, B and C with their switches and shift. */
#include "ra/ra_identify.h"

#include "rv/rv_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D "ra_code128"

/* Element widths (bar, space, bar, space, bar, space) of symbols 0..105; 106 is stop. */
static const char *const s_pat[107] = {
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112"};

enum { START_A = 103, START_B = 104, START_C = 105, STOP = 106 };

int ra_code128_encode(const char *text, uint8_t *modules, int cap)
{
    if (!text || !modules)
        return rv_fail(RV_EINVAL, D, "text or output is NULL");
    size_t n = strlen(text);
    if (n == 0 || n > 80)
        return rv_fail(RV_EINVAL, D, "text of %zu characters (1..80)", n);
    int need = (int) (n + 2) * 11 + 13;
    if (cap < need)
        return rv_fail(RV_ELIMIT, D, "%d modules needed, room for %d", need, cap);
    int vals[84], nv = 0, sum = START_B;
    vals[nv++] = START_B;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) text[i];
        if (ch < 32 || ch > 126)
            return rv_fail(RV_EINVAL, D, "character 0x%02X is not in code set B", ch);
        vals[nv] = ch - 32;
        sum += vals[nv] * (int) (i + 1);
        nv++;
    }
    vals[nv++] = sum % 103;
    vals[nv++] = STOP;
    int m = 0;
    for (int v = 0; v < nv; v++)
        for (const char *p = s_pat[vals[v]]; *p; p++) {
            int w = *p - '0', dark = ((p - s_pat[vals[v]]) % 2) == 0;
            for (int k = 0; k < w; k++)
                modules[m++] = (uint8_t) dark;
        }
    return m;
}

/* The nearest symbol to six runs (the stop by its first six elements, which also span 11
 * modules and match no data symbol); its distance in modules through *dist. */
static int s_match(const float *r, float *dist)
{
    float total = r[0] + r[1] + r[2] + r[3] + r[4] + r[5];
    float scale = 11.0f / total, best = 1e9f;
    int sym = -1;
    for (int s = 0; s <= STOP; s++) {
        float d = 0;
        for (int k = 0; k < 6; k++)
            d += fabsf(r[k] * scale - (float) (s_pat[s][k] - '0'));
        if (d < best) {
            best = d;
            sym = s;
        }
    }
    *dist = best;
    return sym;
}

/* Symbol values to text (code sets A, B, C; 98 shift, 99/100/101 switch). -1 if invalid. */
static int s_text(const int *v, int n, char *out, size_t size)
{
    int set = v[0] == START_A ? 0 : v[0] == START_B ? 1 : 2;
    size_t o = 0;
    for (int i = 1; i < n; i++) {
        int x = v[i], shift = 0;
        if (set != 2 && x == 98 && i + 1 < n) {
            shift = 1;
            x = v[++i];
        }
        int cur = shift ? 1 - set : set;
        if (o + 3 >= size)
            return -1;
        if (cur == 2) {
            if (x < 100) {
                out[o++] = (char) ('0' + x / 10);
                out[o++] = (char) ('0' + x % 10);
            } else if (x == 100)
                set = 1;
            else if (x == 101)
                set = 0;
            else if (x != 102) /* FNC1: a GS1 separator; not kept */
                return -1;
        } else if (x < 96) {
            int ch = cur == 1 ? x + 32 : (x < 64 ? x + 32 : x - 64);
            if (ch < 32 || ch > 126)
                ch = ';'; /* a control character (GS from FNC-encoded data): separator */
            out[o++] = (char) ch;
        } else if (x == 99)
            set = 2;
        else if (x == 100 && set == 0)
            set = 1;
        else if (x == 101 && set == 1)
            set = 0;
        /* FNC 1-4: ignored */
    }
    out[o] = '\0';
    return o ? 0 : -1;
}

/* Try to read a symbol from runs (alternating, runs[0] dark). 0 and text on success. */
static int s_decode_runs(const float *runs, int n, char *text, size_t size)
{
    for (int i = 0; i + 6 + 7 <= n; i += 2) { /* dark runs only */
        /* a start symbol here? (three patterns, not 107: most runs start nothing) */
        float total = runs[i] + runs[i + 1] + runs[i + 2] + runs[i + 3] + runs[i + 4] + runs[i + 5];
        float scale = 11.0f / total, d = 1e9f;
        int s = -1;
        for (int c = START_A; c <= START_C; c++) {
            float e = 0;
            for (int k = 0; k < 6; k++)
                e += fabsf(runs[i + k] * scale - (float) (s_pat[c][k] - '0'));
            if (e < d) {
                d = e;
                s = c;
            }
        }
        if (d > 2.2f)
            continue;
        /* and not nearer to a data symbol */
        float dd;
        if (s_match(&runs[i], &dd) != s)
            continue;
        /* a quiet zone before the start: a light run of at least 5 modules */
        float mod = (runs[i] + runs[i + 1] + runs[i + 2] + runs[i + 3] + runs[i + 4] +
                     runs[i + 5]) / 11.0f;
        if (i > 0 && runs[i - 1] < 5.0f * mod)
            continue;
        int vals[96], nv = 0, ok = 0;
        vals[nv++] = s;
        for (int j = i + 6; j + 7 <= n && nv < 96; j += 6) {
            int v = s_match(&runs[j], &d);
            if (d > 2.2f)
                break;
            if (v == STOP) {
                /* its last bar: 2 modules */
                float m = (runs[j] + runs[j + 1] + runs[j + 2] + runs[j + 3] + runs[j + 4] +
                           runs[j + 5]) / 11.0f;
                ok = runs[j + 6] > 1.2f * m && runs[j + 6] < 3.2f * m;
                break;
            }
            if (v >= START_A)
                break;
            vals[nv++] = v;
        }
        if (!ok || nv < 3)
            continue;
        int sum = vals[0];
        for (int k = 1; k < nv - 1; k++)
            sum += vals[k] * k;
        if (sum % 103 != vals[nv - 1])
            continue;
        if (s_text(vals, nv - 1, text, size) == 0)
            return 0;
    }
    return -1;
}

static int s_decode_both(float *runs, int nr, char *text, size_t size);
static int s_edge_runs(const float *prof, int n, float *d, float *runs, int maxlen);

/* Sample a line across the view, threshold against the local mean, and read runs both
 * ways. */
static int s_scan(const rv_view_t *g, double cx, double cy, double dx, double dy, float *prof,
                  float *mean, float *runs, int maxlen, char *text, size_t size)
{
    /* the part of the line inside the image */
    double t0 = -1e9, t1 = 1e9;
    double lo[2] = {0, 0}, hi[2] = {g->width - 1.001, g->height - 1.001};
    double p[2] = {cx, cy}, d[2] = {dx, dy};
    for (int a = 0; a < 2; a++) {
        if (fabs(d[a]) < 1e-9) {
            if (p[a] < lo[a] || p[a] > hi[a])
                return -1;
            continue;
        }
        double ta = (lo[a] - p[a]) / d[a], tb = (hi[a] - p[a]) / d[a];
        if (ta > tb) {
            double t = ta;
            ta = tb;
            tb = t;
        }
        t0 = ta > t0 ? ta : t0;
        t1 = tb < t1 ? tb : t1;
    }
    int n = (int) (t1 - t0);
    if (n < 60)
        return -1;
    if (n > maxlen)
        n = maxlen;
    for (int i = 0; i < n; i++) {
        double x = cx + (t0 + i) * dx, y = cy + (t0 + i) * dy;
        int xi = (int) x, yi = (int) y;
        double fx = x - xi, fy = y - yi;
        const uint8_t *r0 = rv_view_row(g, yi), *r1 = rv_view_row(g, yi + 1);
        prof[i] = (float) ((1 - fy) * ((1 - fx) * r0[xi] + fx * r0[xi + 1]) +
                           fy * ((1 - fx) * r1[xi] + fx * r1[xi + 1]));
    }
    /* local mean over +-20 samples (running sum) */
    const int hw = 20;
    double acc = 0;
    int lo_i = 0, hi_i = 0;
    for (int i = 0; i < n; i++) {
        while (hi_i < n && hi_i <= i + hw)
            acc += prof[hi_i++];
        while (lo_i < i - hw)
            acc -= prof[lo_i++];
        mean[i] = (float) (acc / (hi_i - lo_i));
    }
    /* runs, starting at the first dark sample; each run's length refined at the edges by
     * where the profile crosses the threshold between samples */
    int nr = 0, i = 0;
    while (i < n && !(prof[i] < mean[i] - 2))
        i++;
    float start = (float) i;
    int dark = 1;
    for (; i < n; i++) {
        int is_dark = dark ? prof[i] < mean[i] + 2 : prof[i] < mean[i] - 2;
        if (is_dark != dark) {
            float a = prof[i - 1] - mean[i - 1], b = prof[i] - mean[i];
            float edge = (float) (i - 1) + (fabsf(a - b) > 1e-3f ? a / (a - b) : 0.5f);
            if (nr < maxlen) {
                runs[nr] = edge - start;
                if (runs[nr] < 0.3f)
                    runs[nr] = 0.3f;
                nr++;
            }
            start = edge;
            dark = is_dark;
        }
    }
    if (nr >= 13 && s_decode_both(runs, nr, text, size) == 0)
        return 0;
    /* blurred narrow elements can stay on one side of the local mean: read the runs again
     * between the extrema of the profile's derivative (the edges) instead */
    nr = s_edge_runs(prof, n, mean, runs, maxlen);
    return nr >= 13 ? s_decode_both(runs, nr, text, size) : -1;
}

/* Runs between the edges of a profile: alternating extrema of its central difference
 * (falling: a bar starts; rising: it ends), each placed to a fraction of a sample by a
 * parabola through the extremum and its neighbours; an extremum weaker than 1/6 of the
 * strongest within +-40 samples is noise. d: scratch of n floats. Returns the number of
 * runs (the first dark). */
static int s_edge_runs(const float *prof, int n, float *d, float *runs, int maxlen)
{
    int half = maxlen;
    d[0] = d[n - 1] = 0;
    for (int i = 1; i < n - 1; i++)
        d[i] = 0.5f * (prof[i + 1] - prof[i - 1]);
    int nr = 0, want = -1; /* -1: a falling edge (bar start) next */
    float start = 0, last_mag = 0;
    int have_start = 0;
    for (int i = 2; i < n - 2 && nr < half - 1; i++) {
        float v = d[i];
        int sign = v < 0 ? -1 : 1;
        if (!(fabsf(v) >= fabsf(d[i - 1]) && fabsf(v) > fabsf(d[i + 1])))
            continue; /* not an extremum of |d| */
        float peak = 0;
        for (int k = i - 40; k <= i + 40; k++)
            if (k >= 0 && k < n && fabsf(d[k]) > peak)
                peak = fabsf(d[k]);
        if (fabsf(v) < peak / 6 || fabsf(v) < 3)
            continue;
        float den = d[i - 1] - 2 * v + d[i + 1];
        float pos = (float) i + (fabsf(den) > 1e-6f ? 0.5f * (d[i - 1] - d[i + 1]) / den : 0);
        if (sign != want) {
            /* two edges of one sign in a row: keep the stronger */
            if (have_start && fabsf(v) > last_mag && nr > 0) {
                runs[nr - 1] += pos - start;
                start = pos;
                last_mag = fabsf(v);
            } else if (have_start && fabsf(v) > last_mag && nr == 0) {
                start = pos;
                last_mag = fabsf(v);
            }
            continue;
        }
        if (have_start)
            runs[nr++] = pos - start;
        start = pos;
        last_mag = fabsf(v);
        have_start = 1;
        want = -want;
    }
    return nr;
}

/* Decode runs forwards, then reversed (a label upside down along the line). */
static int s_decode_both(float *runs, int nr, char *text, size_t size)
{
    if (s_decode_runs(runs, nr, text, size) == 0)
        return 0;
    /* reversed: the last run must be dark to start with a bar */
    int last = nr - 1;
    if (last % 2 != 0)
        last--; /* runs[last] is dark */
    for (int k = 0; k <= last / 2; k++) {
        float t = runs[k];
        runs[k] = runs[last - k];
        runs[last - k] = t;
    }
    return s_decode_runs(runs, last + 1, text, size);
}

int ra_identify_code128(const rv_view_t *gray, ra_code_t *out)
{
    if (!gray || !out || gray->fmt != RV_GRAY8 || gray->width < 8 || gray->height < 8)
        return rv_fail(RV_EINVAL, D, "needs a gray view of at least 8x8 pixels");
    memset(out, 0, sizeof *out);
    int maxlen = gray->width + gray->height + 8;
    float *prof = malloc(sizeof(float) * 3 * (size_t) maxlen);
    if (!prof)
        return rv_fail(RV_ENOMEM, D, "out of memory");
    float *mean = prof + maxlen, *runs = mean + maxlen;
    char text[sizeof out->text];
    int found = 0;
    const int nang = 36, noff = 15;
    double cx = gray->width / 2.0, cy = gray->height / 2.0;
    double reach = 0.45 * (gray->width < gray->height ? gray->width : gray->height);
    for (int k = 0; k < noff && !found; k++) {
        /* offsets from the centre outwards: 0, +1, -1, +2, ... */
        double off = ((k + 1) / 2) * (k % 2 ? 1 : -1) * reach / (noff / 2);
        for (int a = 0; a < nang && !found; a++) {
            double th = a * M_PI / nang, dx = cos(th), dy = sin(th);
            if (s_scan(gray, cx - dy * off, cy + dx * off, dx, dy, prof, mean, runs, maxlen,
                       text, sizeof text) == 0)
                found = 1;
        }
    }
    free(prof);
    if (!found)
        return rv_fail(RV_EFORMAT, D, "no Code 128 symbol found");
    int rc = ra_code_parse(text, out);
    if (rc == RV_OK)
        out->kind = RA_CODE_CODE128;
    return rc;
}
