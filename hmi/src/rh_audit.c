/* rh_audit.c - the audit browser: search the station's decision store, open a decision to
 * see its evidence, findings, measurements, model and who decided, check the chain, and
 * export the report with the real exporter (reman-audit export).
 *
 * The store is opened read-only by the browser itself (a handle shared by refcount with
 * the GTasks that use it, so closing the page never waits for a query). Every query,
 * image load and verification runs in a GTask; a result that arrives after a newer
 * request was made is dropped (a generation counter). Nothing here blocks the window. */
#include "rh_audit.h"

#include <glib/gi18n.h>
#include <jansson.h>
#include <string.h>

#include "ra/ra_site.h"
#include "ra/ra_store.h"
#include "rv/rv_error.h"

#define MAX_ROWS 2000 /* results listed (the newest); more are counted */
#define VERIFY_EVERY_US (30 * G_USEC_PER_SEC)

static const char *const s_route_ids[] = {"reuse", "remanufacture", "refurbish", "repair",
                                          "scrap"};

static const char *route_label(const char *id)
{
    if (!id)
        return "–";
    if (!strcmp(id, "reuse"))
        return _("Reuse");
    if (!strcmp(id, "remanufacture"))
        return _("Remanufacture");
    if (!strcmp(id, "refurbish"))
        return _("Refurbish");
    if (!strcmp(id, "repair"))
        return _("Repair");
    if (!strcmp(id, "scrap"))
        return _("Scrap");
    if (!strcmp(id, "review"))
        return _("Review");
    return id;
}

/* The grader's English words for why a part needs review (review_why), in the reader's
 * language; "?" for none. */
const char *rh_review_why_label(const char *why)
{
    if (!why)
        return "?";
    if (!strcmp(why, "measurement in guard band"))
        return _("measurement in guard band");
    if (!strcmp(why, "anomaly score in uncertain band"))
        return _("anomaly score in uncertain band");
    if (!strcmp(why, "credit measurement in guard band"))
        return _("credit measurement in guard band");
    if (!strcmp(why, "alignment residual over its limit"))
        return _("alignment residual over its limit");
    return why;
}

static const char *credit_label(const char *c)
{
    if (!c)
        return NULL;
    if (!strcmp(c, "full"))
        return _("full credit");
    if (!strcmp(c, "partial"))
        return _("partial credit");
    if (!strcmp(c, "none"))
        return _("no credit");
    return c;
}

/* --- the source, shared with the tasks ------------------------------------------------------
 * Either this station's store (dir) or the site database (conninfo: every station, read
 * through ra_site in a read-only session opened by each task, so a long verification never
 * holds a search back). In site mode dir, when set, is this station's own store: the
 * inspection records (findings) of this station's decisions are read there. */
typedef struct {
    char *dir;
    char *conninfo; /* the site database; NULL: the store */
    char *evdir;    /* the site's evidence directory (EVIDENCE_DIR/ab/<sha256>), or NULL */
    GMutex lock;
    ra_store_t *st;
    char station[RA_STORE_MAX_ID];
} AuditStore;

static AuditStore *astore_new(const char *dir)
{
    AuditStore *a = g_atomic_rc_box_new0(AuditStore);
    a->dir = g_strdup(dir);
    g_mutex_init(&a->lock);
    return a;
}

static AuditStore *asite_new(const char *conninfo, const char *evdir, const char *store_dir)
{
    AuditStore *a = astore_new(store_dir);
    a->conninfo = g_strdup(conninfo);
    a->evdir = evdir && *evdir ? g_strdup(evdir) : NULL;
    return a;
}

static gboolean is_site(const AuditStore *a)
{
    return a && a->conninfo;
}

static void astore_clear(gpointer p)
{
    AuditStore *a = p;
    ra_store_close(&a->st);
    g_mutex_clear(&a->lock);
    g_free(a->dir);
    g_free(a->conninfo);
    g_free(a->evdir);
}

static void astore_unref(AuditStore *a)
{
    if (a)
        g_atomic_rc_box_release_full(a, astore_clear);
}

/* The read-only handle, opened on first use (in a task thread: the open runs SQLite's
 * integrity check). NULL with error when the store cannot be opened. */
static ra_store_t *astore_get(AuditStore *a, GError **error)
{
    g_mutex_lock(&a->lock);
    if (!a->st) {
        a->st = ra_store_open(a->dir, NULL, RA_STORE_READONLY);
        if (a->st)
            g_strlcpy(a->station, ra_store_station(a->st), sizeof a->station);
        else
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", rv_last_error());
    }
    ra_store_t *st = a->st;
    g_mutex_unlock(&a->lock);
    return st;
}

/* A read-only session on the site for one task (closed by the caller). NULL with error
 * when the site cannot be reached or is not a site database. */
static ra_site_t *asite_open(AuditStore *a, GError **error)
{
    ra_site_t *site = ra_site_open_readonly(a->conninfo);
    if (!site)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE, "%s", rv_last_error());
    return site;
}

/* What the page reads, in words (no password). */
static char *asource_describe(const AuditStore *a)
{
    if (!a)
        return g_strdup(_("No store opened"));
    if (!is_site(a))
        return g_strdup_printf(_("Source: station store %s"), a->dir);
    char where[512];
    if (ra_site_conninfo_describe(a->conninfo, where, sizeof where) != 0)
        g_strlcpy(where, "?", sizeof where);
    return a->evdir ? g_strdup_printf(_("Source: site database (every station): %s · evidence %s"),
                                      where, a->evdir)
                    : g_strdup_printf(_("Source: site database (every station): %s · no "
                                        "evidence directory (--site-evidence)"),
                                      where);
}

/* --- a result row ------------------------------------------------------------------------ */
#define RH_TYPE_AUDIT_ROW (rh_audit_row_get_type())
G_DECLARE_FINAL_TYPE(RhAuditRow, rh_audit_row, RH, AUDIT_ROW, GObject)

struct _RhAuditRow {
    GObject parent_instance;
    gint64 n, insp_n;
    guint64 seq;
    char *station, *ts, *serial, *family, *route, *proposal, *op, *override_code, *supervisor;
};

G_DEFINE_FINAL_TYPE(RhAuditRow, rh_audit_row, G_TYPE_OBJECT)

static void rh_audit_row_finalize(GObject *object)
{
    RhAuditRow *r = RH_AUDIT_ROW(object);
    g_free(r->station);
    g_free(r->ts);
    g_free(r->serial);
    g_free(r->family);
    g_free(r->route);
    g_free(r->proposal);
    g_free(r->op);
    g_free(r->override_code);
    g_free(r->supervisor);
    G_OBJECT_CLASS(rh_audit_row_parent_class)->finalize(object);
}

static void rh_audit_row_class_init(RhAuditRowClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = rh_audit_row_finalize;
}

static void rh_audit_row_init(RhAuditRow *r)
{
}

static char *jdup(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return g_strdup(s && *s ? s : NULL);
}

/* "2026-12-03T15:26:44.380Z" in local time, "2026-12-03 16:26:44". */
static char *local_time(const char *iso)
{
    GDateTime *dt = iso ? g_date_time_new_from_iso8601(iso, NULL) : NULL;
    if (!dt)
        return g_strdup(iso ? iso : "–");
    GDateTime *loc = g_date_time_to_local(dt);
    char *s = g_date_time_format(loc, "%Y-%m-%d %H:%M:%S");
    g_date_time_unref(loc);
    g_date_time_unref(dt);
    return s;
}

/* --- the widget -------------------------------------------------------------------------- */
struct _RhAudit {
    GtkBox parent_instance;

    GtkSearchEntry *serial_entry;
    GtkEntry *from_entry, *to_entry;
    GtkCalendar *from_calendar, *to_calendar;
    GtkMenuButton *from_button, *to_button;
    GtkDropDown *family_dropdown, *route_dropdown, *operator_dropdown, *format_dropdown;
    GtkDropDown *station_dropdown;
    GtkWidget *station_box;
    GtkLabel *source_label;
    GtkColumnViewColumn *station_column;
    GtkButton *search_button, *clear_button, *verify_button, *export_button, *view_button;
    GtkLabel *results_label, *status_label, *detail_title, *chain_label, *detail_empty;
    GtkColumnView *results_view;
    GtkStack *detail_stack, *image_stack;
    GtkGrid *facts_grid;
    GtkBox *reasons_box, *findings_box;

    AuditStore *store;
    GListStore *rows;
    GtkSingleSelection *selection;
    GtkStringList *families, *operators, *stations;
    guint search_gen, detail_gen, verify_gen;
    gboolean searching, verifying, filling;
    guint64 open_seq;   /* the decision shown (0: none) */
    char *open_station; /* its station (site mode) */
    int open_verify_rc; /* site mode: the opened decision's own check (0: verifies) */
    char *open_verify_why;
    gint64 open_chain_n;
    char *open_serial;
    /* the last verification */
    gboolean verified_once;
    int verify_rc;
    ra_verify_report_t report;
    ra_site_verify_report_t site_report; /* site mode */
    gint64 verified_at; /* monotonic µs */
    char *verified_clock;
    /* export */
    GtkFileChooserNative *chooser;
    char *export_format, *export_from, *export_to;
    GCancellable *cancel; /* cancelled at dispose: exports and queries stop reporting */
    GCancellable *search_stop; /* the running search's */
};

G_DEFINE_FINAL_TYPE(RhAudit, rh_audit, GTK_TYPE_BOX)

static void au_search(RhAudit *self);
static void au_verify(RhAudit *self);
static void au_show_chain(RhAudit *self);

static void au_status(RhAudit *self, const char *text)
{
    gtk_label_set_text(self->status_label, text);
}

/* --- searching --------------------------------------------------------------------------- */
typedef struct {
    AuditStore *store;
    char *serial, *from, *to, *family, *route, *op, *station;
    guint gen;
    GCancellable *stop;  /* a newer search was asked for */
    GCancellable *task;  /* the page is going away (borrowed while the thread runs) */
    /* found */
    GQueue rows; /* RhAuditRow*, oldest first, at most MAX_ROWS */
    guint matched;
    GHashTable *families, *operators, *stations; /* every value seen */
    gboolean substring;               /* the serial was matched as a part */
    gboolean filtered;  /* the site's server applied the filters and sends newest first */
} Query;

static void query_free(gpointer p)
{
    Query *q = p;
    astore_unref(q->store);
    g_clear_object(&q->stop);
    g_free(q->serial);
    g_free(q->from);
    g_free(q->to);
    g_free(q->family);
    g_free(q->route);
    g_free(q->op);
    g_free(q->station);
    g_queue_clear_full(&q->rows, g_object_unref);
    g_hash_table_destroy(q->families);
    g_hash_table_destroy(q->operators);
    g_hash_table_destroy(q->stations);
    g_free(q);
}

/* One decision (of the store: record n; of the site: station given) against the search. */
static int query_decision(Query *q, int64_t n, const char *station, const char *body,
                          size_t len)
{
    if (g_cancellable_is_cancelled(q->stop) || g_cancellable_is_cancelled(q->task))
        return 1;
    json_error_t jerr;
    json_t *d = json_loadb(body, len, 0, &jerr);
    if (!d)
        return 0;
    const char *serial = json_string_value(json_object_get(d, "serial"));
    const char *family = json_string_value(json_object_get(d, "family"));
    const char *route = json_string_value(json_object_get(d, "route"));
    const char *op = json_string_value(json_object_get(d, "operator"));
    const char *ts = json_string_value(json_object_get(d, "ts"));
    if (family && !q->filtered)
        g_hash_table_add(q->families, g_strdup(family));
    if (op && !q->filtered)
        g_hash_table_add(q->operators, g_strdup(op));
    if (station && !q->filtered)
        g_hash_table_add(q->stations, g_strdup(station));
    gboolean ok = TRUE;
    if (q->filtered) {
        /* the server matched it (ra_site_search) */
    } else if (q->substring) {
        char *a = serial ? g_utf8_casefold(serial, -1) : NULL;
        char *b = g_utf8_casefold(q->serial, -1);
        ok = a && strstr(a, b);
        g_free(a);
        g_free(b);
    }
    if (ok && !q->filtered && q->from && (!ts || strcmp(ts, q->from) < 0))
        ok = FALSE;
    if (!q->filtered) {
        if (ok && q->to && (!ts || strncmp(ts, q->to, strlen(q->to)) > 0))
            ok = FALSE;
        if (ok && q->family && g_strcmp0(family, q->family) != 0)
            ok = FALSE;
        if (ok && q->route && g_strcmp0(route, q->route) != 0)
            ok = FALSE;
        if (ok && q->op && g_strcmp0(op, q->op) != 0)
            ok = FALSE;
        if (ok && q->station && g_strcmp0(station, q->station) != 0)
            ok = FALSE;
    }
    if (ok) {
        RhAuditRow *r = g_object_new(RH_TYPE_AUDIT_ROW, NULL);
        r->n = n;
        r->station = station ? g_strdup(station) : jdup(d, "station");
        r->seq = (guint64) json_integer_value(json_object_get(d, "seq"));
        r->insp_n = json_integer_value(json_object_get(json_object_get(d, "inspection"), "n"));
        r->ts = g_strdup(ts);
        r->serial = g_strdup(serial);
        r->family = g_strdup(family);
        r->route = g_strdup(route);
        r->proposal = jdup(d, "proposal");
        r->op = g_strdup(op);
        json_t *ov = json_object_get(d, "override");
        if (json_is_object(ov)) {
            r->override_code = jdup(ov, "reason_code");
            r->supervisor = jdup(ov, "supervisor");
        }
        q->matched++;
        if (q->filtered) { /* newest first, at most MAX_ROWS */
            g_queue_push_head(&q->rows, r);
        } else {
            g_queue_push_tail(&q->rows, r);
            if (q->rows.length > MAX_ROWS)
                g_object_unref(g_queue_pop_head(&q->rows));
        }
    }
    json_decref(d);
    return 0;
}

static int query_record(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    if (strcmp(kind, "decision") != 0)
        return 0;
    return query_decision(arg, n, NULL, body, len);
}

static int query_site_record(void *arg, const ra_site_record_t *rec)
{
    return query_decision(arg, 0, rec->station, rec->message, rec->len);
}

/* A serial's history, or the period's decisions, from the site (site) or the store (st). */
static int query_history(Query *q, ra_site_t *site, ra_store_t *st)
{
    return site ? ra_site_history(site, q->serial, query_site_record, q)
                : ra_store_history(st, q->serial, query_record, q);
}

static int query_site_choice(void *arg, const char *column, const char *value)
{
    Query *q = arg;
    GHashTable *set = !strcmp(column, "family")     ? q->families
                      : !strcmp(column, "operator") ? q->operators
                                                    : q->stations;
    g_hash_table_add(set, g_strdup(value));
    return 0;
}

/* The period's decisions under the filters: on the site the server filters (ra_site_search:
 * the newest MAX_ROWS and the count; a million-decision site is not read whole), in a
 * store they are read in time order and filtered here. */
static int query_period(Query *q, ra_site_t *site, ra_store_t *st)
{
    if (!site)
        return ra_store_records(st, "decision", q->from, q->to, query_record, q);
    ra_site_search_t s = {q->from, q->to, q->substring ? q->serial : NULL, q->family,
                          q->route, q->op,  q->station, MAX_ROWS};
    size_t matched = 0;
    q->filtered = TRUE;
    int rc = ra_site_search(site, &s, query_site_choice, query_site_record, q, &matched);
    q->filtered = FALSE;
    if (rc >= 0)
        q->matched = matched > G_MAXUINT ? G_MAXUINT : (guint) matched;
    return rc;
}

/* A serial is the history (on the site, the trace drill across every station; both
 * indexed); nothing under that exact serial: a part of one, among the period's decisions.
 * Without a serial, the period's decisions (on the site filtered by the server; in a store
 * the other filters are applied as records arrive). */
static void search_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    (void) source;
    Query *q = data;
    q->task = cancel;
    GError *err = NULL;
    ra_site_t *site = NULL;
    ra_store_t *st = NULL;
    if (is_site(q->store) ? !(site = asite_open(q->store, &err))
                          : !(st = astore_get(q->store, &err))) {
        g_task_return_error(task, err);
        return;
    }
    int rc;
    if (q->serial) {
        rc = query_history(q, site, st);
        if (rc >= 0 && q->matched == 0 && g_hash_table_size(q->families) == 0) {
            q->substring = TRUE;
            rc = query_period(q, site, st);
        }
    } else {
        rc = query_period(q, site, st);
    }
    if (rc < 0)
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", rv_last_error());
    else
        g_task_return_boolean(task, TRUE);
    ra_site_close(&site);
}

/* A dropdown's model: its "any" item, then the values sorted; the choice is kept. */
static void update_choices(GtkDropDown *dd, GtkStringList *list, GHashTable *seen,
                           const char *any)
{
    guint sel = gtk_drop_down_get_selected(dd);
    char *keep = sel != GTK_INVALID_LIST_POSITION && sel > 0
                     ? g_strdup(gtk_string_list_get_string(list, sel))
                     : NULL;
    GPtrArray *vals = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, seen);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(vals, k);
    if (keep && !g_hash_table_contains(seen, keep))
        g_ptr_array_add(vals, keep);
    /* sorted by byte value (the array holds the strings themselves) */
    for (guint i = 1; i < vals->len; i++)
        for (guint j = i; j > 0 && strcmp(vals->pdata[j - 1], vals->pdata[j]) > 0; j--) {
            gpointer t = vals->pdata[j];
            vals->pdata[j] = vals->pdata[j - 1];
            vals->pdata[j - 1] = t;
        }
    gboolean same = g_list_model_get_n_items(G_LIST_MODEL(list)) == vals->len + 1;
    for (guint i = 0; same && i < vals->len; i++)
        same = strcmp(gtk_string_list_get_string(list, i + 1), vals->pdata[i]) == 0;
    if (!same) {
        guint n = g_list_model_get_n_items(G_LIST_MODEL(list));
        char **strv = g_new0(char *, vals->len + 2);
        strv[0] = (char *) any;
        for (guint i = 0; i < vals->len; i++)
            strv[i + 1] = vals->pdata[i];
        gtk_string_list_splice(list, 0, n, (const char *const *) strv);
        g_free(strv);
        guint pos = 0;
        for (guint i = 0; keep && i < vals->len; i++)
            if (strcmp(vals->pdata[i], keep) == 0)
                pos = i + 1;
        gtk_drop_down_set_selected(dd, pos);
    }
    g_ptr_array_unref(vals);
    g_free(keep);
}

static gint cmp_strp(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(const char *const *) a, *(const char *const *) b);
}

static void search_done(GObject *source, GAsyncResult *res, gpointer data)
{
    RhAudit *self = RH_AUDIT(source);
    Query *q = g_task_get_task_data(G_TASK(res));
    GError *err = NULL;
    gboolean ok = g_task_propagate_boolean(G_TASK(res), &err);
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) || q->gen != self->search_gen) {
        g_clear_error(&err);
        return; /* a newer search was asked for, or the page is gone */
    }
    self->searching = FALSE;
    if (!ok) {
        /* on one line (libpq's messages carry a newline and a tab); nothing listed: the rows
         * of an earlier search would read as this one's */
        char **words = g_regex_split_simple("\\s+", err->message, 0, 0);
        char *why = g_strstrip(g_strjoinv(" ", words));
        g_strfreev(words);
        g_free(err->message);
        err->message = why;
        g_list_store_remove_all(self->rows);
        char *t = is_site(q->store)
                      ? g_strdup_printf(_("✖ The site database could not be read: %s"),
                                        err->message)
                      : g_strdup_printf(_("The store could not be read: %s"), err->message);
        gtk_label_set_text(self->results_label, t);
        g_message("audit: search failed: %s", err->message);
        g_free(t);
        g_error_free(err);
        return;
    }
    self->filling = TRUE;
    update_choices(self->family_dropdown, self->families, q->families, _("Any family"));
    update_choices(self->operator_dropdown, self->operators, q->operators, _("Any operator"));
    if (is_site(q->store))
        update_choices(self->station_dropdown, self->stations, q->stations, _("Any station"));
    /* newest first */
    guint n = q->rows.length;
    gpointer *items = g_new(gpointer, n);
    guint i = 0, reselect = GTK_INVALID_LIST_POSITION;
    for (GList *l = q->rows.tail; l; l = l->prev, i++) {
        items[i] = l->data;
        if (self->open_seq && RH_AUDIT_ROW(l->data)->seq == self->open_seq &&
            g_strcmp0(RH_AUDIT_ROW(l->data)->station, self->open_station) == 0)
            reselect = i;
    }
    g_list_store_splice(self->rows, 0, g_list_model_get_n_items(G_LIST_MODEL(self->rows)),
                        items, n);
    g_free(items);
    gtk_single_selection_set_selected(self->selection, reselect);
    self->filling = FALSE;
    /* a serial scanned or typed that has one decision: open it at once */
    if (reselect == GTK_INVALID_LIST_POSITION && n == 1 && q->serial && *q->serial)
        gtk_single_selection_set_selected(self->selection, 0); /* on_selected opens it */
    char *t;
    if (q->matched > n)
        t = g_strdup_printf(_("%u decisions found; the newest %u are listed"), q->matched, n);
    else if (q->substring && q->matched)
        t = g_strdup_printf(ngettext("%u decision of a serial containing “%s”",
                                     "%u decisions of serials containing “%s”", q->matched),
                            q->matched, q->serial);
    else
        t = g_strdup_printf(ngettext("%u decision found", "%u decisions found", q->matched),
                            q->matched);
    gtk_label_set_text(self->results_label, t);
    g_free(t);
    if (is_site(q->store)) {
        /* the stations of the rows listed, for the log (and the tests) */
        GPtrArray *names = g_ptr_array_new();
        for (GList *l = q->rows.head; l; l = l->next) {
            const char *st = RH_AUDIT_ROW(l->data)->station;
            gboolean seen = FALSE;
            for (guint k = 0; k < names->len && !seen; k++)
                seen = g_strcmp0(names->pdata[k], st) == 0;
            if (!seen && st)
                g_ptr_array_add(names, (gpointer) st);
        }
        g_ptr_array_sort(names, cmp_strp);
        GString *list = g_string_new(NULL);
        for (guint k = 0; k < names->len; k++)
            g_string_append_printf(list, "%s%s", k ? "," : "", (const char *) names->pdata[k]);
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RH_AUDIT_RESULTS", "1", "MESSAGE",
                         "audit: results=%u source=site serial=%s stations=%s", q->matched,
                         q->serial ? q->serial : "-", list->len ? list->str : "-");
        g_string_free(list, TRUE);
        g_ptr_array_unref(names);
        return;
    }
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RH_AUDIT_RESULTS", "1", "MESSAGE",
                     "audit: results=%u", q->matched);
}

/* Local dates YYYY-MM-DD as the UTC times the store compares with: from the day's first
 * millisecond, to its last. NULL and *bad when the text is not a date. */
static char *day_bound(const char *text, gboolean end, gboolean *bad)
{
    if (!text || !*text)
        return NULL;
    int y, m, d;
    char tail;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || !g_date_valid_dmy(d, m, y)) {
        *bad = TRUE;
        return NULL;
    }
    GDateTime *day = g_date_time_new_local(y, m, d, 0, 0, 0);
    if (!day) {
        *bad = TRUE;
        return NULL;
    }
    GDateTime *t = end ? g_date_time_add(day, G_TIME_SPAN_DAY - 1000) : g_date_time_ref(day);
    GDateTime *utc = g_date_time_to_utc(t);
    char *s = g_date_time_format(utc, end ? "%Y-%m-%dT%H:%M:%S.999Z" : "%Y-%m-%dT%H:%M:%S.000Z");
    g_date_time_unref(utc);
    g_date_time_unref(t);
    g_date_time_unref(day);
    return s;
}

static const char *dropdown_value(GtkDropDown *dd, GtkStringList *list)
{
    guint i = gtk_drop_down_get_selected(dd);
    if (i == GTK_INVALID_LIST_POSITION || i == 0)
        return NULL;
    return gtk_string_list_get_string(list, i);
}

static void au_search(RhAudit *self)
{
    if (!self->store) {
        gtk_label_set_text(self->results_label, _("No store opened"));
        return;
    }
    gboolean bad_from = FALSE, bad_to = FALSE;
    Query *q = g_new0(Query, 1);
    q->from = day_bound(gtk_editable_get_text(GTK_EDITABLE(self->from_entry)), FALSE, &bad_from);
    q->to = day_bound(gtk_editable_get_text(GTK_EDITABLE(self->to_entry)), TRUE, &bad_to);
    if (bad_from)
        gtk_widget_add_css_class(GTK_WIDGET(self->from_entry), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(self->from_entry), "error");
    if (bad_to)
        gtk_widget_add_css_class(GTK_WIDGET(self->to_entry), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(self->to_entry), "error");
    if (bad_from || bad_to) {
        gtk_label_set_text(self->results_label,
                           _("✖ Dates are written YYYY-MM-DD, for example 2026-03-01."));
        gtk_widget_grab_focus(GTK_WIDGET(bad_from ? self->from_entry : self->to_entry));
        q->families = q->operators = q->stations = NULL;
        g_free(q->from);
        g_free(q->to);
        g_free(q);
        return;
    }
    char *serial = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->serial_entry))));
    q->serial = *serial ? serial : (g_free(serial), NULL);
    q->family = g_strdup(dropdown_value(self->family_dropdown, self->families));
    q->op = g_strdup(dropdown_value(self->operator_dropdown, self->operators));
    if (is_site(self->store))
        q->station = g_strdup(dropdown_value(self->station_dropdown, self->stations));
    guint r = gtk_drop_down_get_selected(self->route_dropdown);
    q->route = r > 0 && r != GTK_INVALID_LIST_POSITION && r <= G_N_ELEMENTS(s_route_ids)
                   ? g_strdup(s_route_ids[r - 1])
                   : NULL;
    q->store = g_atomic_rc_box_acquire(self->store);
    q->gen = ++self->search_gen;
    /* the previous search stops where it is: its result would be dropped anyway */
    if (self->search_stop)
        g_cancellable_cancel(self->search_stop);
    g_clear_object(&self->search_stop);
    self->search_stop = g_cancellable_new();
    q->stop = g_object_ref(self->search_stop);
    g_queue_init(&q->rows);
    q->families = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    q->operators = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    q->stations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /* the exporter takes the same dates */
    g_free(self->export_from);
    g_free(self->export_to);
    self->export_from = g_strdup(q->from);
    self->export_to = g_strdup(q->to);
    self->searching = TRUE;
    gtk_label_set_text(self->results_label, _("Searching…"));
    GTask *task = g_task_new(self, self->cancel, search_done, NULL);
    g_task_set_source_tag(task, au_search);
    g_task_set_task_data(task, q, query_free);
    g_task_run_in_thread(task, search_thread);
    g_object_unref(task);
}

/* --- the result columns ------------------------------------------------------------------ */
enum { COL_STATION, COL_SEQ, COL_TIME, COL_SERIAL, COL_FAMILY, COL_ROUTE, COL_OPERATOR,
       COL_OVERRIDE };

static void col_setup(GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
    int col = GPOINTER_TO_INT(data);
    GtkWidget *l = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    /* the short columns keep their whole text; the long ones shorten (tooltip: all of it) */
    if (col == COL_SERIAL || col == COL_ROUTE || col == COL_OVERRIDE)
        gtk_label_set_ellipsize(GTK_LABEL(l), PANGO_ELLIPSIZE_END);
    gtk_widget_set_margin_start(l, 6);
    gtk_widget_set_margin_end(l, 6);
    gtk_list_item_set_child(item, l);
}

static void col_bind(GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
    RhAuditRow *r = gtk_list_item_get_item(item);
    GtkLabel *l = GTK_LABEL(gtk_list_item_get_child(item));
    char *t = NULL;
    switch (GPOINTER_TO_INT(data)) {
    case COL_STATION: t = g_strdup(r->station ? r->station : "–"); break;
    case COL_SEQ: t = g_strdup_printf("%" G_GUINT64_FORMAT, r->seq); break;
    case COL_TIME: t = local_time(r->ts); break;
    case COL_SERIAL: t = g_strdup(r->serial ? r->serial : "–"); break;
    case COL_FAMILY: t = g_strdup(r->family ? r->family : "–"); break;
    case COL_ROUTE:
        /* the route decided; a review or an override names the proposal */
        if (r->proposal && r->route && strcmp(r->proposal, r->route) != 0)
            t = g_strdup_printf(_("%s (proposed: %s)"), route_label(r->route),
                                route_label(r->proposal));
        else
            t = g_strdup(route_label(r->route));
        break;
    case COL_OPERATOR: t = g_strdup(r->op ? r->op : "–"); break;
    case COL_OVERRIDE:
        if (r->override_code && r->supervisor)
            t = g_strdup_printf(_("%s, approved by %s"), r->override_code, r->supervisor);
        else
            t = g_strdup(r->override_code ? r->override_code : "–");
        break;
    }
    gtk_label_set_text(l, t);
    gtk_widget_set_tooltip_text(GTK_WIDGET(l), t);
    g_free(t);
}

static GtkColumnViewColumn *add_column(RhAudit *self, const char *title, int col,
                                       gboolean expand)
{
    GtkListItemFactory *f = gtk_signal_list_item_factory_new();
    g_signal_connect(f, "setup", G_CALLBACK(col_setup), GINT_TO_POINTER(col));
    g_signal_connect(f, "bind", G_CALLBACK(col_bind), GINT_TO_POINTER(col));
    GtkColumnViewColumn *c = gtk_column_view_column_new(title, f);
    gtk_column_view_column_set_expand(c, expand);
    gtk_column_view_column_set_resizable(c, TRUE);
    gtk_column_view_append_column(self->results_view, c);
    g_object_unref(c);
    return c; /* the view holds it */
}

/* --- the opened decision ----------------------------------------------------------------- */
typedef struct {
    char *kind, *sha, *error;
    GdkTexture *texture;
} Image;

static void image_free(gpointer p)
{
    Image *im = p;
    g_free(im->kind);
    g_free(im->sha);
    g_free(im->error);
    g_clear_object(&im->texture);
    g_free(im);
}

typedef struct {
    AuditStore *store;
    guint64 seq;
    char *station; /* site mode */
    guint gen;
    json_t *decision, *inspection;
    GPtrArray *images;
    gint64 want_n;
    /* site mode: what the site holds of the evidence, and this decision's own check */
    ra_site_evidence_t *ev;
    size_t nev;
    int verify_rc;
    char verify_why[512];
} Detail;

static void detail_free(gpointer p)
{
    Detail *d = p;
    astore_unref(d->store);
    g_free(d->station);
    g_free(d->ev);
    json_decref(d->decision);
    json_decref(d->inspection);
    if (d->images)
        g_ptr_array_unref(d->images);
    g_free(d);
}

static int find_inspection(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    Detail *d = arg;
    if (n > d->want_n)
        return 1; /* passed it */
    if (n == d->want_n && strcmp(kind, "inspection") == 0) {
        json_error_t jerr;
        d->inspection = json_loadb(body, len, 0, &jerr);
        return 1;
    }
    return 0;
}

static int detail_site_record(void *arg, const ra_site_record_t *rec)
{
    Detail *d = arg;
    json_error_t jerr;
    d->decision = json_loadb(rec->message, rec->len, 0, &jerr);
    d->nev = rec->nevidence;
    d->ev = g_memdup2(rec->evidence, rec->nevidence * sizeof *rec->evidence);
    return 1;
}

/* The site: the decision as the station signed it, its own check (signature with the key
 * the site holds, columns, evidence list), its evidence from the site's evidence directory;
 * the inspection (findings) only where this station's own store has it. */
static void detail_site(GTask *task, Detail *d, GCancellable *cancel)
{
    GError *err = NULL;
    ra_site_t *site = asite_open(d->store, &err);
    if (!site) {
        g_task_return_error(task, err);
        return;
    }
    int rc = ra_site_decision(site, d->station, d->seq, detail_site_record, d);
    if (rc <= 0 || !json_is_object(d->decision)) {
        if (rc < 0)
            g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", rv_last_error());
        else
            g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                    _("station %s seq %llu is not in the site database"),
                                    d->station, (unsigned long long) d->seq);
        ra_site_close(&site);
        return;
    }
    d->verify_rc = ra_site_verify_decision(site, d->station, d->seq, d->verify_why,
                                           sizeof d->verify_why);
    if (d->verify_rc != 0 && !d->verify_why[0])
        g_strlcpy(d->verify_why, rv_last_error(), sizeof d->verify_why);
    ra_site_close(&site);
    d->want_n = json_integer_value(json_object_get(json_object_get(d->decision, "inspection"), "n"));
    if (d->store->dir && !g_cancellable_is_cancelled(cancel)) {
        ra_store_t *st = astore_get(d->store, NULL);
        const char *serial = json_string_value(json_object_get(d->decision, "serial"));
        if (st && !strcmp(d->store->station, d->station) && serial && *serial)
            ra_store_history(st, serial, find_inspection, d);
    }
    d->images = g_ptr_array_new_with_free_func(image_free);
    for (size_t i = 0; i < d->nev && !g_cancellable_is_cancelled(cancel); i++) {
        Image *im = g_new0(Image, 1);
        im->kind = g_strdup(d->ev[i].kind[0] ? d->ev[i].kind : "original");
        im->sha = g_strdup(d->ev[i].sha256);
        char sub[3] = {im->sha[0], im->sha[0] ? im->sha[1] : 0, 0};
        char *path = d->store->evdir ? g_build_filename(d->store->evdir, sub, im->sha, NULL) : NULL;
        if (!d->ev[i].held) {
            im->error = g_strdup(_("the site does not hold this file yet (the collector fetches "
                                   "it from the station)"));
        } else if (!path) {
            im->error = g_strdup(_("the site's evidence directory is not configured "
                                   "(--site-evidence)"));
        } else {
            GError *lerr = NULL;
            im->texture = gdk_texture_new_from_filename(path, &lerr);
            if (!im->texture) {
                im->error = g_strdup_printf("%s: %s", path, lerr->message);
                g_error_free(lerr);
            }
        }
        g_free(path);
        g_ptr_array_add(d->images, im);
    }
    g_task_return_boolean(task, TRUE);
}

static void detail_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    Detail *d = data;
    if (is_site(d->store)) {
        detail_site(task, d, cancel);
        return;
    }
    GError *err = NULL;
    ra_store_t *st = astore_get(d->store, &err);
    if (!st) {
        g_task_return_error(task, err);
        return;
    }
    char *msg = NULL;
    size_t len = 0;
    if (ra_store_message(st, d->seq, &msg, &len) != 0) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s", rv_last_error());
        return;
    }
    json_error_t jerr;
    d->decision = json_loadb(msg, len, 0, &jerr);
    free(msg);
    if (!json_is_object(d->decision)) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", jerr.text);
        return;
    }
    /* the inspection it decided: through the serial's history (indexed), else a walk */
    d->want_n = json_integer_value(json_object_get(json_object_get(d->decision, "inspection"), "n"));
    const char *serial = json_string_value(json_object_get(d->decision, "serial"));
    if (serial && *serial)
        ra_store_history(st, serial, find_inspection, d);
    if (!d->inspection && !g_cancellable_is_cancelled(cancel))
        ra_store_records(st, "inspection", NULL, NULL, find_inspection, d);
    /* the evidence, decoded here (the window only shows the textures) */
    d->images = g_ptr_array_new_with_free_func(image_free);
    json_t *ev = json_object_get(d->inspection ? d->inspection : d->decision, "evidence");
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e) {
        if (g_cancellable_is_cancelled(cancel))
            break;
        Image *im = g_new0(Image, 1);
        im->kind = jdup(e, "kind");
        im->sha = jdup(e, "sha256");
        char path[4096];
        if (!im->sha || ra_store_evidence_path(st, im->sha, path, sizeof path) != 0) {
            im->error = g_strdup(_("no evidence path"));
        } else {
            GError *lerr = NULL;
            im->texture = gdk_texture_new_from_filename(path, &lerr);
            if (!im->texture) {
                im->error = g_strdup_printf("%s: %s", path, lerr->message);
                g_error_free(lerr);
            }
        }
        g_ptr_array_add(d->images, im);
    }
    g_task_return_boolean(task, TRUE);
}

static void clear_box(GtkWidget *box)
{
    GtkWidget *c;
    while ((c = gtk_widget_get_first_child(box)))
        gtk_widget_unparent(c);
}

static GtkWidget *value_label(const char *text, gboolean mono)
{
    GtkWidget *l = gtk_label_new(text);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_label_set_yalign(GTK_LABEL(l), 0);
    gtk_label_set_wrap(GTK_LABEL(l), TRUE);
    gtk_label_set_wrap_mode(GTK_LABEL(l), mono ? PANGO_WRAP_CHAR : PANGO_WRAP_WORD_CHAR);
    gtk_label_set_selectable(GTK_LABEL(l), TRUE);
    gtk_widget_set_hexpand(l, TRUE);
    if (mono) {
        /* hashes break anywhere, never with an inserted hyphen (it would read as a digit) */
        PangoAttrList *attrs = pango_attr_list_new();
        pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
        gtk_label_set_attributes(GTK_LABEL(l), attrs);
        pango_attr_list_unref(attrs);
        gtk_widget_add_css_class(l, "rh-mono");
    }
    return l;
}

static void add_fact(RhAudit *self, int *row, const char *key, const char *value, gboolean mono)
{
    if (!value)
        return;
    GtkWidget *k = gtk_label_new(key);
    gtk_label_set_xalign(GTK_LABEL(k), 1);
    gtk_label_set_yalign(GTK_LABEL(k), 0);
    gtk_widget_add_css_class(k, "rh-key");
    gtk_grid_attach(self->facts_grid, k, 0, *row, 1, 1);
    gtk_grid_attach(self->facts_grid, value_label(value, mono), 1, *row, 1, 1);
    (*row)++;
}

static const char *finding_type(const char *t)
{
    if (!t)
        return "?";
    if (!strcmp(t, "crack"))
        return _("Crack");
    if (!strcmp(t, "corrosion"))
        return _("Corrosion");
    if (!strcmp(t, "pit"))
        return _("Pit");
    if (!strcmp(t, "missing"))
        return _("Missing material");
    if (!strcmp(t, "wear"))
        return _("Wear");
    if (!strcmp(t, "dimension"))
        return _("Dimension");
    return t;
}

/* One finding in words: its type, zone and every measurement with its unit. */
static char *finding_text(json_t *f)
{
    GString *s = g_string_new(NULL);
    const char *zone = json_string_value(json_object_get(f, "zone"));
    g_string_append_printf(s, _("%s in zone %s"), finding_type(json_string_value(
                                                      json_object_get(f, "type"))),
                           zone ? zone : "–");
    g_string_append(s, ": ");
    gboolean first = TRUE;
    /* TRANSLATORS: between the measurements of one finding */
    const char *comma = _(", ");
#define SEP() (first ? (first = FALSE, "") : comma)
    json_t *v;
    if ((v = json_object_get(f, "length_mm")) && json_is_number(v))
        g_string_append_printf(s, _("%slength %.2f mm"), SEP(), json_number_value(v));
    if ((v = json_object_get(f, "width_mm")) && json_is_number(v))
        g_string_append_printf(s, _("%swidth %.2f mm"), SEP(), json_number_value(v));
    if ((v = json_object_get(f, "diameter_mm")) && json_is_number(v))
        g_string_append_printf(s, _("%sdiameter %.2f mm"), SEP(), json_number_value(v));
    if ((v = json_object_get(f, "area_mm2")) && json_is_number(v))
        g_string_append_printf(s, _("%sarea %.1f mm²"), SEP(), json_number_value(v));
    if ((v = json_object_get(f, "zone_pct")) && json_is_number(v))
        g_string_append_printf(s, _("%s%.2f %% of the zone"), SEP(), json_number_value(v));
    if ((v = json_object_get(f, "value_mm")) && json_is_number(v)) {
        const char *name = json_string_value(json_object_get(f, "name"));
        g_string_append_printf(s, _("%s%s %.3f mm"), SEP(), name ? name : "", json_number_value(v));
    }
    if ((v = json_object_get(f, "orientation_deg")) && json_is_number(v))
        g_string_append_printf(s, _("%sorientation %.0f°"), SEP(), json_number_value(v));
    if ((v = json_object_get(f, "score")) && json_is_number(v))
        g_string_append_printf(s, _("%sscore %.2f"), SEP(), json_number_value(v));
#undef SEP
    return g_string_free(s, FALSE);
}

static void show_reasons(RhAudit *self, json_t *reasons)
{
    clear_box(GTK_WIDGET(self->reasons_box));
    /* TRANSLATORS: the language of the grader's own reason texts to show: "en" or "zh" */
    const char *lang = C_("reason text language", "en");
    size_t i;
    json_t *r;
    guint n = 0;
    json_array_foreach(reasons, i, r) {
        json_t *fired = json_object_get(r, "fired");
        gboolean on = !fired || json_is_true(fired);
        const char *code = json_string_value(json_object_get(r, "code"));
        const char *text = json_string_value(json_object_get(r, lang));
        if (!text)
            text = json_string_value(json_object_get(r, "en"));
        json_t *val = json_object_get(r, "value"), *lim = json_object_get(r, "limit"),
               *guard = json_object_get(r, "guard");
        char *measure = json_is_number(val) && json_is_number(lim)
                            ? g_strdup_printf(_("measured %.2f against the limit %.2f (guard band "
                                                "%.2f)"),
                                              json_number_value(val), json_number_value(lim),
                                              json_number_value(guard))
                            : g_strdup("");
        char *t = g_strdup_printf("%s %s%s%s%s\n%s", on ? _("✔ fired") : _("– not fired"),
                                  code ? code : "?",
                                  json_is_true(json_object_get(r, "deciding")) ? _(" (deciding)")
                                                                               : "",
                                  text ? ": " : "", text ? text : "", measure);
        GtkWidget *l = value_label(t, FALSE);
        gtk_widget_add_css_class(l, on ? "rh-reason-fired" : "rh-reason");
        gtk_box_append(self->reasons_box, l);
        g_free(measure);
        g_free(t);
        n++;
    }
    if (n == 0)
        gtk_box_append(self->reasons_box, value_label(_("No grading rule fired."), FALSE));
}

static void show_images(RhAudit *self, GPtrArray *images)
{
    GtkWidget *c;
    while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->image_stack))))
        gtk_stack_remove(self->image_stack, c);
    guint originals = 0, overlays = 0;
    for (guint i = 0; images && i < images->len; i++) {
        Image *im = images->pdata[i];
        gboolean overlay = im->kind && strcmp(im->kind, "overlay") == 0;
        guint k = overlay ? ++overlays : ++originals;
        char *title = overlay ? (k > 1 ? g_strdup_printf(_("Overlay %u"), k) : g_strdup(_("Overlay")))
                              : (k > 1 ? g_strdup_printf(_("Original %u"), k)
                                       : g_strdup(_("Original")));
        GtkWidget *child;
        if (im->texture) {
            child = gtk_picture_new_for_paintable(GDK_PAINTABLE(im->texture));
            gtk_picture_set_can_shrink(GTK_PICTURE(child), TRUE);
            gtk_picture_set_content_fit(GTK_PICTURE(child), GTK_CONTENT_FIT_CONTAIN);
            char *alt = g_strdup_printf(_("%s image, SHA-256 %s"), title, im->sha ? im->sha : "");
            gtk_picture_set_alternative_text(GTK_PICTURE(child), alt);
            gtk_widget_set_tooltip_text(child, alt);
            g_free(alt);
        } else {
            char *t = g_strdup_printf(_("✖ The evidence file could not be shown: %s"),
                                      im->error ? im->error : "?");
            child = value_label(t, FALSE);
            g_free(t);
        }
        char *name = g_strdup_printf("image%u", i);
        gtk_stack_add_titled(self->image_stack, child, name, title);
        g_free(name);
        g_free(title);
    }
    if (!images || images->len == 0)
        gtk_stack_add_titled(self->image_stack, value_label(_("No evidence images"), FALSE),
                             "none", _("Images"));
    /* the overlay first when there is one: defects drawn on the original */
    for (guint i = 0; images && i < images->len; i++) {
        Image *im = images->pdata[i];
        if (im->kind && strcmp(im->kind, "overlay") == 0) {
            char name[32];
            g_snprintf(name, sizeof name, "image%u", i);
            gtk_stack_set_visible_child_name(self->image_stack, name);
            break;
        }
    }
}

/* The visible evidence image at full size, in its own window (Escape closes it). */
static void on_view_clicked(GtkButton *b, RhAudit *self)
{
    GtkWidget *child = gtk_stack_get_visible_child(self->image_stack);
    if (!GTK_IS_PICTURE(child) || !gtk_picture_get_paintable(GTK_PICTURE(child)))
        return;
    GtkWidget *win = gtk_window_new();
    GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
    if (GTK_IS_WINDOW(root)) {
        gtk_window_set_transient_for(GTK_WINDOW(win), GTK_WINDOW(root));
        gtk_window_set_default_size(GTK_WINDOW(win),
                                    MAX(640, gtk_widget_get_width(GTK_WIDGET(root)) * 9 / 10),
                                    MAX(480, gtk_widget_get_height(GTK_WIDGET(root)) * 9 / 10));
    }
    gtk_window_set_modal(GTK_WINDOW(win), TRUE);
    const char *alt = gtk_picture_get_alternative_text(GTK_PICTURE(child));
    gtk_window_set_title(GTK_WINDOW(win), alt ? alt : _("Evidence"));
    GtkWidget *pic = gtk_picture_new_for_paintable(gtk_picture_get_paintable(GTK_PICTURE(child)));
    gtk_picture_set_can_shrink(GTK_PICTURE(pic), TRUE);
    gtk_picture_set_content_fit(GTK_PICTURE(pic), GTK_CONTENT_FIT_CONTAIN);
    gtk_window_set_child(GTK_WINDOW(win), pic);
    GtkEventController *keys = gtk_shortcut_controller_new();
    gtk_shortcut_controller_add_shortcut(
        GTK_SHORTCUT_CONTROLLER(keys),
        gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_Escape, 0),
                         gtk_named_action_new("window.close")));
    gtk_widget_add_controller(win, keys);
    gtk_window_present(GTK_WINDOW(win));
}

static void show_detail(RhAudit *self, Detail *d)
{
    json_t *dec = d->decision, *insp = d->inspection;
    const char *serial = json_string_value(json_object_get(dec, "serial"));
    const char *route = json_string_value(json_object_get(dec, "route"));
    const char *proposal = json_string_value(json_object_get(dec, "proposal"));
    json_t *ov = json_object_get(dec, "override");
    json_t *chain = json_object_get(dec, "chain");
    self->open_chain_n = json_integer_value(json_object_get(chain, "n"));
    g_free(self->open_serial);
    self->open_serial = g_strdup(serial);

    char *title = is_site(d->store)
                      ? g_strdup_printf(_("%s · station %s seq %llu · %s"),
                                        serial ? serial : _("no serial"), d->station,
                                        (unsigned long long) d->seq, route_label(route))
                      : g_strdup_printf(_("%s · seq %llu · %s"), serial ? serial : _("no serial"),
                                        (unsigned long long) d->seq, route_label(route));
    gtk_label_set_text(self->detail_title, title);
    g_free(title);
    show_images(self, d->images);

    /* the facts: what was decided, by whom, with which model */
    GtkWidget *c;
    while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->facts_grid))))
        gtk_grid_remove(self->facts_grid, c);
    int row = 0;
    char *t, *when = local_time(json_string_value(json_object_get(dec, "ts")));
    if (json_is_object(ov))
        t = g_strdup_printf(_("%s, overriding the proposal %s"), route_label(route),
                            route_label(json_string_value(json_object_get(ov, "from"))));
    else
        t = g_strdup_printf(_("%s, the proposal confirmed"), route_label(route));
    add_fact(self, &row, _("Route"), t, FALSE);
    g_free(t);
    if (proposal && !strcmp(proposal, "review")) {
        json_t *why = insp ? json_object_get(insp, "review_why") : NULL;
        GString *w = g_string_new(NULL);
        size_t i;
        json_t *v;
        json_array_foreach(why, i, v)
            g_string_append_printf(w, "%s%s", w->len ? "; " : "",
                                   rh_review_why_label(json_string_value(v)));
        t = g_strdup_printf(_("review: %s"), w->len ? w->str : "–");
        add_fact(self, &row, _("Proposal"), t, FALSE);
        g_free(t);
        g_string_free(w, TRUE);
    }
    const char *op = json_string_value(json_object_get(dec, "operator"));
    const char *role = json_string_value(json_object_get(dec, "role"));
    t = g_strdup_printf(_("%s (%s) at %s"), op ? op : "?",
                        role && !strcmp(role, "supervisor") ? _("supervisor") : _("technician"),
                        when);
    add_fact(self, &row, json_is_object(ov) ? _("Overridden by") : _("Confirmed by"), t, FALSE);
    g_free(t);
    g_free(when);
    if (json_is_object(ov)) {
        const char *code = json_string_value(json_object_get(ov, "reason_code"));
        const char *text = json_string_value(json_object_get(ov, "text"));
        t = g_strdup_printf("%s%s%s", code ? code : "?", text ? " — " : "", text ? text : "");
        add_fact(self, &row, _("Why"), t, FALSE);
        g_free(t);
        const char *sup = json_string_value(json_object_get(ov, "supervisor"));
        add_fact(self, &row, _("Approved by"), sup ? sup : _("no supervisor needed"), FALSE);
    }
    const char *family = json_string_value(json_object_get(dec, "family"));
    json_t *rev = insp ? json_object_get(insp, "family_revision") : NULL;
    t = json_is_integer(rev) ? g_strdup_printf(_("%s, revision %lld"), family ? family : "?",
                                               (long long) json_integer_value(rev))
                             : g_strdup_printf(_("%s, revision unknown"), family ? family : "?");
    add_fact(self, &row, _("Family"), t, FALSE);
    g_free(t);
    add_fact(self, &row, _("Part number"), json_string_value(json_object_get(dec, "part_number")),
             FALSE);
    add_fact(self, &row, _("Model hash"), json_string_value(json_object_get(dec, "model_hash")),
             TRUE);
    const char *sw = json_string_value(json_object_get(dec, "software"));
    const char *isa = json_string_value(json_object_get(dec, "isa"));
    t = g_strdup_printf(_("%s, instruction set %s"), sw ? sw : "?", isa ? isa : "?");
    add_fact(self, &row, _("Software"), t, FALSE);
    g_free(t);
    json_t *cal = json_object_get(dec, "calibration");
    if (json_is_object(cal)) {
        json_t *mpp = json_object_get(cal, "mm_per_px");
        t = json_is_number(mpp) ? g_strdup_printf(_("%.4f mm per pixel"), json_number_value(mpp))
                                : NULL;
        const char *src = json_string_value(json_object_get(cal, "source"));
        const char *srcl = !src                      ? "?"
                           : !strcmp(src, "family") ? _("the family's nominal scale")
                           : !strcmp(src, "record") ? _("a calibration record")
                                                    : src;
        char *u = g_strdup_printf(_("%s (from %s)"), t ? t : "?", srcl);
        add_fact(self, &row, _("Calibration"), u, FALSE);
        g_free(t);
        g_free(u);
    }
    json_t *vr = json_object_get(dec, "value_retained");
    if (json_is_object(vr)) {
        t = g_strdup_printf(_("%.0f %% · %.1f kg new material · %.1f kg CO₂e avoided"),
                            100 * json_number_value(json_object_get(vr, "fraction")),
                            json_number_value(json_object_get(vr, "material_kg")),
                            json_number_value(json_object_get(vr, "co2e_kg")));
        add_fact(self, &row, _("Value retained"), t, FALSE);
        g_free(t);
    }
    add_fact(self, &row, _("Core credit"),
             credit_label(json_string_value(json_object_get(dec, "credit"))), FALSE);
    const char *station = json_string_value(json_object_get(dec, "station"));
    t = g_strdup_printf(_("station %s, session %lld, inspection record %lld"),
                        station ? station : "?",
                        (long long) json_integer_value(json_object_get(dec, "session")),
                        (long long) d->want_n);
    add_fact(self, &row, _("Where"), t, FALSE);
    g_free(t);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(dec, "evidence"), i, e) {
        const char *kind = json_string_value(json_object_get(e, "kind"));
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        t = g_strdup_printf("%s %s", kind ? kind : "?", sha ? sha : "?");
        add_fact(self, &row, i == 0 ? _("Evidence SHA-256") : "", t, TRUE);
        g_free(t);
    }
    const char *hash = json_string_value(json_object_get(chain, "hash"));
    t = g_strdup_printf(_("record %lld, hash %s"),
                        (long long) json_integer_value(json_object_get(chain, "n")),
                        hash ? hash : "?");
    add_fact(self, &row, _("Chain"), t, TRUE);
    g_free(t);

    show_reasons(self, json_object_get(dec, "reasons"));
    /* every finding with its measurements */
    clear_box(GTK_WIDGET(self->findings_box));
    json_t *findings = insp ? json_object_get(insp, "findings") : NULL;
    json_t *f;
    json_array_foreach(findings, i, f) {
        t = finding_text(f);
        gtk_box_append(self->findings_box, value_label(t, FALSE));
        g_free(t);
    }
    if (insp) {
        json_t *an = json_object_get(insp, "anomaly");
        if (json_is_object(an)) {
            t = g_strdup_printf(_("Anomaly: score %.2f, largest region %.1f mm²"),
                                json_number_value(json_object_get(an, "score")),
                                json_number_value(json_object_get(an, "area_mm2")));
            gtk_box_append(self->findings_box, value_label(t, FALSE));
            g_free(t);
        }
    }
    if (!insp && is_site(d->store)) {
        t = g_strdup_printf(_("The site holds the decisions only: the findings are in the "
                              "inspection record kept in station %s's own store."),
                            d->station);
        gtk_box_append(self->findings_box, value_label(t, FALSE));
        g_free(t);
    } else if (!insp)
        gtk_box_append(self->findings_box,
                       value_label(_("✖ The inspection record was not found."), FALSE));
    else if (json_array_size(findings) == 0)
        gtk_box_append(self->findings_box, value_label(_("Nothing found."), FALSE));
    gtk_stack_set_visible_child_name(self->detail_stack, "detail");
    au_show_chain(self);
}

static void detail_done(GObject *source, GAsyncResult *res, gpointer data)
{
    RhAudit *self = RH_AUDIT(source);
    Detail *d = g_task_get_task_data(G_TASK(res));
    GError *err = NULL;
    gboolean ok = g_task_propagate_boolean(G_TASK(res), &err);
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) || d->gen != self->detail_gen) {
        g_clear_error(&err);
        return;
    }
    if (!ok) {
        char *t = g_strdup_printf(_("Decision %llu could not be opened: %s"),
                                  (unsigned long long) d->seq, err->message);
        gtk_label_set_text(self->detail_empty, t);
        gtk_stack_set_visible_child_name(self->detail_stack, "empty");
        g_free(t);
        g_error_free(err);
        return;
    }
    self->open_verify_rc = d->verify_rc;
    g_free(self->open_verify_why);
    self->open_verify_why = g_strdup(d->verify_why);
    show_detail(self, d);
    if (is_site(d->store)) {
        guint shown = 0;
        for (guint i = 0; d->images && i < d->images->len; i++)
            shown += ((Image *) d->images->pdata[i])->texture != NULL;
        g_message("audit: opened station=%s seq=%" G_GUINT64_FORMAT " serial=%s images=%u "
                  "shown=%u signature=%s",
                  d->station, d->seq, self->open_serial ? self->open_serial : "-",
                  d->images ? d->images->len : 0, shown, d->verify_rc == 0 ? "ok" : "BAD");
        return;
    }
    g_message("audit: opened seq=%" G_GUINT64_FORMAT " serial=%s images=%u", d->seq,
              self->open_serial ? self->open_serial : "-", d->images ? d->images->len : 0);
}

static void au_open(RhAudit *self, const char *station, guint64 seq)
{
    if (!self->store || seq == 0 || (is_site(self->store) && !station))
        return;
    self->open_seq = seq;
    g_free(self->open_station);
    self->open_station = g_strdup(station);
    Detail *d = g_new0(Detail, 1);
    d->store = g_atomic_rc_box_acquire(self->store);
    d->station = g_strdup(station);
    d->seq = seq;
    d->gen = ++self->detail_gen;
    GTask *task = g_task_new(self, self->cancel, detail_done, NULL);
    g_task_set_source_tag(task, au_open);
    g_task_set_task_data(task, d, detail_free);
    g_task_run_in_thread(task, detail_thread);
    g_object_unref(task);
}

static void on_selected(GtkSingleSelection *sel, GParamSpec *pspec, RhAudit *self)
{
    RhAuditRow *r = gtk_single_selection_get_selected_item(sel);
    if (!r || (self->filling && r->seq == self->open_seq &&
               g_strcmp0(r->station, self->open_station) == 0))
        return; /* a refresh that kept the same decision selected: nothing to load */
    au_open(self, r->station, r->seq);
}

static void on_activate(GtkColumnView *view, guint pos, RhAudit *self)
{
    RhAuditRow *r = g_list_model_get_item(G_LIST_MODEL(self->selection), pos);
    if (r) {
        au_open(self, r->station, r->seq);
        g_object_unref(r);
    }
}

/* --- the chain ---------------------------------------------------------------------------- */
typedef struct {
    AuditStore *store;
    guint gen;
    int rc;
    ra_verify_report_t report;
    ra_site_verify_report_t site_report;
} Verify;

static void verify_free(gpointer p)
{
    Verify *v = p;
    astore_unref(v->store);
    g_free(v);
}

static void verify_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    Verify *v = data;
    GError *err = NULL;
    if (is_site(v->store)) {
        /* every decision of every station: signatures with the keys the site holds */
        ra_site_t *site = asite_open(v->store, &err);
        if (!site) {
            g_task_return_error(task, err);
            return;
        }
        v->rc = ra_site_verify(site, &v->site_report);
        if (v->rc != 0 && !v->site_report.what[0])
            g_strlcpy(v->site_report.what, rv_last_error(), sizeof v->site_report.what);
        ra_site_close(&site);
        g_task_return_boolean(task, TRUE);
        return;
    }
    ra_store_t *st = astore_get(v->store, &err);
    if (!st) {
        g_task_return_error(task, err);
        return;
    }
    v->rc = ra_store_verify(st, &v->report);
    if (v->rc != 0 && !v->report.what[0])
        g_strlcpy(v->report.what, rv_last_error(), sizeof v->report.what);
    g_task_return_boolean(task, TRUE);
}

/* The site's verification in words, and the opened decision's own check. */
static void au_show_site_check(RhAudit *self)
{
    char *t = NULL, *mine = NULL;
    const ra_site_verify_report_t *r = &self->site_report;
    if (!self->verified_once)
        t = g_strdup(self->verifying ? _("Checking every signature the site holds…")
                                     : _("The site was not checked yet."));
    else if (self->verify_rc == 0)
        t = g_strdup_printf(_("✔ Site verified: %lld decisions of %lld stations, every signature "
                              "checks with the station's key the site holds (checked at %s)."),
                            r->decisions, r->stations, self->verified_clock);
    else if (r->station[0])
        t = g_strdup_printf(_("✖ The site does not verify after %lld decisions: %s"),
                            r->decisions, r->what);
    else
        t = g_strdup_printf(_("✖ The site database could not be checked: %s"), r->what);
    if (self->open_seq && self->open_station) {
        if (self->open_verify_rc == 0)
            mine = g_strdup_printf(_("✔ Signature verified: this decision is as station %s "
                                     "signed it (seq %llu), and the site's columns agree."),
                                   self->open_station, (unsigned long long) self->open_seq);
        else
            mine = g_strdup_printf(_("✖ This decision does not verify: %s"),
                                   self->open_verify_why ? self->open_verify_why : "?");
    }
    au_status(self, t);
    gtk_label_set_text(self->chain_label, mine ? mine : t);
    if (mine && self->open_verify_rc != 0)
        gtk_widget_add_css_class(GTK_WIDGET(self->chain_label), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(self->chain_label), "error");
    g_free(t);
    g_free(mine);
}

/* The verification in words, for the whole store and for the opened decision. */
static void au_show_chain(RhAudit *self)
{
    if (is_site(self->store)) {
        au_show_site_check(self);
        return;
    }
    char *t = NULL, *mine = NULL;
    const ra_verify_report_t *r = &self->report;
    if (!self->verified_once) {
        t = g_strdup(self->verifying ? _("Checking the chain…") : _("The chain was not checked yet."));
    } else if (self->verify_rc == 0) {
        t = g_strdup_printf(_("✔ Chain verified through record %lld (%lld records, %lld evidence "
                              "files; checked at %s)."),
                            (long long) r->records, (long long) r->records,
                            (long long) r->evidence, self->verified_clock);
        if (self->open_seq) {
            if (self->open_chain_n <= r->records)
                mine = g_strdup_printf(_("✔ Chain verified through record %lld: this decision "
                                         "(record %lld) is unaltered."),
                                       (long long) r->records, (long long) self->open_chain_n);
            else
                mine = g_strdup_printf(_("This decision (record %lld) is newer than the last "
                                         "check (through record %lld): verify again."),
                                       (long long) self->open_chain_n, (long long) r->records);
        }
    } else {
        if (r->first_bad > 0)
            t = g_strdup_printf(_("✖ Chain broken: first broken record %lld: %s"),
                                (long long) r->first_bad, r->what);
        else
            t = g_strdup_printf(_("✖ The store does not verify: %s"), r->what);
        if (self->open_seq) {
            if (r->first_bad > 0 && self->open_chain_n < r->first_bad)
                mine = g_strdup_printf(_("This decision (record %lld) lies before the first broken "
                                         "record %lld: the chain holds up to it (the break: %s)."),
                                       (long long) self->open_chain_n, (long long) r->first_bad,
                                       r->what);
            else
                mine = g_strdup_printf(_("✖ This decision (record %lld) does not verify: %s"),
                                       (long long) self->open_chain_n, r->what);
        }
    }
    au_status(self, t);
    if (mine) {
        gtk_label_set_text(self->chain_label, mine);
        gboolean bad = self->verify_rc != 0 &&
                       !(r->first_bad > 0 && self->open_chain_n < r->first_bad);
        if (bad)
            gtk_widget_add_css_class(GTK_WIDGET(self->chain_label), "error");
        else
            gtk_widget_remove_css_class(GTK_WIDGET(self->chain_label), "error");
    } else {
        gtk_label_set_text(self->chain_label, t);
    }
    g_free(t);
    g_free(mine);
}

static void verify_done(GObject *source, GAsyncResult *res, gpointer data)
{
    RhAudit *self = RH_AUDIT(source);
    Verify *v = g_task_get_task_data(G_TASK(res));
    GError *err = NULL;
    gboolean ok = g_task_propagate_boolean(G_TASK(res), &err);
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) || v->gen != self->verify_gen) {
        g_clear_error(&err);
        return;
    }
    self->verifying = FALSE;
    gtk_widget_set_sensitive(GTK_WIDGET(self->verify_button), TRUE);
    if (!ok) {
        self->verified_once = TRUE;
        self->verify_rc = -1;
        memset(&self->report, 0, sizeof self->report);
        g_strlcpy(self->report.what, err->message, sizeof self->report.what);
        memset(&self->site_report, 0, sizeof self->site_report);
        g_strlcpy(self->site_report.what, err->message, sizeof self->site_report.what);
        g_error_free(err);
    } else {
        self->verified_once = TRUE;
        self->verify_rc = v->rc;
        self->report = v->report;
        self->site_report = v->site_report;
    }
    self->verified_at = g_get_monotonic_time();
    GDateTime *now = g_date_time_new_now_local();
    g_free(self->verified_clock);
    self->verified_clock = g_date_time_format(now, "%H:%M:%S");
    g_date_time_unref(now);
    if (is_site(v->store) && self->verify_rc == 0)
        g_message("audit: site verified: %lld decisions of %lld stations",
                  self->site_report.decisions, self->site_report.stations);
    else if (is_site(v->store))
        g_message("audit: site verification failed: %s", self->site_report.what);
    else if (self->verify_rc == 0)
        g_message("audit: chain verified through record %lld", (long long) self->report.records);
    else
        g_message("audit: chain broken at record %lld: %s", (long long) self->report.first_bad,
                  self->report.what);
    au_show_chain(self);
}

static void au_verify(RhAudit *self)
{
    if (!self->store || self->verifying)
        return;
    self->verifying = TRUE;
    gtk_widget_set_sensitive(GTK_WIDGET(self->verify_button), FALSE);
    Verify *v = g_new0(Verify, 1);
    v->store = g_atomic_rc_box_acquire(self->store);
    v->gen = ++self->verify_gen;
    if (!self->verified_once)
        au_show_chain(self);
    GTask *task = g_task_new(self, self->cancel, verify_done, NULL);
    g_task_set_source_tag(task, au_verify);
    g_task_set_task_data(task, v, verify_free);
    g_task_run_in_thread(task, verify_thread);
    g_object_unref(task);
}

/* --- export with the real exporter -------------------------------------------------------- */
static char *exporter_path(void)
{
    const char *env = g_getenv("REMAN_AUDIT");
    if (env && *env)
        return g_strdup(env);
    /* beside this program (build/bin, or the installed bindir), else on PATH */
    char *self_exe = g_file_read_link("/proc/self/exe", NULL);
    if (self_exe) {
        char *dir = g_path_get_dirname(self_exe);
        char *p = g_build_filename(dir, "reman-audit", NULL);
        g_free(dir);
        g_free(self_exe);
        if (g_file_test(p, G_FILE_TEST_IS_EXECUTABLE))
            return p;
        g_free(p);
    }
    return g_find_program_in_path("reman-audit");
}

typedef struct {
    RhAudit *self; /* a reference */
    char *path, *format;
    gboolean narrowed; /* the search had filters the exporter does not take */
} Export;

static void export_done(GObject *source, GAsyncResult *res, gpointer data)
{
    Export *x = data;
    GSubprocess *proc = G_SUBPROCESS(source);
    char *out = NULL, *errs = NULL;
    GError *err = NULL;
    gboolean ok = g_subprocess_communicate_utf8_finish(proc, res, &out, &errs, &err);
    RhAudit *self = x->self;
    if (!g_cancellable_is_cancelled(self->cancel)) {
        char *t;
        gboolean done = ok && g_subprocess_get_if_exited(proc) &&
                        g_subprocess_get_exit_status(proc) == 0;
        if (!ok) {
            t = g_strdup_printf(_("✖ The export failed: %s"), err->message);
        } else if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
            char *why = g_strstrip(g_strdup(errs && *errs ? errs : _("no message")));
            t = g_strdup_printf(_("✖ reman-audit export failed (status %d): %s"),
                                g_subprocess_get_if_exited(proc)
                                    ? g_subprocess_get_exit_status(proc)
                                    : -1,
                                why);
            g_free(why);
        } else {
            t = x->narrowed
                    ? g_strdup_printf(_("✔ Report (%s) saved to %s. It holds every decision of "
                                        "the dates searched: the exporter does not filter by "
                                        "serial, family, route or operator."),
                                      x->format, x->path)
                    : g_strdup_printf(_("✔ Report (%s) saved to %s"), x->format, x->path);
        }
        au_status(self, t);
        g_message("audit: export %s to %s: %s", x->format, x->path, done ? "done" : "failed");
        g_free(t);
    }
    g_clear_error(&err);
    g_free(out);
    g_free(errs);
    g_object_unref(x->self);
    g_free(x->path);
    g_free(x->format);
    g_free(x);
}

static void au_export_to(RhAudit *self, const char *format, const char *path)
{
    if (is_site(self->store) && strcmp(format, "html") == 0) {
        /* the html report reads its thumbnails from a station store */
        au_status(self, _("✖ The site database exports as CSV or JSON: choose one of those "
                          "(the HTML report needs a station's store)."));
        g_message("audit: export %s to %s: failed: html from the site", format, path);
        return;
    }
    char *exe = exporter_path();
    if (!exe) {
        au_status(self, _("✖ reman-audit was not found beside this program or on PATH."));
        g_message("audit: export %s to %s: failed: no reman-audit", format, path);
        return;
    }
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, exe);
    g_ptr_array_add(argv, "export");
    g_ptr_array_add(argv, is_site(self->store) ? "--site" : "--store");
    g_ptr_array_add(argv, is_site(self->store) ? self->store->conninfo : self->store->dir);
    g_ptr_array_add(argv, "--format");
    g_ptr_array_add(argv, (gpointer) format);
    g_ptr_array_add(argv, "--out");
    g_ptr_array_add(argv, (gpointer) path);
    if (self->export_from) {
        g_ptr_array_add(argv, "--from");
        g_ptr_array_add(argv, self->export_from);
    }
    if (self->export_to) {
        g_ptr_array_add(argv, "--to");
        g_ptr_array_add(argv, self->export_to);
    }
    g_ptr_array_add(argv, NULL);
    GError *err = NULL;
    GSubprocess *proc = g_subprocess_newv((const char *const *) argv->pdata,
                                          G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                              G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                          &err);
    g_ptr_array_unref(argv);
    g_free(exe);
    if (!proc) {
        char *t = g_strdup_printf(_("✖ The export could not start: %s"), err->message);
        au_status(self, t);
        g_free(t);
        g_error_free(err);
        return;
    }
    char *busy = g_strdup_printf(_("Exporting %s to %s…"), format, path);
    au_status(self, busy);
    g_free(busy);
    Export *x = g_new0(Export, 1);
    x->self = g_object_ref(self);
    x->path = g_strdup(path);
    x->format = g_strdup(format);
    x->narrowed = *gtk_editable_get_text(GTK_EDITABLE(self->serial_entry)) ||
                  gtk_drop_down_get_selected(self->family_dropdown) > 0 ||
                  gtk_drop_down_get_selected(self->station_dropdown) > 0 ||
                  gtk_drop_down_get_selected(self->route_dropdown) > 0 ||
                  gtk_drop_down_get_selected(self->operator_dropdown) > 0;
    g_subprocess_communicate_utf8_async(proc, NULL, NULL, export_done, x);
    g_object_unref(proc);
}

static const char *selected_format(RhAudit *self)
{
    static const char *const formats[] = {"html", "csv", "json"};
    guint i = gtk_drop_down_get_selected(self->format_dropdown);
    return i < G_N_ELEMENTS(formats) ? formats[i] : "html";
}

static void on_chooser_response(GtkNativeDialog *dialog, int response, RhAudit *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        GFile *file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        char *path = file ? g_file_get_path(file) : NULL;
        if (path)
            au_export_to(self, self->export_format, path);
        else
            au_status(self, _("✖ Choose a local file for the report."));
        g_free(path);
        g_clear_object(&file);
    }
    gtk_native_dialog_destroy(dialog);
    g_clear_object(&self->chooser);
}

static void on_export_clicked(GtkButton *b, RhAudit *self)
{
    if (!self->store || self->chooser)
        return;
    g_free(self->export_format);
    self->export_format = g_strdup(selected_format(self));
    GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
    self->chooser = gtk_file_chooser_native_new(_("Export the audit report"),
                                                GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                                GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
                                                _("_Cancel"));
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
    GDateTime *now = g_date_time_new_now_local();
    char *day = g_date_time_format(now, "%Y%m%d");
    g_date_time_unref(now);
    g_mutex_lock(&self->store->lock);
    char *name = g_strdup_printf("reman-audit-%s-%s.%s",
                                 is_site(self->store)       ? "site"
                                 : self->store->station[0] ? self->store->station
                                                           : "station",
                                 day, self->export_format);
    g_mutex_unlock(&self->store->lock);
    gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->chooser), name);
    g_free(name);
    g_free(day);
    g_signal_connect(self->chooser, "response", G_CALLBACK(on_chooser_response), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

/* --- signals ------------------------------------------------------------------------------ */
static void on_search(GtkWidget *w, RhAudit *self)
{
    au_search(self);
}

static void on_clear(GtkButton *b, RhAudit *self)
{
    gtk_editable_set_text(GTK_EDITABLE(self->serial_entry), "");
    gtk_editable_set_text(GTK_EDITABLE(self->from_entry), "");
    gtk_editable_set_text(GTK_EDITABLE(self->to_entry), "");
    gtk_drop_down_set_selected(self->family_dropdown, 0);
    gtk_drop_down_set_selected(self->route_dropdown, 0);
    gtk_drop_down_set_selected(self->operator_dropdown, 0);
    gtk_drop_down_set_selected(self->station_dropdown, 0);
    au_search(self);
}

static void on_filter_changed(GObject *dd, GParamSpec *pspec, RhAudit *self)
{
    if (!self->filling)
        au_search(self);
}

static void on_verify_clicked(GtkButton *b, RhAudit *self)
{
    au_verify(self);
}

static void on_day_selected(GtkCalendar *cal, RhAudit *self)
{
    GDateTime *dt = gtk_calendar_get_date(cal);
    char *s = g_date_time_format(dt, "%Y-%m-%d");
    gboolean from = cal == self->from_calendar;
    gtk_editable_set_text(GTK_EDITABLE(from ? self->from_entry : self->to_entry), s);
    gtk_menu_button_popdown(from ? self->from_button : self->to_button);
    g_free(s);
    g_date_time_unref(dt);
    au_search(self);
}

/* --- the object --------------------------------------------------------------------------- */
static void au_load_css(void)
{
    static gsize done = 0;
    if (!g_once_init_enter(&done))
        return;
    GtkCssProvider *css = gtk_css_provider_new();
    gtk_css_provider_load_from_data(
        css,
        "rhaudit columnview listview row { min-height: 48px; }\n"
        "rhaudit columnview listview row cell { padding: 4px 2px; }\n"
        "rhaudit .rh-results { font-weight: bold; margin: 4px 0; }\n"
        "rhaudit .rh-detail-title { font-size: 1.3em; font-weight: 800; }\n"
        "rhaudit .rh-section { font-size: 1.1em; font-weight: bold; margin-top: 8px; }\n"
        "rhaudit .rh-key { font-weight: bold; }\n"
        "rhaudit .rh-mono { font-family: monospace; font-size: 0.85em; }\n"
        "rhaudit .rh-chain { font-weight: bold; }\n"
        "rhaudit .rh-reason-fired { font-weight: normal; }\n"
        "rhaudit .rh-reason { opacity: 0.75; }\n"
        "rhaudit button, rhaudit dropdown > button, rhaudit menubutton > button,"
        " rhaudit entry, rhaudit stackswitcher > button { min-height: 48px; min-width: 48px; }\n"
        "rhaudit calendar { font-size: 16pt; }\n"
        "rhaudit calendar > grid > label.day-number { min-height: 44px; min-width: 48px; }\n"
        "rhaudit calendar > header > button { min-height: 44px; min-width: 44px; }\n",
        -1);
    gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(css);
    g_once_init_leave(&done, 1);
}

static void rh_audit_init(RhAudit *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    au_load_css();
    self->cancel = g_cancellable_new();
    self->rows = g_list_store_new(RH_TYPE_AUDIT_ROW);
    self->selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(self->rows)));
    gtk_single_selection_set_autoselect(self->selection, FALSE);
    gtk_single_selection_set_can_unselect(self->selection, TRUE);
    gtk_column_view_set_model(self->results_view, GTK_SELECTION_MODEL(self->selection));
    self->station_column = add_column(self, _("Station"), COL_STATION, FALSE);
    gtk_column_view_column_set_visible(self->station_column, FALSE);
    add_column(self, _("Seq"), COL_SEQ, FALSE);
    add_column(self, _("Time"), COL_TIME, FALSE);
    add_column(self, _("Serial"), COL_SERIAL, TRUE);
    add_column(self, _("Family"), COL_FAMILY, FALSE);
    add_column(self, _("Route"), COL_ROUTE, TRUE);
    add_column(self, _("Operator"), COL_OPERATOR, FALSE);
    add_column(self, _("Override"), COL_OVERRIDE, TRUE);
    const char *any_family[] = {_("Any family"), NULL}, *any_op[] = {_("Any operator"), NULL},
               *any_station[] = {_("Any station"), NULL};
    self->families = gtk_string_list_new(any_family);
    self->operators = gtk_string_list_new(any_op);
    self->stations = gtk_string_list_new(any_station);
    gtk_drop_down_set_model(self->station_dropdown, G_LIST_MODEL(self->stations));
    gtk_widget_set_visible(self->station_box, FALSE);
    gtk_drop_down_set_model(self->family_dropdown, G_LIST_MODEL(self->families));
    gtk_drop_down_set_model(self->operator_dropdown, G_LIST_MODEL(self->operators));
    g_signal_connect(self->selection, "notify::selected", G_CALLBACK(on_selected), self);
    g_signal_connect(self->results_view, "activate", G_CALLBACK(on_activate), self);
    g_signal_connect(self->serial_entry, "activate", G_CALLBACK(on_search), self);
    g_signal_connect(self->serial_entry, "search-changed", G_CALLBACK(on_search), self);
    g_signal_connect(self->from_entry, "activate", G_CALLBACK(on_search), self);
    g_signal_connect(self->to_entry, "activate", G_CALLBACK(on_search), self);
    g_signal_connect(self->search_button, "clicked", G_CALLBACK(on_search), self);
    g_signal_connect(self->clear_button, "clicked", G_CALLBACK(on_clear), self);
    g_signal_connect(self->family_dropdown, "notify::selected", G_CALLBACK(on_filter_changed),
                     self);
    g_signal_connect(self->route_dropdown, "notify::selected", G_CALLBACK(on_filter_changed),
                     self);
    g_signal_connect(self->operator_dropdown, "notify::selected", G_CALLBACK(on_filter_changed),
                     self);
    g_signal_connect(self->station_dropdown, "notify::selected", G_CALLBACK(on_filter_changed),
                     self);
    g_signal_connect(self->verify_button, "clicked", G_CALLBACK(on_verify_clicked), self);
    g_signal_connect(self->export_button, "clicked", G_CALLBACK(on_export_clicked), self);
    g_signal_connect(self->view_button, "clicked", G_CALLBACK(on_view_clicked), self);
    g_signal_connect(self->from_calendar, "day-selected", G_CALLBACK(on_day_selected), self);
    g_signal_connect(self->to_calendar, "day-selected", G_CALLBACK(on_day_selected), self);
    gtk_widget_set_sensitive(GTK_WIDGET(self->verify_button), FALSE);
    gtk_widget_set_sensitive(GTK_WIDGET(self->export_button), FALSE);
    gtk_stack_set_visible_child_name(self->detail_stack, "empty");
    gtk_label_set_wrap(self->results_label, TRUE); /* a long error never widens the window */
}

static void rh_audit_dispose(GObject *object)
{
    RhAudit *self = RH_AUDIT(object);
    g_cancellable_cancel(self->cancel);
    if (self->chooser) {
        gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
        g_clear_object(&self->chooser);
    }
    if (self->results_view)
        gtk_column_view_set_model(self->results_view, NULL);
    g_clear_object(&self->selection);
    g_clear_object(&self->rows);
    gtk_widget_dispose_template(GTK_WIDGET(self), RH_TYPE_AUDIT);
    G_OBJECT_CLASS(rh_audit_parent_class)->dispose(object);
}

static void rh_audit_finalize(GObject *object)
{
    RhAudit *self = RH_AUDIT(object);
    astore_unref(self->store);
    g_clear_object(&self->families);
    g_clear_object(&self->operators);
    g_clear_object(&self->stations);
    g_clear_object(&self->cancel);
    g_clear_object(&self->search_stop);
    g_free(self->open_serial);
    g_free(self->open_station);
    g_free(self->open_verify_why);
    g_free(self->verified_clock);
    g_free(self->export_format);
    g_free(self->export_from);
    g_free(self->export_to);
    G_OBJECT_CLASS(rh_audit_parent_class)->finalize(object);
}

static void rh_audit_class_init(RhAuditClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->dispose = rh_audit_dispose;
    object_class->finalize = rh_audit_finalize;
    gtk_widget_class_set_template_from_resource(widget_class, "/org/reman/Station/audit.ui");
    gtk_widget_class_set_css_name(widget_class, "rhaudit");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, RhAudit, name)
    BIND(serial_entry);
    BIND(from_entry);
    BIND(to_entry);
    BIND(from_calendar);
    BIND(to_calendar);
    BIND(from_button);
    BIND(to_button);
    BIND(family_dropdown);
    BIND(route_dropdown);
    BIND(operator_dropdown);
    BIND(station_dropdown);
    BIND(station_box);
    BIND(source_label);
    BIND(format_dropdown);
    BIND(search_button);
    BIND(clear_button);
    BIND(verify_button);
    BIND(export_button);
    BIND(view_button);
    BIND(results_label);
    BIND(status_label);
    BIND(detail_title);
    BIND(chain_label);
    BIND(detail_empty);
    BIND(results_view);
    BIND(detail_stack);
    BIND(image_stack);
    BIND(facts_grid);
    BIND(reasons_box);
    BIND(findings_box);
#undef BIND
}

/* --- public ------------------------------------------------------------------------------- */
RhAudit *rh_audit_new(void)
{
    return g_object_new(RH_TYPE_AUDIT, NULL);
}

/* A new source (store or site): everything shown of the old one goes. */
static void au_set_source(RhAudit *self, AuditStore *source)
{
    astore_unref(self->store);
    self->store = source;
    gboolean site = is_site(source);
    char *where = asource_describe(source);
    gtk_label_set_text(self->source_label, where);
    g_message("audit: %s", where);
    g_free(where);
    gtk_widget_set_visible(self->station_box, site);
    gtk_column_view_column_set_visible(self->station_column, site);
    gtk_button_set_label(self->verify_button, site ? _("_Verify the site") : _("_Verify chain"));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->verify_button),
                                site ? _("Check every decision of every station the site holds: "
                                         "signatures with the station keys, columns, evidence "
                                         "lists")
                                     : _("Check every record's hash and signature and every "
                                         "evidence file"));
    g_free(self->open_station);
    self->open_station = NULL;
    self->search_gen++;
    self->detail_gen++;
    self->verify_gen++;
    self->verifying = self->searching = FALSE;
    self->verified_once = FALSE;
    self->open_seq = 0;
    g_list_store_remove_all(self->rows);
    gtk_stack_set_visible_child_name(self->detail_stack, "empty");
    gtk_widget_set_sensitive(GTK_WIDGET(self->verify_button), self->store != NULL);
    gtk_widget_set_sensitive(GTK_WIDGET(self->export_button), self->store != NULL);
    au_status(self, "");
    if (self->store) {
        au_search(self);
        au_verify(self);
    }
}

void rh_audit_set_store(RhAudit *self, const char *store_dir)
{
    g_return_if_fail(RH_IS_AUDIT(self));
    au_set_source(self, store_dir && *store_dir ? astore_new(store_dir) : NULL);
}

void rh_audit_set_site(RhAudit *self, const char *conninfo, const char *evidence_dir)
{
    g_return_if_fail(RH_IS_AUDIT(self));
    if (!conninfo || !*conninfo) {
        au_set_source(self, self->store && self->store->dir ? astore_new(self->store->dir) : NULL);
        return;
    }
    /* this station's store stays at hand for its own inspection records */
    au_set_source(self, asite_new(conninfo, evidence_dir,
                                  self->store ? self->store->dir : NULL));
}

void rh_audit_refresh(RhAudit *self)
{
    g_return_if_fail(RH_IS_AUDIT(self));
    au_search(self);
    /* the site's check reads every decision of every station: on demand only */
    if (!is_site(self->store) &&
        (!self->verified_once || g_get_monotonic_time() - self->verified_at >= VERIFY_EVERY_US))
        au_verify(self);
}

void rh_audit_show_serial(RhAudit *self, const char *serial)
{
    g_return_if_fail(RH_IS_AUDIT(self));
    self->filling = TRUE; /* one search, not one per cleared filter */
    gtk_editable_set_text(GTK_EDITABLE(self->from_entry), "");
    gtk_editable_set_text(GTK_EDITABLE(self->to_entry), "");
    gtk_drop_down_set_selected(self->family_dropdown, 0);
    gtk_drop_down_set_selected(self->route_dropdown, 0);
    gtk_drop_down_set_selected(self->operator_dropdown, 0);
    gtk_drop_down_set_selected(self->station_dropdown, 0);
    self->filling = FALSE;
    g_signal_handlers_block_by_func(self->serial_entry, on_search, self);
    gtk_editable_set_text(GTK_EDITABLE(self->serial_entry), serial ? serial : "");
    g_signal_handlers_unblock_by_func(self->serial_entry, on_search, self);
    au_search(self);
}

void rh_audit_open_decision(RhAudit *self, guint64 seq)
{
    g_return_if_fail(RH_IS_AUDIT(self));
    au_open(self, NULL, seq);
}

void rh_audit_export(RhAudit *self, const char *format, const char *path)
{
    g_return_if_fail(RH_IS_AUDIT(self));
    g_return_if_fail(format != NULL && path != NULL);
    if (self->store)
        au_export_to(self, format, path);
}
