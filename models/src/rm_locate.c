/* rm_locate.c - the line of a JSON path in a family file's text (see rm_locate.h).
 *
 * The scanner knows only JSON's lexical shape: strings run from '"' to the next unescaped
 * '"', containers nest with {} and [], scalars end at a delimiter. Every loop advances or
 * stops at the end of the buffer, so even text jansson would refuse cannot hang it or read
 * past len. Keys with escapes are decoded by jansson itself, never by hand. */
#include "rm_locate.h"

#include <jansson.h>
#include <string.h>

typedef struct s_scan {
    const char *s;
    size_t n, p;
} s_scan_t;

static void s_ws(s_scan_t *sc)
{
    while (sc->p < sc->n &&
           (sc->s[sc->p] == ' ' || sc->s[sc->p] == '\t' || sc->s[sc->p] == '\n' ||
            sc->s[sc->p] == '\r'))
        sc->p++;
}

/* At '"': move past the closing quote. 0, or -1 at the end of the text. */
static int s_skip_string(s_scan_t *sc)
{
    sc->p++;
    while (sc->p < sc->n) {
        char c = sc->s[sc->p++];
        if (c == '\\')
            sc->p++;
        else if (c == '"')
            return sc->p <= sc->n ? 0 : -1;
    }
    return -1;
}

/* Move past one value of any kind. 0, or -1 at the end of the text. */
static int s_skip_value(s_scan_t *sc)
{
    s_ws(sc);
    if (sc->p >= sc->n)
        return -1;
    char c = sc->s[sc->p];
    if (c == '"')
        return s_skip_string(sc);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (sc->p < sc->n) {
            c = sc->s[sc->p];
            if (c == '"') {
                if (s_skip_string(sc) != 0)
                    return -1;
                continue;
            }
            sc->p++;
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return 0;
        }
        return -1;
    }
    while (sc->p < sc->n && !strchr(",:}] \t\r\n", sc->s[sc->p]))
        sc->p++;
    return 0;
}

/* Does the raw key between quotes (raw[0] is the opening quote, len includes both
 * quotes) spell key? Escaped keys are decoded by jansson. */
static int s_key_is(const char *raw, size_t len, const char *key)
{
    if (len < 2)
        return 0;
    if (!memchr(raw, '\\', len))
        return len - 2 == strlen(key) && memcmp(raw + 1, key, len - 2) == 0;
    json_error_t err;
    json_t *str = json_loadb(raw, len, JSON_DECODE_ANY, &err);
    int same = str && json_is_string(str) && strcmp(json_string_value(str), key) == 0;
    json_decref(str);
    return same;
}

static int s_line_at(const char *text, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        line += text[i] == '\n';
    return line;
}

int rm_locate_line(const char *text, size_t len, const rm_seg_t *path, size_t depth,
                   int at_key)
{
    s_scan_t sc = {text, len, 0};
    s_ws(&sc);
    size_t found = sc.p; /* start of the deepest value reached */
    for (size_t d = 0; d < depth && sc.p < sc.n; d++) {
        const rm_seg_t *seg = &path[d];
        int hit = 0;
        if (seg->key) {
            if (sc.s[sc.p] != '{')
                break;
            sc.p++;
            for (;;) {
                s_ws(&sc);
                if (sc.p >= sc.n || sc.s[sc.p] != '"')
                    break;
                size_t k0 = sc.p;
                if (s_skip_string(&sc) != 0)
                    break;
                size_t k1 = sc.p;
                s_ws(&sc);
                if (sc.p >= sc.n || sc.s[sc.p] != ':')
                    break;
                sc.p++;
                s_ws(&sc);
                if (s_key_is(sc.s + k0, k1 - k0, seg->key)) {
                    if (d + 1 == depth && at_key)
                        return s_line_at(text, k0);
                    hit = 1;
                    break;
                }
                if (s_skip_value(&sc) != 0)
                    break;
                s_ws(&sc);
                if (sc.p >= sc.n || sc.s[sc.p] != ',')
                    break;
                sc.p++;
            }
        } else {
            if (sc.s[sc.p] != '[')
                break;
            sc.p++;
            for (size_t i = 0;; i++) {
                s_ws(&sc);
                if (sc.p >= sc.n || sc.s[sc.p] == ']')
                    break;
                if (i == seg->index) {
                    hit = 1;
                    break;
                }
                if (s_skip_value(&sc) != 0)
                    break;
                s_ws(&sc);
                if (sc.p >= sc.n || sc.s[sc.p] != ',')
                    break;
                sc.p++;
            }
        }
        if (!hit)
            break;
        found = sc.p;
    }
    return s_line_at(text, found < len ? found : len);
}
