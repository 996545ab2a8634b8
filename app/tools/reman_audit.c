/* reman_audit.c - reman-audit: verify a station's store, trace a core, export decisions.
 *
 * verify   re-checks the whole ledger (hash chain, every signature with station.pub and
 *          the key in record 1) and every cited evidence file's SHA-256.
 * history  every inspection and decision of one serial number, in order.
 * export   one row per decision (CSV, JSON, or a self-contained HTML report with
 *          thumbnails of the evidence).
 * The store is opened read-only: an auditor's copy on a read-only medium works.
 *
 * The same against the site database (--site CONNINFO, docs/site.md), through ra_site:
 * verify re-checks every decision's signature with the key the site holds for its
 * station (and that the site's columns say what the signed message says); history is the
 * trace drill, every decision of a serial across all stations with its evidence; export
 * streams the decisions of a period (csv or json). The session is read-only. */
#include "ra/ra_msg.h"
#include "ra/ra_site.h"
#include "ra/ra_store.h"
#include "ra/ra_version.h"
#include "rv/rv.h"
#include "rv/rv_jpeg.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define MAX_EVIDENCE_BYTES (64u << 20)
#define THUMB_MIN_WIDTH 96

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-audit verify --store DIR | --site CONNINFO\n"
            "       reman-audit history --store DIR | --site CONNINFO [--json] SERIAL\n"
            "       reman-audit export --store DIR --format csv|json|html [--from DATE]\n"
            "                   [--to DATE] [--out FILE]\n"
            "       reman-audit export --site CONNINFO --format csv|json [--from DATE]\n"
            "                   [--to DATE] [--out FILE]\n"
            "Audits a reman-station store (opened read-only), or the site database that\n"
            "reman-collector fills (PostgreSQL, a read-only session; docs/site.md).\n"
            "\n"
            "  verify    check the hash chain, every record's signature (station.pub and the\n"
            "            key in record 1) and the SHA-256 of every cited evidence file\n"
            "  history   every inspection and decision of a core's serial number, in order;\n"
            "            a table on a terminal, JSON lines with --json or into a pipe. The\n"
            "            last line counts the times the core was remanufactured: inspections\n"
            "            whose latest decision is a route other than scrap\n"
            "  export    one row per decision: seq, time, serial, part number, family,\n"
            "            proposal, route, override reason, operator, reason codes, evidence\n"
            "            hashes, chain hash. html: a self-contained report with thumbnails\n"
            "\n"
            "  --store DIR       the store directory (store.db, evidence/, station.pub)\n"
            "  --site CONNINFO   the site database instead, a libpq connection string\n"
            "                    (\"host=db.plant.local dbname=site user=auditor\"): verify checks\n"
            "                    every decision's signature with the station keys the site holds\n"
            "                    and names the first that fails; history lists every decision\n"
            "                    of the serial at every station with its evidence (held or not);\n"
            "                    export adds the station to each row\n"
            "  --from, --to DATE inclusive, YYYY-MM-DD or a longer ISO time prefix (UTC)\n"
            "  --format F        csv, json or html\n"
            "  --out FILE        write there instead of standard output\n"
            "  --json            history as JSON lines\n"
            "  --help, --version\n"
            "exit status: 0 verified / done; 1 verification failed, nothing found or an\n"
            "error; 2 usage error.\n");
}

/* --- verify ------------------------------------------------------------------------------ */

static int s_verify(ra_store_t *st, const char *dir)
{
    ra_verify_report_t rep;
    if (ra_store_verify(st, &rep) != 0) {
        printf("store %s: VERIFICATION FAILED after %lld records: %s\n", dir,
               (long long) rep.records, rep.what[0] ? rep.what : rv_last_error());
        return EXIT_FAILED;
    }
    printf("store %s: %lld records, %lld evidence files: chain, signatures and evidence "
           "verify\n",
           dir, (long long) rep.records, (long long) rep.evidence);
    return 0;
}

/* --- history ----------------------------------------------------------------------------- */

typedef struct hist {
    int table;
    long inspections, decisions;
    /* per inspection record: the route of its latest decision */
    struct {
        int64_t n;
        char route[32];
    } * ends;
    size_t nends, capends;
} hist_t;

static const char *s_str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "-";
}

static void s_end(hist_t *h, int64_t inspection, const char *route)
{
    for (size_t i = 0; i < h->nends; i++)
        if (h->ends[i].n == inspection) {
            snprintf(h->ends[i].route, sizeof h->ends[i].route, "%s", route);
            return;
        }
    if (h->nends == h->capends) {
        size_t cap = h->capends ? 2 * h->capends : 16;
        void *p = realloc(h->ends, cap * sizeof *h->ends);
        if (!p)
            return;
        h->ends = p;
        h->capends = cap;
    }
    h->ends[h->nends].n = inspection;
    snprintf(h->ends[h->nends].route, sizeof h->ends[h->nends].route, "%s", route);
    h->nends++;
}

static int s_history_row(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    hist_t *h = arg;
    json_t *o = json_loadb(body, len, 0, NULL);
    int decision = strcmp(kind, "decision") == 0;
    int upgrade = strncmp(kind, "upgrade-", 8) == 0;
    if (decision) {
        h->decisions++;
        s_end(h, (int64_t) json_integer_value(
                     json_object_get(json_object_get(o, "inspection"), "n")),
              s_str(o, "route"));
    } else if (!upgrade) {
        h->inspections++;
    }
    if (!h->table) {
        printf("{\"n\":%lld,\"kind\":\"%s\",\"record\":%.*s}\n", (long long) n, kind, (int) len,
               body);
    } else if (decision) {
        json_t *ov = json_object_get(o, "override");
        char what[400];
        int k = snprintf(what, sizeof what, "seq %lld: %s by %s (%s)",
                         (long long) json_integer_value(json_object_get(o, "seq")),
                         s_str(o, "route"), s_str(o, "operator"), s_str(o, "role"));
        if (json_is_object(ov) && k > 0 && (size_t) k < sizeof what)
            snprintf(what + k, sizeof what - (size_t) k, ", override of %s: %s%s%s",
                     s_str(ov, "from"), s_str(ov, "reason_code"),
                     json_is_string(json_object_get(ov, "supervisor")) ? ", supervisor " : "",
                     json_is_string(json_object_get(ov, "supervisor"))
                         ? s_str(ov, "supervisor")
                         : "");
        printf("%6lld  %-24s  %-10s  %s\n", (long long) n, s_str(o, "ts"), "decision", what);
    } else if (upgrade) {
        /* an upgrade asked for without a supervisor at the bench, or a supervisor's refusal */
        json_t *ov = json_object_get(o, "override");
        char what[400];
        if (!strcmp(kind, "upgrade-request"))
            snprintf(what, sizeof what, "%s asks to upgrade %s to %s (%s), waiting for a "
                     "supervisor", s_str(o, "operator"), s_str(o, "grader"), s_str(o, "route"),
                     s_str(ov, "reason_code"));
        else
            snprintf(what, sizeof what, "supervisor %s refused request %lld: %.200s",
                     s_str(o, "supervisor"),
                     (long long) json_integer_value(
                         json_object_get(json_object_get(o, "request"), "n")),
                     s_str(o, "text"));
        printf("%6lld  %-24s  %-10s  %s\n", (long long) n, s_str(o, "ts"), kind, what);
    } else {
        char what[400];
        if (json_is_string(json_object_get(o, "refused")))
            snprintf(what, sizeof what, "refused: %.300s", s_str(o, "refused"));
        else
            snprintf(what, sizeof what, "%s %s: proposal %s (grader %s), credit %s, %zu findings",
                     s_str(json_object_get(o, "code"), "part_number"), s_str(o, "family"),
                     s_str(o, "proposal"), s_str(o, "route"), s_str(o, "credit"),
                     json_array_size(json_object_get(o, "findings")));
        printf("%6lld  %-24s  %-10s  %s\n", (long long) n, s_str(o, "ts"), "inspection", what);
    }
    json_decref(o);
    return 0;
}

static int s_history(ra_store_t *st, const char *serial, int json)
{
    hist_t h = {.table = !json && isatty(STDOUT_FILENO)};
    if (h.table)
        printf("%6s  %-24s  %-10s  %s\n", "record", "time (UTC)", "kind", "what");
    if (ra_store_history(st, serial, s_history_row, &h) != 0) {
        fprintf(stderr, "reman-audit: %s\n", rv_last_error());
        free(h.ends);
        return EXIT_FAILED;
    }
    long reman = 0;
    for (size_t i = 0; i < h.nends; i++)
        reman += strcmp(h.ends[i].route, "scrap") != 0;
    free(h.ends);
    if (h.inspections + h.decisions == 0) {
        fprintf(stderr, "reman-audit: no inspection or decision of serial %s in this store\n",
                serial);
        return EXIT_FAILED;
    }
    if (h.table) {
        printf("core %s: %ld inspections, %ld decisions; remanufactured %ld times (inspections "
               "whose latest decision is not scrap)\n",
               serial, h.inspections, h.decisions, reman);
    } else {
        json_t *sum = json_pack("{s:s, s:i, s:i, s:i}", "serial", serial, "inspections",
                                (int) h.inspections, "decisions", (int) h.decisions,
                                "remanufactured", (int) reman);
        char *t = sum ? json_dumps(sum, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (t)
            printf("{\"summary\":%s}\n", t);
        free(t);
        json_decref(sum);
    }
    return 0;
}

/* --- export ------------------------------------------------------------------------------ */

typedef struct row {
    json_t *d;      /* the decision record */
    char hash[65];  /* its chain hash */
    long long n;
} row_t;

typedef struct rows {
    ra_store_t *st;
    row_t *items;
    size_t count, cap;
    int failed;
} rows_t;

static int s_export_row(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    rows_t *r = arg;
    (void) kind;
    if (r->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        row_t *p = realloc(r->items, cap * sizeof *p);
        if (!p) {
            r->failed = 1;
            return 1;
        }
        r->items = p;
        r->cap = cap;
    }
    row_t *w = &r->items[r->count];
    memset(w, 0, sizeof *w);
    w->n = (long long) n;
    if (!(w->d = json_loadb(body, len, 0, NULL))) {
        r->failed = 1;
        return 1;
    }
    r->count++;
    /* the chain hash, as the line message carries it */
    char *msg = NULL;
    size_t mlen = 0;
    uint64_t seq = (uint64_t) json_integer_value(json_object_get(w->d, "seq"));
    if (ra_store_message(r->st, seq, &msg, &mlen) == 0) {
        json_t *m = json_loadb(msg, mlen, 0, NULL);
        snprintf(w->hash, sizeof w->hash, "%s",
                 s_str(json_object_get(m, "chain"), "hash"));
        json_decref(m);
    }
    free(msg);
    return 0;
}

/* Codes of the reasons that fired, space-separated. */
static void s_reason_codes(json_t *d, char *out, size_t size)
{
    size_t i, k = 0;
    json_t *r;
    out[0] = 0;
    json_array_foreach(json_object_get(d, "reasons"), i, r)
    {
        if (!json_is_true(json_object_get(r, "fired")))
            continue;
        int w = snprintf(out + k, size - k, "%s%s", k ? " " : "", s_str(r, "code"));
        if (w < 0 || (size_t) w >= size - k)
            break;
        k += (size_t) w;
    }
}

static void s_evidence_list(json_t *d, char *out, size_t size)
{
    size_t i, k = 0;
    json_t *e;
    out[0] = 0;
    json_array_foreach(json_object_get(d, "evidence"), i, e)
    {
        int w = snprintf(out + k, size - k, "%s%s:%s", k ? " " : "", s_str(e, "kind"),
                         s_str(e, "sha256"));
        if (w < 0 || (size_t) w >= size - k)
            break;
        k += (size_t) w;
    }
}

static const char *s_override_reason(json_t *d)
{
    json_t *ov = json_object_get(d, "override");
    return json_is_object(ov) ? s_str(ov, "reason_code") : "";
}

/* A CSV field (RFC 4180); text that a spreadsheet would run as a formula is prefixed
 * with a quote. */
static void s_csv(FILE *f, const char *v, int last)
{
    if (!v || !strcmp(v, "-"))
        v = "";
    int formula = v[0] == '=' || v[0] == '+' || v[0] == '@' || v[0] == '\t' || v[0] == '\r' ||
                  (v[0] == '-' && v[1] && !(v[1] >= '0' && v[1] <= '9'));
    if (formula || strpbrk(v, ",\"\r\n")) {
        fputc('"', f);
        if (formula)
            fputc('\'', f);
        for (const char *p = v; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(v, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void s_write_csv(FILE *f, rows_t *r)
{
    fputs("seq,ts,serial,part_number,family,proposal,route,override_reason,operator,role,"
          "supervisor,reasons,evidence,hash\n",
          f);
    for (size_t i = 0; i < r->count; i++) {
        json_t *d = r->items[i].d;
        char seq[32], reasons[2048], ev[4096];
        snprintf(seq, sizeof seq, "%lld", (long long) json_integer_value(json_object_get(d, "seq")));
        s_reason_codes(d, reasons, sizeof reasons);
        s_evidence_list(d, ev, sizeof ev);
        json_t *ov = json_object_get(d, "override");
        s_csv(f, seq, 0);
        s_csv(f, s_str(d, "ts"), 0);
        s_csv(f, s_str(d, "serial"), 0);
        s_csv(f, s_str(d, "part_number"), 0);
        s_csv(f, s_str(d, "family"), 0);
        s_csv(f, s_str(d, "proposal"), 0);
        s_csv(f, s_str(d, "route"), 0);
        s_csv(f, s_override_reason(d), 0);
        s_csv(f, s_str(d, "operator"), 0);
        s_csv(f, s_str(d, "role"), 0);
        s_csv(f, json_is_object(ov) ? s_str(ov, "supervisor") : "", 0);
        s_csv(f, reasons, 0);
        s_csv(f, ev, 0);
        s_csv(f, r->items[i].hash, 1);
    }
}

static void s_write_json(FILE *f, rows_t *r, ra_store_t *st, const char *from, const char *to,
                         int verified, const char *what)
{
    json_t *all = json_array();
    for (size_t i = 0; i < r->count; i++) {
        json_t *d = r->items[i].d, *ov = json_object_get(d, "override");
        json_t *codes = json_array(), *ev = json_array();
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(d, "reasons"), k, x)
        {
            if (json_is_true(json_object_get(x, "fired")))
                json_array_append(codes, json_object_get(x, "code"));
        }
        json_array_foreach(json_object_get(d, "evidence"), k, x)
        {
            json_array_append_new(ev, json_pack("{s:O?, s:O?}", "kind", json_object_get(x, "kind"),
                                                "sha256", json_object_get(x, "sha256")));
        }
        json_array_append_new(
            all, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?,"
                           " s:O?, s:o, s:o, s:s, s:I}",
                           "seq", json_object_get(d, "seq"), "ts", json_object_get(d, "ts"),
                           "serial", json_object_get(d, "serial"), "part_number",
                           json_object_get(d, "part_number"), "family",
                           json_object_get(d, "family"), "proposal",
                           json_object_get(d, "proposal"), "route", json_object_get(d, "route"),
                           "override_reason", json_object_get(ov, "reason_code"),
                           "override_text", json_object_get(ov, "text"), "supervisor",
                           json_object_get(ov, "supervisor"), "operator",
                           json_object_get(d, "operator"), "role", json_object_get(d, "role"),
                           "reasons", codes, "evidence", ev, "hash", r->items[i].hash, "record",
                           (json_int_t) r->items[i].n));
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b, s:s, s:I, s:o}", "schema",
                            "reman.audit-export/1", "station", ra_store_station(st),
                            "public_key", ra_store_public_key(st), "from", from, "to", to,
                            "verified", verified, "verification", what, "count",
                            (json_int_t) r->count, "decisions", all);
    if (doc)
        json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fputc('\n', f);
    json_decref(doc);
}

static void s_html_text(FILE *f, const char *t)
{
    for (const char *p = t ? t : ""; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f);
        }
    }
}

/* A thumbnail of an evidence JPEG as a data: URI (malloc'd), or NULL. */
static char *s_thumbnail(ra_store_t *st, const char *hex)
{
    char path[4096];
    uint8_t *bytes = NULL, *small = NULL;
    size_t len = 0, slen = 0;
    char *uri = NULL;
    rv_image_t *img = NULL;
    rv_jpeg_info_t info;
    if (!hex || ra_store_evidence_path(st, hex, path, sizeof path) != 0 ||
        rv_file_read(path, MAX_EVIDENCE_BYTES, &bytes, &len) != 0 ||
        rv_jpeg_read_header(bytes, len, &info) != 0)
        goto out;
    int denom = 8, w = 0, h = 0;
    for (; denom > 1; denom /= 2)
        if (rv_jpeg_scaled_size(&info, denom, &w, &h) == 0 && w >= THUMB_MIN_WIDTH)
            break;
    if (!(img = rv_jpeg_decode(bytes, len, RV_RGB8, denom)))
        goto out;
    rv_view_t v = rv_image_view(img);
    if (rv_jpeg_encode(&v, 75, &small, &slen) != 0)
        goto out;
    size_t b64 = sodium_base64_ENCODED_LEN(slen, sodium_base64_VARIANT_ORIGINAL);
    static const char prefix[] = "data:image/jpeg;base64,";
    if (!(uri = malloc(sizeof prefix + b64)))
        goto out;
    memcpy(uri, prefix, sizeof prefix - 1);
    sodium_bin2base64(uri + sizeof prefix - 1, b64, small, slen, sodium_base64_VARIANT_ORIGINAL);
out:
    rv_jpeg_free(&small);
    rv_image_destroy(&img);
    free(bytes);
    return uri;
}

static void s_html_decision(FILE *f, ra_store_t *st, const row_t *row)
{
    json_t *d = row->d, *ov = json_object_get(d, "override");
    long long seq = (long long) json_integer_value(json_object_get(d, "seq"));
    fprintf(f, "<section class=\"d\" id=\"seq-%lld\">\n<h2>seq %lld &middot; ", seq, seq);
    s_html_text(f, s_str(d, "route"));
    fputs(" &middot; serial ", f);
    s_html_text(f, s_str(d, "serial"));
    fputs("</h2>\n<p class=\"meta\">", f);
    s_html_text(f, s_str(d, "ts"));
    fputs(" &middot; part number ", f);
    s_html_text(f, s_str(d, "part_number"));
    fputs(" &middot; family ", f);
    s_html_text(f, s_str(d, "family"));
    fprintf(f, " &middot; inspection record %lld &middot; proposal ",
            (long long) json_integer_value(json_object_get(json_object_get(d, "inspection"), "n")));
    s_html_text(f, s_str(d, "proposal"));
    fputs(" &middot; credit ", f);
    s_html_text(f, s_str(d, "credit"));
    fputs("</p>\n<p class=\"who\">", f);
    if (json_is_object(ov)) {
        fputs("<b>Overridden</b> by ", f);
        s_html_text(f, s_str(d, "operator"));
        fputs(" (", f);
        s_html_text(f, s_str(d, "role"));
        fputs(") from ", f);
        s_html_text(f, s_str(ov, "from"));
        fputs(" to ", f);
        s_html_text(f, s_str(d, "route"));
        fputs(": reason <code>", f);
        s_html_text(f, s_str(ov, "reason_code"));
        fputs("</code>", f);
        if (json_is_string(json_object_get(ov, "text"))) {
            fputs(" &ldquo;", f);
            s_html_text(f, s_str(ov, "text"));
            fputs("&rdquo;", f);
        }
        if (json_is_string(json_object_get(ov, "supervisor"))) {
            fputs("; approved by supervisor ", f);
            s_html_text(f, s_str(ov, "supervisor"));
        }
    } else {
        fputs("<b>Confirmed</b> by ", f);
        s_html_text(f, s_str(d, "operator"));
        fputs(" (", f);
        s_html_text(f, s_str(d, "role"));
        fputs(")", f);
    }
    fputs("</p>\n<div class=\"thumbs\">", f);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(d, "evidence"), i, e)
    {
        const char *hex = json_string_value(json_object_get(e, "sha256"));
        char *uri = s_thumbnail(st, hex);
        fputs("<figure>", f);
        if (uri) {
            fputs("<img src=\"", f);
            fputs(uri, f); /* base64: nothing to escape */
            fputs("\" alt=\"", f);
            s_html_text(f, s_str(e, "kind"));
            fputs("\">", f);
        } else {
            fputs("<div class=\"missing\">no image</div>", f);
        }
        fputs("<figcaption>", f);
        s_html_text(f, s_str(e, "kind"));
        fputs(" <code>", f);
        fprintf(f, "%.12s", hex && strspn(hex, "0123456789abcdef") == 64 ? hex : "?");
        fputs("&hellip;</code></figcaption></figure>", f);
        free(uri);
    }
    fputs("</div>\n", f);
    json_t *reasons = json_object_get(d, "reasons");
    if (json_array_size(reasons)) {
        fputs("<table><tr><th>reason</th><th>value</th><th>limit</th><th>fired</th>"
              "<th>why</th></tr>\n",
              f);
        json_t *r;
        json_array_foreach(reasons, i, r)
        {
            int fired = json_is_true(json_object_get(r, "fired"));
            fprintf(f, "<tr class=\"%s\"><td><code>", fired ? "fired" : "quiet");
            s_html_text(f, s_str(r, "code"));
            fprintf(f, "</code></td><td>%.4g</td><td>%.4g</td><td>%s</td><td>",
                    json_number_value(json_object_get(r, "value")),
                    json_number_value(json_object_get(r, "limit")), fired ? "yes" : "no");
            s_html_text(f, s_str(r, "en"));
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fprintf(f, "<p class=\"chain\">record %lld &middot; chain hash <code>", row->n);
    s_html_text(f, row->hash);
    fputs("</code></p>\n</section>\n", f);
}

static void s_write_html(FILE *f, rows_t *r, ra_store_t *st, const char *dir, const char *from,
                         const char *to, int verified, const char *what)
{
    char now[40];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
          "reman-station audit: ",
          f);
    s_html_text(f, ra_store_station(st));
    fputs("</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:72em}\n"
          ".status{padding:.7em 1em;border-left:.4em solid;font-weight:600}\n"
          ".ok{background:#e6f4ea;border-color:#1e8e3e}\n"
          ".bad{background:#fce8e6;border-color:#d93025}\n"
          "section.d{border:1px solid #ccc;border-radius:.4em;margin:1em 0;padding:.2em 1em}\n"
          "h2{font-size:1.1em}\n.meta{color:#555}\n"
          ".thumbs{display:flex;gap:1em;flex-wrap:wrap}\n"
          "figure{margin:0}\nfigure img{max-width:20em;border:1px solid #999}\n"
          ".missing{width:10em;height:6em;background:#eee;color:#900;text-align:center}\n"
          "table{border-collapse:collapse;margin:.6em 0}\n"
          "td,th{border:1px solid #ddd;padding:.15em .5em;text-align:left}\n"
          "tr.fired td{color:#a50e0e}\n.chain code{font-size:.8em;word-break:break-all}\n"
          "</style></head><body>\n<h1>Decisions of station ",
          f);
    s_html_text(f, ra_store_station(st));
    fputs("</h1>\n", f);
    fprintf(f, "<p class=\"status %s\">", verified ? "ok" : "bad");
    s_html_text(f, verified ? "Verified: " : "VERIFICATION FAILED: ");
    s_html_text(f, what);
    fputs("</p>\n<p>Store ", f);
    s_html_text(f, dir);
    fputs(" &middot; station key <code>", f);
    s_html_text(f, ra_store_public_key(st));
    fputs("</code> &middot; period ", f);
    s_html_text(f, from ? from : "start");
    fputs(" to ", f);
    s_html_text(f, to ? to : "end");
    fprintf(f, " &middot; %zu decisions &middot; made %s by ", r->count, now);
    s_html_text(f, ra_version());
    fputs("</p>\n", f);
    for (size_t i = 0; i < r->count; i++)
        s_html_decision(f, st, &r->items[i]);
    fputs("</body></html>\n", f);
}

static int s_export(ra_store_t *st, const char *dir, const char *format, const char *from,
                    const char *to, const char *out)
{
    rows_t r = {.st = st};
    int rc = ra_store_records(st, "decision", from, to, s_export_row, &r);
    int status = 0;
    if (rc != 0 || r.failed) {
        fprintf(stderr, "reman-audit: %s\n", rc ? rv_last_error() : "a decision does not parse");
        status = rc == RV_EINVAL ? EXIT_USAGE : EXIT_FAILED;
        goto done;
    }
    int verified = 1;
    char what[700] = "";
    if (strcmp(format, "csv") != 0) {
        ra_verify_report_t rep;
        verified = ra_store_verify(st, &rep) == 0;
        if (verified)
            snprintf(what, sizeof what,
                     "%lld records, %lld evidence files: chain, signatures and evidence verify",
                     (long long) rep.records, (long long) rep.evidence);
        else
            snprintf(what, sizeof what, "%s", rep.what[0] ? rep.what : rv_last_error());
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        perror(out);
        status = EXIT_FAILED;
        goto done;
    }
    if (!strcmp(format, "csv"))
        s_write_csv(f, &r);
    else if (!strcmp(format, "json"))
        s_write_json(f, &r, st, from, to, verified, what);
    else
        s_write_html(f, &r, st, dir, from, to, verified, what);
    int bad = ferror(f) != 0;
    if (out)
        bad = fclose(f) != 0 || bad;
    else
        bad = fflush(f) != 0 || bad;
    if (bad) {
        fprintf(stderr, "reman-audit: cannot write %s\n", out ? out : "standard output");
        status = EXIT_FAILED;
    }
done:
    for (size_t i = 0; i < r.count; i++)
        json_decref(r.items[i].d);
    free(r.items);
    return status;
}

/* --- the site database (--site) ----------------------------------------------------------- */

static int s_site_verify(ra_site_t *site)
{
    ra_site_verify_report_t rep;
    if (ra_site_verify(site, &rep) != 0) {
        if (rep.what[0])
            printf("site: VERIFICATION FAILED after %lld decisions: %s\n", rep.decisions,
                   rep.what);
        else
            fprintf(stderr, "reman-audit: %s\n", rv_last_error());
        return EXIT_FAILED;
    }
    printf("site: %lld decisions of %lld stations: every signature verifies with the "
           "station's key the site holds, and the site's columns and evidence lists say what "
           "the signed messages say\n",
           rep.decisions, rep.stations);
    return 0;
}

typedef struct site_hist {
    int table;
    long decisions;
    char stations[64][RA_MSG_MAX_ID];
    int nstations, more_stations;
    struct {
        char inspection[64];
        char route[32];
    } * ends; /* per inspection: the route of its latest decision */
    size_t nends, capends;
} site_hist_t;

static void s_site_end(site_hist_t *h, const char *inspection, const char *route)
{
    for (size_t i = 0; i < h->nends; i++)
        if (!strcmp(h->ends[i].inspection, inspection)) {
            snprintf(h->ends[i].route, sizeof h->ends[i].route, "%s", route);
            return;
        }
    if (h->nends == h->capends) {
        size_t cap = h->capends ? 2 * h->capends : 16;
        void *p = realloc(h->ends, cap * sizeof *h->ends);
        if (!p)
            return;
        h->ends = p;
        h->capends = cap;
    }
    snprintf(h->ends[h->nends].inspection, sizeof h->ends[h->nends].inspection, "%s", inspection);
    snprintf(h->ends[h->nends].route, sizeof h->ends[h->nends].route, "%s", route);
    h->nends++;
}

static int s_site_history_row(void *arg, const ra_site_record_t *rec)
{
    site_hist_t *h = arg;
    json_t *o = json_loadb(rec->message, rec->len, 0, NULL);
    h->decisions++;
    int known = 0;
    for (int i = 0; i < h->nstations; i++)
        known |= !strcmp(h->stations[i], rec->station);
    if (!known && h->nstations < 64)
        snprintf(h->stations[h->nstations++], RA_MSG_MAX_ID, "%s", rec->station);
    else if (!known)
        h->more_stations++;
    /* an inspection is its station's: the same record number at two stations is two */
    json_t *insp = json_object_get(o, "inspection");
    char key[64];
    if (json_is_string(json_object_get(insp, "id")))
        snprintf(key, sizeof key, "%s", json_string_value(json_object_get(insp, "id")));
    else
        snprintf(key, sizeof key, "%.40s/%lld", rec->station,
                 (long long) json_integer_value(json_object_get(insp, "n")));
    s_site_end(h, key, s_str(o, "route"));
    if (!h->table) {
        json_t *ev = json_array();
        for (size_t i = 0; i < rec->nevidence; i++)
            json_array_append_new(ev, json_pack("{s:s, s:s, s:b}", "kind", rec->evidence[i].kind,
                                                "sha256", rec->evidence[i].sha256, "held",
                                                rec->evidence[i].held));
        json_t *head = json_pack("{s:s, s:I, s:s, s:o}", "station", rec->station, "seq",
                                 (json_int_t) rec->seq, "ts", rec->ts, "evidence", ev);
        char *t = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (t) /* the message as the station signed it, byte for byte */
            printf("%.*s,\"record\":%.*s}\n", (int) strlen(t) - 1, t, (int) rec->len,
                   rec->message);
        free(t);
        json_decref(head);
    } else {
        json_t *ov = json_object_get(o, "override");
        char what[600];
        int k = snprintf(what, sizeof what, "%s by %s (%s)", s_str(o, "route"),
                         s_str(o, "operator"), s_str(o, "role"));
        if (json_is_object(ov) && k > 0 && (size_t) k < sizeof what)
            k += snprintf(what + k, sizeof what - (size_t) k, ", override of %s: %s%s%s",
                          s_str(ov, "from"), s_str(ov, "reason_code"),
                          json_is_string(json_object_get(ov, "supervisor")) ? ", supervisor "
                                                                           : "",
                          json_is_string(json_object_get(ov, "supervisor"))
                              ? s_str(ov, "supervisor")
                              : "");
        for (size_t i = 0; i < rec->nevidence && k > 0 && (size_t) k < sizeof what; i++)
            k += snprintf(what + k, sizeof what - (size_t) k, "%s%s %.12s%s", i ? ", " : "; ",
                          rec->evidence[i].kind[0] ? rec->evidence[i].kind : "file",
                          rec->evidence[i].sha256, rec->evidence[i].held ? "" : " (not held)");
        printf("%-14s %7llu  %-24s  %s\n", rec->station, (unsigned long long) rec->seq, rec->ts,
               what);
    }
    json_decref(o);
    return 0;
}

static int s_site_history(ra_site_t *site, const char *serial, int json)
{
    site_hist_t *h = calloc(1, sizeof *h);
    if (!h)
        return EXIT_FAILED;
    h->table = !json && isatty(STDOUT_FILENO);
    if (h->table)
        printf("%-14s %7s  %-24s  %s\n", "station", "seq", "time (UTC)", "decision");
    int n = ra_site_history(site, serial, s_site_history_row, h);
    int rc = 0;
    if (n < 0) {
        fprintf(stderr, "reman-audit: %s\n", rv_last_error());
        rc = EXIT_FAILED;
    } else if (n == 0) {
        fprintf(stderr, "reman-audit: no decision of serial %s in the site database\n", serial);
        rc = EXIT_FAILED;
    } else {
        long reman = 0;
        for (size_t i = 0; i < h->nends; i++)
            reman += strcmp(h->ends[i].route, "scrap") != 0;
        int nst = h->nstations + h->more_stations;
        if (h->table) {
            printf("core %s: %ld decisions at %d stations; remanufactured %ld times "
                   "(inspections whose latest decision is not scrap)\n",
                   serial, h->decisions, nst, reman);
        } else {
            json_t *st = json_array();
            for (int i = 0; i < h->nstations; i++)
                json_array_append_new(st, json_string(h->stations[i]));
            json_t *sum = json_pack("{s:s, s:I, s:o, s:I}", "serial", serial, "decisions",
                                    (json_int_t) h->decisions, "stations", st, "remanufactured",
                                    (json_int_t) reman);
            char *t = sum ? json_dumps(sum, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (t)
                printf("{\"summary\":%s}\n", t);
            free(t);
            json_decref(sum);
        }
    }
    free(h->ends);
    free(h);
    return rc;
}

/* export: each decision written as it comes (the site is never held in memory); the
 * signatures of what is exported checked with the keys the site holds */
typedef struct site_export {
    ra_site_t *keys;  /* a second connection: the key of each station, asked once */
    FILE *f;
    int json;
    long long count;
    struct {
        char station[RA_MSG_MAX_ID];
        char key[65];
    } * known;
    size_t nknown, capknown;
    int verified;
    char what[600];
    int failed;
} site_export_t;

static const char *s_site_key(site_export_t *x, const char *station)
{
    for (size_t i = 0; i < x->nknown; i++)
        if (!strcmp(x->known[i].station, station))
            return x->known[i].key;
    if (x->nknown == x->capknown) {
        size_t cap = x->capknown ? 2 * x->capknown : 16;
        void *p = realloc(x->known, cap * sizeof *x->known);
        if (!p)
            return "";
        x->known = p;
        x->capknown = cap;
    }
    int found = 0;
    uint64_t max = 0;
    snprintf(x->known[x->nknown].station, sizeof x->known[x->nknown].station, "%s", station);
    x->known[x->nknown].key[0] = 0;
    if (ra_site_station(x->keys, station, &found, x->known[x->nknown].key, &max) != 0)
        x->known[x->nknown].key[0] = 0;
    return x->known[x->nknown++].key;
}

static void s_site_check(site_export_t *x, const ra_site_record_t *rec)
{
    if (!x->verified || !x->keys) /* csv: no verification column */
        return;
    const char *key = s_site_key(x, rec->station);
    ra_msg_info_t info;
    const char *why = NULL;
    if (!key[0])
        why = "the site holds no key for the station";
    else if (ra_msg_parse_decision(rec->message, rec->len, rec->station, &info) != 0 ||
             info.seq != rec->seq ||
             ra_msg_decision_verify_parsed(rec->message, rec->len, key, NULL, NULL) != 0)
        why = info.seq != rec->seq && rv_last_error()[0] == 0 ? "seq differs" : rv_last_error();
    if (why) {
        x->verified = 0;
        snprintf(x->what, sizeof x->what, "station %s seq %llu: %s", rec->station,
                 (unsigned long long) rec->seq, why);
    }
}

static int s_site_export_row(void *arg, const ra_site_record_t *rec)
{
    site_export_t *x = arg;
    json_t *d = json_loadb(rec->message, rec->len, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        x->failed = 1;
        return 1;
    }
    rv_clear_error();
    s_site_check(x, rec);
    json_t *ov = json_object_get(d, "override"), *chain = json_object_get(d, "chain");
    if (!x->json) {
        char seq[32], reasons[2048], ev[4096];
        snprintf(seq, sizeof seq, "%llu", (unsigned long long) rec->seq);
        s_reason_codes(d, reasons, sizeof reasons);
        s_evidence_list(d, ev, sizeof ev);
        s_csv(x->f, rec->station, 0);
        s_csv(x->f, seq, 0);
        s_csv(x->f, s_str(d, "ts"), 0);
        s_csv(x->f, s_str(d, "serial"), 0);
        s_csv(x->f, s_str(d, "part_number"), 0);
        s_csv(x->f, s_str(d, "family"), 0);
        s_csv(x->f, s_str(d, "proposal"), 0);
        s_csv(x->f, s_str(d, "route"), 0);
        s_csv(x->f, s_override_reason(d), 0);
        s_csv(x->f, s_str(d, "operator"), 0);
        s_csv(x->f, s_str(d, "role"), 0);
        s_csv(x->f, json_is_object(ov) ? s_str(ov, "supervisor") : "", 0);
        s_csv(x->f, reasons, 0);
        s_csv(x->f, ev, 0);
        s_csv(x->f, s_str(chain, "hash"), 1);
    } else {
        json_t *codes = json_array(), *ev = json_array();
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(d, "reasons"), k, e)
        {
            if (json_is_true(json_object_get(e, "fired")))
                json_array_append(codes, json_object_get(e, "code"));
        }
        json_array_foreach(json_object_get(d, "evidence"), k, e)
        {
            json_array_append_new(ev, json_pack("{s:O?, s:O?}", "kind", json_object_get(e, "kind"),
                                                "sha256", json_object_get(e, "sha256")));
        }
        json_t *o = json_pack(
            "{s:s, s:I, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?,"
            " s:o, s:o, s:O?, s:O?}",
            "station", rec->station, "seq", (json_int_t) rec->seq, "ts", json_object_get(d, "ts"),
            "serial", json_object_get(d, "serial"), "part_number",
            json_object_get(d, "part_number"), "family", json_object_get(d, "family"), "proposal",
            json_object_get(d, "proposal"), "route", json_object_get(d, "route"),
            "override_reason", json_object_get(ov, "reason_code"), "override_text",
            json_object_get(ov, "text"), "supervisor", json_object_get(ov, "supervisor"),
            "operator", json_object_get(d, "operator"), "role", json_object_get(d, "role"),
            "reasons", codes, "evidence", ev, "hash", json_object_get(chain, "hash"), "record",
            json_object_get(chain, "n"));
        char *t = o ? json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
                    : NULL;
        if (t)
            fprintf(x->f, "%s%s", x->count ? ",\n" : "\n", t);
        else
            x->failed = 1;
        free(t);
        json_decref(o);
    }
    json_decref(d);
    x->count++;
    return ferror(x->f) ? 1 : 0;
}

static int s_site_export(ra_site_t *site, const char *conninfo, const char *format,
                         const char *from, const char *to, const char *out)
{
    if (!strcmp(format, "html")) {
        fprintf(stderr, "reman-audit: the html report reads the evidence images from a station "
                        "store: give --store DIR (csv or json with --site)\n");
        return EXIT_USAGE;
    }
    site_export_t x = {.json = !strcmp(format, "json"), .verified = 1};
    if (x.json && !(x.keys = ra_site_open_readonly(conninfo))) {
        fprintf(stderr, "reman-audit: %s\n", rv_last_error());
        return EXIT_FAILED;
    }
    x.f = out ? fopen(out, "w") : stdout;
    if (!x.f) {
        perror(out);
        ra_site_close(&x.keys);
        return EXIT_FAILED;
    }
    if (x.json) {
        json_t *head = json_pack("{s:s, s:s?, s:s?}", "schema", "reman.site-export/1", "from",
                                 from, "to", to);
        char *t = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        fprintf(x.f, "%.*s,\"decisions\":[", t ? (int) strlen(t) - 1 : 1, t ? t : "{");
        free(t);
        json_decref(head);
    } else {
        fputs("station,seq,ts,serial,part_number,family,proposal,route,override_reason,operator,"
              "role,supervisor,reasons,evidence,hash\n",
              x.f);
    }
    int n = ra_site_records(site, from, to, s_site_export_row, &x);
    int status = 0;
    if (n < 0 || x.failed) {
        fprintf(stderr, "reman-audit: %s\n", n < 0 ? rv_last_error() : "a decision does not parse");
        status = n == RV_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    if (x.json) {
        if (x.verified)
            snprintf(x.what, sizeof x.what,
                     "%lld decisions: every signature verifies with the station's key the site "
                     "holds",
                     x.count);
        json_t *tail = json_pack("{s:I, s:b, s:s}", "count", (json_int_t) x.count, "verified",
                                 x.verified, "verification", x.what);
        char *t = tail ? json_dumps(tail, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        fprintf(x.f, "\n],%s\n", t ? t + 1 : "}");
        free(t);
        json_decref(tail);
    }
    int bad = ferror(x.f) != 0;
    if (out)
        bad = fclose(x.f) != 0 || bad;
    else
        bad = fflush(x.f) != 0 || bad;
    if (bad && !status) {
        fprintf(stderr, "reman-audit: cannot write %s\n", out ? out : "standard output");
        status = EXIT_FAILED;
    }
    ra_site_close(&x.keys);
    free(x.known);
    return status;
}

int main(int argc, char **argv)
{
    const char *cmd = NULL, *dir = NULL, *from = NULL, *to = NULL, *format = NULL, *out = NULL,
               *serial = NULL, *site_ci = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("%s\n", ra_version());
            return 0;
        } else if (!strcmp(a, "--store") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(a, "--site") && i + 1 < argc) {
            site_ci = argv[++i];
        } else if (!strcmp(a, "--from") && i + 1 < argc) {
            from = argv[++i];
        } else if (!strcmp(a, "--to") && i + 1 < argc) {
            to = argv[++i];
        } else if (!strcmp(a, "--format") && i + 1 < argc) {
            format = argv[++i];
        } else if (!strcmp(a, "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "reman-audit: unknown option or missing value: %s\n", a);
            return EXIT_USAGE;
        } else if (!cmd) {
            cmd = a;
        } else if (!serial) {
            serial = a;
        } else {
            fprintf(stderr, "reman-audit: unexpected argument: %s\n", a);
            return EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (!cmd)
        why = "give a command: verify, history or export";
    else if (strcmp(cmd, "verify") && strcmp(cmd, "history") && strcmp(cmd, "export"))
        why = "unknown command (verify, history or export)";
    else if (!dir && !site_ci)
        why = "--store DIR (a station store) or --site CONNINFO (the site database) is required";
    else if (dir && site_ci)
        why = "--store and --site: one or the other";
    else if (!strcmp(cmd, "history") && !serial)
        why = "history needs a SERIAL";
    else if (strcmp(cmd, "history") && serial)
        why = "unexpected argument";
    else if (!strcmp(cmd, "export") &&
             (!format || (strcmp(format, "csv") && strcmp(format, "json") && strcmp(format, "html"))))
        why = "export needs --format csv, json or html";
    else if (strcmp(cmd, "export") && (format || out || from || to))
        why = "--format, --out, --from and --to go with export";
    else if (json && strcmp(cmd, "history"))
        why = "--json goes with history";
    if (why) {
        fprintf(stderr, "reman-audit: %s\n(reman-audit --help for the usage)\n", why);
        return EXIT_USAGE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "reman-audit: libsodium does not initialise\n");
        return EXIT_FAILED;
    }
    if (site_ci) {
        ra_site_t *site = ra_site_open_readonly(site_ci);
        if (!site) {
            fprintf(stderr, "reman-audit: %s\n", rv_last_error());
            return EXIT_FAILED;
        }
        int rc;
        if (!strcmp(cmd, "verify"))
            rc = s_site_verify(site);
        else if (!strcmp(cmd, "history"))
            rc = s_site_history(site, serial, json);
        else
            rc = s_site_export(site, site_ci, format, from, to, out);
        ra_site_close(&site);
        return rc;
    }
    ra_store_t *st = ra_store_open(dir, NULL, RA_STORE_READONLY);
    if (!st) {
        fprintf(stderr, "reman-audit: %s\n", rv_last_error());
        return EXIT_FAILED;
    }
    int rc;
    if (!strcmp(cmd, "verify"))
        rc = s_verify(st, dir);
    else if (!strcmp(cmd, "history"))
        rc = s_history(st, serial, json);
    else
        rc = s_export(st, dir, format, from, to, out);
    ra_store_close(&st);
    return rc;
}
