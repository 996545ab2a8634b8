/* rh_supervisor.c - the supervisor view: live figures of every station on the line.
 *
 * Each station followed has its own line subscriber (ra_line.h) on its own GThread: the
 * subscriber belongs to that thread, which parses each decision into an RhDec and hands
 * events to the main loop in batches (one idle source for all stations). The view keeps
 * the decisions of this shift (keyed by station and inspection, so a correction replaces
 * the earlier decision) and counts them incrementally; the p-chart keeps the latest
 * decisions of each family whatever the shift. The queue of inspections waiting for a
 * decision is read from this station's own store in a GTask. dispose() cancels and waits
 * for the store task, then stops and joins every line thread.
 *
 * Pointed at the site database (rh_supervisor_set_site), the line threads stop and a GTask
 * polls the site every 2 s instead (only the decisions not read yet, and the health view);
 * its decisions feed the same counts (sv_apply_decision). */
#include "rh_supervisor.h"
#include "rh_audit.h"

#include <glib/gi18n.h>
#include <jansson.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "ra/ra_line.h"
#include "ra/ra_site.h"
#include "rv/rv_error.h"

enum { R_REUSE, R_REMANUFACTURE, R_REFURBISH, R_REPAIR, R_SCRAP, N_ROUTES };
static const char *const s_route_ids[N_ROUTES] = {"reuse", "remanufacture", "refurbish",
                                                  "repair", "scrap"};

#define PCHART_K 10          /* parts per p-chart subgroup */
#define PCHART_GROUPS 20     /* complete subgroups drawn (plus the one in progress) */
#define PSAMPLES_MAX 2000    /* samples kept per family */
#define HOURS_MAX 24         /* hour buckets of a shift */
#define DRAIN_MAX 2000       /* line events applied per main-loop turn */
#define QUEUE_ROWS 8         /* waiting inspections listed; the rest counted */
#define QUEUE_EVERY_US (10 * G_USEC_PER_SEC)
#define STALE_MS 3000
#define SITE_POLL_MS 2000 /* the site database read this often (site mode) */
#define SITE_BATCH 2000   /* decisions per station per poll; more: polled again at once */
#define KEEP_US ((gint64) 24 * 3600 * G_USEC_PER_SEC) /* decisions kept for the shift figures */        /* the subscriber's default: RA_LINE_STALE after 3 s */

/* --- one decision, as parsed from the line ---------------------------------------------- */
typedef struct {
    char *station, *family, *op, *serial;
    guint64 seq;
    gint64 insp_n;
    gint64 ts; /* unix microseconds */
    int route;     /* 0..N_ROUTES-1 */
    int proposal;  /* a route, or -1: review */
    gboolean override, upgrade, review;
    gboolean has_value;
    double material, co2;
    GStrv codes; /* the reasons that fired, each code once */
} RhDec;

static void dec_free(RhDec *d)
{
    if (!d)
        return;
    g_free(d->station);
    g_free(d->family);
    g_free(d->op);
    g_free(d->serial);
    g_strfreev(d->codes);
    g_free(d);
}

static int route_index(const char *s)
{
    for (int i = 0; s && i < N_ROUTES; i++)
        if (strcmp(s, s_route_ids[i]) == 0)
            return i;
    return -1;
}

static const char *route_label(int r)
{
    switch (r) {
    case R_REUSE: return _("Reuse");
    case R_REMANUFACTURE: return _("Remanufacture");
    case R_REFURBISH: return _("Refurbish");
    case R_REPAIR: return _("Repair");
    case R_SCRAP: return _("Scrap");
    default: return "?";
    }
}

static gint64 parse_ts(const char *s)
{
    if (!s)
        return 0;
    GDateTime *dt = g_date_time_new_from_iso8601(s, NULL);
    if (!dt)
        return 0;
    gint64 us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
    g_date_time_unref(dt);
    return us;
}

static char *jdup(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return g_strdup(s && *s ? s : NULL);
}

/* A decision message (docs/protocol.md) into an RhDec; NULL when it is not one. Runs on
 * the line thread. */
static RhDec *dec_parse(const char *msg, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(msg, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    RhDec *d = g_new0(RhDec, 1);
    d->station = jdup(root, "station");
    d->family = jdup(root, "family");
    d->op = jdup(root, "operator");
    d->serial = jdup(root, "serial");
    d->seq = (guint64) json_integer_value(json_object_get(root, "seq"));
    d->insp_n = json_integer_value(json_object_get(json_object_get(root, "inspection"), "n"));
    d->ts = parse_ts(json_string_value(json_object_get(root, "ts")));
    d->route = route_index(json_string_value(json_object_get(root, "route")));
    const char *prop = json_string_value(json_object_get(root, "proposal"));
    d->review = prop && strcmp(prop, "review") == 0;
    d->proposal = d->review ? -1 : route_index(prop);
    json_t *ov = json_object_get(root, "override");
    /* deciding a review is not overruling the grader: only an override of a route counts */
    d->override = json_is_object(ov) && !d->review;
    d->upgrade = d->override && d->proposal >= 0 && d->route >= 0 && d->route < d->proposal;
    json_t *vr = json_object_get(root, "value_retained");
    if (json_is_object(vr)) {
        d->has_value = TRUE;
        d->material = json_number_value(json_object_get(vr, "material_kg"));
        d->co2 = json_number_value(json_object_get(vr, "co2e_kg"));
    }
    GPtrArray *codes = g_ptr_array_new();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(root, "reasons"), i, r) {
        json_t *fired = json_object_get(r, "fired");
        const char *code = json_string_value(json_object_get(r, "code"));
        if (!code || !*code || (fired && !json_is_true(fired)))
            continue;
        gboolean seen = FALSE;
        for (guint k = 0; k < codes->len && !seen; k++)
            seen = strcmp(codes->pdata[k], code) == 0;
        if (!seen)
            g_ptr_array_add(codes, g_strdup(code));
    }
    g_ptr_array_add(codes, NULL);
    d->codes = (GStrv) g_ptr_array_free(codes, FALSE);
    json_decref(root);
    if (!d->station || d->route < 0 || d->seq == 0) {
        dec_free(d);
        return NULL;
    }
    if (!d->family)
        d->family = g_strdup("?");
    if (!d->op)
        d->op = g_strdup("?");
    return d;
}

/* --- line events handed to the main loop ------------------------------------------------ */
#define EV_FAILED 100 /* the subscriber failed (detail says) */

typedef struct {
    int kind; /* ra_line_event_kind_t or EV_FAILED */
    guint slot;
    char *station, *detail;
    guint64 seq;
    RhDec *dec;
    gint64 waiting; /* heartbeat: upgrade requests waiting at the station, -1 when not said */
} RhEvent;

static void event_free(gpointer p)
{
    RhEvent *e = p;
    g_free(e->station);
    g_free(e->detail);
    dec_free(e->dec);
    g_free(e);
}

/* One station's line thread. */
typedef struct {
    RhSupervisor *owner; /* outlives the thread: dispose() joins it */
    guint slot;
    char *pub, *replay;
    gint stop;
    GMutex lock;
    GCond cond;
    int started; /* 0 starting, 1 running, -1 refused (err) */
    char err[512];
    GThread *thread;
} RhFeed;

typedef enum { ST_CONNECTING, ST_UP, ST_STALE, ST_DOWN } RhState;

/* One station as the view shows it. */
typedef struct {
    char *pub, *replay, *id;
    RhState state;
    gint64 heard;  /* monotonic µs of the last message */
    gint64 since;  /* monotonic µs the state began */
    guint64 last_seq;
    guint parts;   /* this shift */
    gint64 waiting; /* upgrade requests waiting there for a supervisor (its heartbeat) */
    GtkWidget *row;
    GtkLabel *state_label, *name_label, *detail_label;
    /* from the site's health view (site mode) */
    gboolean from_site;
    char *site_status;
    long long lag, rejected;
    double last_seen_s;
    guint64 site_seq;
} RhStation;

static void station_free(gpointer p)
{
    RhStation *s = p;
    g_free(s->site_status);
    g_free(s->pub);
    g_free(s->replay);
    g_free(s->id);
    g_free(s);
}

typedef struct {
    guint parts, scrap;
} FamAgg;
typedef struct {
    guint decisions, overrides, upgrades, reviews;
} OpAgg;
typedef struct {
    gint64 ts, insp_n;
    GQuark station;
    gboolean scrap;
} PSample;

/* An inspection waiting for a decision (a review), or for a supervisor to answer the
 * upgrade a technician asked for (request > 0). */
typedef struct {
    gint64 n, ts;
    char *serial, *family, *station, *why;
    gboolean review;        /* the grader asked for a person */
    gint64 request, req_ts; /* the upgrade request waiting, 0 when none */
    char *req_op, *req_from, *req_route, *req_reason, *req_text;
} RhWait;

static void wait_free(gpointer p)
{
    RhWait *w = p;
    g_free(w->serial);
    g_free(w->family);
    g_free(w->station);
    g_free(w->why);
    g_free(w->req_op);
    g_free(w->req_from);
    g_free(w->req_route);
    g_free(w->req_reason);
    g_free(w->req_text);
    g_free(w);
}

static void wait_clear_request(RhWait *w)
{
    w->request = w->req_ts = 0;
    g_clear_pointer(&w->req_op, g_free);
    g_clear_pointer(&w->req_from, g_free);
    g_clear_pointer(&w->req_route, g_free);
    g_clear_pointer(&w->req_reason, g_free);
    g_clear_pointer(&w->req_text, g_free);
}

struct _RhSupervisor {
    GtkBox parent_instance;

    GtkLabel *shift_label, *kpi_rate, *kpi_parts, *kpi_scrap, *kpi_material, *kpi_co2;
    GtkLabel *family_summary, *queue_title, *queue_placeholder;
    GtkButton *refresh_button;
    GtkDropDown *family_dropdown;
    GtkDrawingArea *hours_area, *routes_area, *pchart_area, *pareto_area, *operators_area;
    GtkListBox *stations_list, *queue_list;

    /* the line */
    GPtrArray *feeds;    /* RhFeed* */
    GPtrArray *stations; /* RhStation*, same index as feeds */
    GMutex qlock;
    GQueue pending; /* RhEvent*, from the line threads */
    guint idle_id;

    /* this shift */
    gint64 shift_start; /* unix µs */
    gboolean shift_fixed;
    GHashTable *shift; /* "station/inspection" -> RhDec*, the last 24 h */
    guint parts, route_count[N_ROUTES], hour_count[HOURS_MAX];
    double material, co2;
    GHashTable *families, *operators, *reasons; /* -> FamAgg*, OpAgg*, count */
    GHashTable *psamples; /* family -> GArray of PSample */
    GtkStringList *family_model;

    /* the waiting queue */
    ra_store_t *store;
    GCancellable *queue_cancel;
    gboolean queue_running, queue_again;
    gint64 queue_read; /* monotonic µs of the last read started */
    GMutex busy_lock;
    GCond busy_cond;
    int busy;
    GPtrArray *queue; /* RhWait* */

    /* the site database (rh_supervisor_set_site): polled instead of the line */
    struct SitePoll *site;
    GtkLabel *source_label;
    guint site_timer_id, site_again_id;
    gboolean site_polling;
    GHashTable *site_marks; /* station -> highest seq read (guint64 in a pointer-sized box) */
    char *site_error;       /* the last poll's failure (NULL: the site answered) */
    guint site_polls;

    cairo_pattern_t *hatch[5];
    guint tick_id;
    gboolean disposed;
};

G_DEFINE_FINAL_TYPE(RhSupervisor, rh_supervisor, GTK_TYPE_BOX)

enum { SIGNAL_OPEN_INSPECTION, N_SIGNALS };
static guint s_signals[N_SIGNALS];

static void sv_update(RhSupervisor *self);
static void sv_queue_start(RhSupervisor *self);

/* --- the shift ------------------------------------------------------------------------ */
/* Three eight-hour shifts, starting at 06:00, 14:00 and 22:00 local time. */
static gint64 shift_start_for(gint64 now_us)
{
    GDateTime *now = g_date_time_new_from_unix_local(now_us / G_USEC_PER_SEC);
    int h = g_date_time_get_hour(now);
    int start = h >= 22 ? 22 : h >= 14 ? 14 : h >= 6 ? 6 : -2; /* -2: yesterday's 22:00 */
    GDateTime *day = g_date_time_new_local(g_date_time_get_year(now), g_date_time_get_month(now),
                                           g_date_time_get_day_of_month(now), 0, 0, 0);
    GDateTime *s = g_date_time_add_hours(day, start);
    gint64 us = g_date_time_to_unix(s) * G_USEC_PER_SEC;
    g_date_time_unref(s);
    g_date_time_unref(day);
    g_date_time_unref(now);
    return us;
}

static RhStation *station_by_id(RhSupervisor *self, const char *id)
{
    for (guint i = 0; i < self->stations->len; i++) {
        RhStation *s = self->stations->pdata[i];
        if (s->id && strcmp(s->id, id) == 0)
            return s;
    }
    return NULL;
}

/* Add (sign 1) or take away (sign -1) a decision's part in the shift's figures. */
static void sv_count(RhSupervisor *self, const RhDec *d, int sign)
{
    self->parts += sign;
    self->route_count[d->route] += sign;
    gint64 h = (d->ts - self->shift_start) / ((gint64) 3600 * G_USEC_PER_SEC);
    self->hour_count[CLAMP(h, 0, HOURS_MAX - 1)] += sign;
    if (d->has_value) {
        self->material += sign * d->material;
        self->co2 += sign * d->co2;
    }
    FamAgg *f = g_hash_table_lookup(self->families, d->family);
    if (!f) {
        f = g_new0(FamAgg, 1);
        g_hash_table_insert(self->families, g_strdup(d->family), f);
    }
    f->parts += sign;
    if (d->route == R_SCRAP)
        f->scrap += sign;
    OpAgg *o = g_hash_table_lookup(self->operators, d->op);
    if (!o) {
        o = g_new0(OpAgg, 1);
        g_hash_table_insert(self->operators, g_strdup(d->op), o);
    }
    o->decisions += sign;
    o->overrides += d->override ? sign : 0;
    o->upgrades += d->upgrade ? sign : 0;
    o->reviews += d->review ? sign : 0;
    for (int i = 0; d->codes && d->codes[i]; i++) {
        guint c = GPOINTER_TO_UINT(g_hash_table_lookup(self->reasons, d->codes[i]));
        g_hash_table_replace(self->reasons, g_strdup(d->codes[i]), GUINT_TO_POINTER(c + sign));
    }
    RhStation *st = station_by_id(self, d->station);
    if (st)
        st->parts += sign;
}

/* Count the shift's figures again from its decisions (a new shift, a fixed start). */
static void sv_recount(RhSupervisor *self)
{
    self->parts = 0;
    memset(self->route_count, 0, sizeof self->route_count);
    memset(self->hour_count, 0, sizeof self->hour_count);
    self->material = self->co2 = 0;
    g_hash_table_remove_all(self->families);
    g_hash_table_remove_all(self->operators);
    g_hash_table_remove_all(self->reasons);
    for (guint i = 0; i < self->stations->len; i++)
        ((RhStation *) self->stations->pdata[i])->parts = 0;
    GHashTableIter it;
    gpointer key, val;
    gint64 keep = g_get_real_time() - KEEP_US;
    g_hash_table_iter_init(&it, self->shift);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        RhDec *d = val;
        if (d->ts < keep && d->ts < self->shift_start)
            g_hash_table_iter_remove(&it);
        else if (d->ts >= self->shift_start)
            sv_count(self, d, 1);
    }
}

static void sv_psample(RhSupervisor *self, const RhDec *d)
{
    GArray *a = g_hash_table_lookup(self->psamples, d->family);
    if (!a) {
        a = g_array_new(FALSE, FALSE, sizeof(PSample));
        g_hash_table_insert(self->psamples, g_strdup(d->family), a);
        gtk_string_list_append(self->family_model, d->family);
        if (gtk_drop_down_get_selected(self->family_dropdown) == GTK_INVALID_LIST_POSITION)
            gtk_drop_down_set_selected(self->family_dropdown, 0);
    }
    GQuark q = g_quark_from_string(d->station);
    /* a correction of a recent decision replaces its sample */
    for (guint i = a->len; i > 0 && i + 200 > a->len; i--) {
        PSample *p = &g_array_index(a, PSample, i - 1);
        if (p->station == q && p->insp_n == d->insp_n) {
            p->scrap = d->route == R_SCRAP;
            return;
        }
    }
    PSample s = {d->ts, d->insp_n, q, d->route == R_SCRAP};
    g_array_append_val(a, s);
    if (a->len > PSAMPLES_MAX)
        g_array_remove_range(a, 0, a->len - PSAMPLES_MAX);
}

static void sv_apply_decision(RhSupervisor *self, RhStation *st, RhDec *d)
{
    if (d->seq > st->last_seq)
        st->last_seq = d->seq;
    sv_psample(self, d);
    gboolean counted = d->ts >= self->shift_start;
    gboolean keep = d->ts >= g_get_real_time() - KEEP_US;
    if (keep) {
        char *key = g_strdup_printf("%s/%" G_GINT64_FORMAT, d->station, d->insp_n);
        RhDec *old = g_hash_table_lookup(self->shift, key);
        if (old && old->ts >= self->shift_start)
            sv_count(self, old, -1);
        if (counted)
            sv_count(self, d, 1);
        g_hash_table_replace(self->shift, key, d); /* frees old and its key */
    }
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "RH_STATION", d->station, "MESSAGE",
                     "supervisor: station=%s seq=%" G_GUINT64_FORMAT " parts=%u%s", d->station,
                     d->seq, self->parts, counted ? "" : " (before this shift)");
    if (!keep)
        dec_free(d);
}

static void sv_set_state(RhStation *st, RhState state)
{
    if (st->state != state)
        st->since = g_get_monotonic_time();
    st->state = state;
}

static void sv_apply(RhSupervisor *self, RhEvent *e)
{
    if (e->slot >= self->stations->len)
        return;
    RhStation *st = self->stations->pdata[e->slot];
    if (e->station && *e->station && !st->id)
        st->id = g_strdup(e->station);
    gint64 now = g_get_monotonic_time();
    switch (e->kind) {
    case RA_LINE_DECISION:
        st->heard = now;
        if (st->state != ST_DOWN)
            sv_set_state(st, ST_UP);
        if (e->dec) {
            sv_apply_decision(self, st, e->dec);
            e->dec = NULL;
            if (self->store && st->id && strcmp(st->id, ra_store_station(self->store)) == 0)
                self->queue_again = TRUE; /* this station decided: the queue changed */
        } else {
            g_message("supervisor: %s: a decision that could not be read was skipped",
                      st->id ? st->id : st->pub);
        }
        break;
    case RA_LINE_BIRTH:
    case RA_LINE_HEARTBEAT:
        st->heard = now;
        sv_set_state(st, ST_UP);
        if (e->seq > st->last_seq)
            st->last_seq = e->seq;
        if (e->kind == RA_LINE_HEARTBEAT && e->waiting >= 0 && e->waiting != st->waiting) {
            st->waiting = e->waiting;
            g_message("supervisor: station=%s upgrades_waiting=%" G_GINT64_FORMAT,
                      st->id ? st->id : st->pub, st->waiting);
            if (self->store && st->id && strcmp(st->id, ra_store_station(self->store)) == 0)
                self->queue_again = TRUE; /* this station's queue changed */
        }
        if (e->kind == RA_LINE_BIRTH)
            g_message("supervisor: %s", e->detail ? e->detail : "birth");
        break;
    case RA_LINE_DEATH:
        st->heard = now;
        sv_set_state(st, ST_DOWN);
        g_message("supervisor: %s", e->detail ? e->detail : "death");
        break;
    case RA_LINE_STALE:
        if (st->state != ST_DOWN)
            sv_set_state(st, ST_STALE);
        g_message("supervisor: stale: %s", e->detail ? e->detail : "");
        break;
    default: /* gaps, rejected messages, a failed subscriber: for the log */
        g_message("supervisor: %s: %s", st->id ? st->id : st->pub, e->detail ? e->detail : "?");
        break;
    }
}

/* The main loop's side of the line threads: apply what they queued, a bounded number of
 * events per turn so that a long replay never stalls the window. */
static gboolean sv_drain(gpointer data)
{
    RhSupervisor *self = data;
    GQueue batch = G_QUEUE_INIT;
    gboolean more;
    g_mutex_lock(&self->qlock);
    for (int i = 0; i < DRAIN_MAX && !g_queue_is_empty(&self->pending); i++)
        g_queue_push_tail(&batch, g_queue_pop_head(&self->pending));
    more = !g_queue_is_empty(&self->pending);
    if (!more)
        self->idle_id = 0;
    g_mutex_unlock(&self->qlock);
    RhEvent *e;
    while ((e = g_queue_pop_head(&batch))) {
        sv_apply(self, e);
        event_free(e);
    }
    sv_update(self);
    if (self->queue_again && !self->queue_running)
        sv_queue_start(self);
    return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void sv_post(RhSupervisor *self, RhEvent *e)
{
    g_mutex_lock(&self->qlock);
    g_queue_push_tail(&self->pending, e);
    if (!self->idle_id)
        self->idle_id = g_idle_add(sv_drain, self);
    g_mutex_unlock(&self->qlock);
}

static gpointer feed_main(gpointer data)
{
    RhFeed *f = data;
    ra_line_opts_t opts;
    ra_line_opts_default(&opts);
    opts.stale_ms = STALE_MS;
    ra_line_sub_t *sub = ra_line_sub_new(&opts);
    int rc = sub ? ra_line_sub_add(sub, f->pub, f->replay, 0) : -1;
    g_mutex_lock(&f->lock);
    if (rc != 0)
        g_strlcpy(f->err, rv_last_error(), sizeof f->err);
    f->started = rc == 0 ? 1 : -1;
    g_cond_signal(&f->cond);
    g_mutex_unlock(&f->lock);
    if (rc != 0) {
        ra_line_sub_destroy(&sub);
        return NULL;
    }
    char last_err[256] = "";
    while (!g_atomic_int_get(&f->stop)) {
        ra_line_event_t ev;
        int r = ra_line_sub_next(sub, 200, &ev);
        if (r == 0)
            continue;
        RhEvent *e = g_new0(RhEvent, 1);
        e->slot = f->slot;
        if (r < 0) {
            /* reported once per distinct failure, then retried quietly */
            const char *why = rv_last_error();
            if (strcmp(why, last_err) != 0) {
                g_strlcpy(last_err, why, sizeof last_err);
                e->kind = EV_FAILED;
                e->detail = g_strdup(why);
                sv_post(f->owner, e);
            } else {
                g_free(e);
            }
            g_usleep(200 * 1000);
            continue;
        }
        last_err[0] = 0;
        e->kind = ev.kind;
        e->station = g_strdup(ev.station);
        e->seq = ev.seq;
        e->detail = ev.detail[0] ? g_strdup(ev.detail) : NULL;
        if (ev.kind == RA_LINE_DECISION && ev.msg)
            e->dec = dec_parse(ev.msg, ev.len);
        e->waiting = -1;
        if (ev.kind == RA_LINE_HEARTBEAT && ev.msg) {
            json_t *hb = json_loadb(ev.msg, ev.len, 0, NULL);
            json_t *w = json_object_get(hb, "upgrades_waiting");
            if (json_is_integer(w) && json_integer_value(w) >= 0)
                e->waiting = json_integer_value(w);
            json_decref(hb);
        }
        ra_line_event_clear(&ev);
        sv_post(f->owner, e);
    }
    ra_line_sub_destroy(&sub);
    return NULL;
}

static void feed_free(RhFeed *f)
{
    g_mutex_clear(&f->lock);
    g_cond_clear(&f->cond);
    g_free(f->pub);
    g_free(f->replay);
    g_free(f);
}

/* --- the waiting queue (a GTask over this station's store) ------------------------------ */
typedef struct {
    GHashTable *waiting; /* &RhWait.n -> RhWait* */
    GCancellable *cancel;
} QueueScan;

static int queue_scan_record(void *arg, int64_t n, const char *kind, const char *body,
                             size_t len)
{
    QueueScan *q = arg;
    if (g_cancellable_is_cancelled(q->cancel))
        return 1;
    gboolean insp = strcmp(kind, "inspection") == 0;
    gboolean request = strcmp(kind, "upgrade-request") == 0;
    gboolean refusal = strcmp(kind, "upgrade-refused") == 0;
    if (insp ? !strstr(body, "\"proposal\":\"review\"")
             : !request && ((strcmp(kind, "decision") != 0 && !refusal) ||
                            g_hash_table_size(q->waiting) == 0))
        return 0;
    if (!insp && !request && !refusal) {
        /* the record number a decision cites, read from the store's canonical JSON (keys
         * sorted, compact: "inspection":{"id":"...","n":N}) without parsing it all */
        const char *p = strstr(body, "\"inspection\":{");
        const char *nk = p ? strstr(p, "\"n\":") : NULL;
        const char *end = p ? strchr(p, '}') : NULL;
        if (nk && end && nk < end) {
            gint64 cited = g_ascii_strtoll(nk + 4, NULL, 10);
            g_hash_table_remove(q->waiting, &cited);
            return 0;
        }
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return 0;
    gint64 cited = json_integer_value(json_object_get(json_object_get(root, "inspection"), "n"));
    if (request) {
        /* an upgrade asked for: the inspection waits for a supervisor (a later request for
         * it replaces this one) */
        RhWait *w = g_hash_table_lookup(q->waiting, &cited);
        if (!w) {
            w = g_new0(RhWait, 1);
            w->n = cited;
            w->serial = jdup(root, "serial");
            w->family = jdup(root, "family");
            w->station = jdup(root, "station");
            g_hash_table_replace(q->waiting, &w->n, w);
        }
        wait_clear_request(w);
        w->request = n;
        w->req_ts = w->ts = parse_ts(json_string_value(json_object_get(root, "ts")));
        json_t *ov = json_object_get(root, "override");
        w->req_op = jdup(root, "operator");
        w->req_from = jdup(root, "grader");
        w->req_route = jdup(root, "route");
        w->req_reason = jdup(ov, "reason_code");
        w->req_text = jdup(ov, "text");
        json_decref(root);
        return 0;
    }
    if (refusal) {
        /* refused: a review goes back to waiting for the technician; else nothing waits */
        RhWait *w = g_hash_table_lookup(q->waiting, &cited);
        gint64 rq = json_integer_value(json_object_get(json_object_get(root, "request"), "n"));
        if (w && w->request == rq) {
            if (w->review)
                wait_clear_request(w);
            else
                g_hash_table_remove(q->waiting, &cited);
        }
        json_decref(root);
        return 0;
    }
    if (insp) {
        const char *prop = json_string_value(json_object_get(root, "proposal"));
        if (prop && strcmp(prop, "review") == 0) {
            RhWait *w = g_new0(RhWait, 1);
            w->n = n;
            w->ts = parse_ts(json_string_value(json_object_get(root, "ts")));
            w->serial = jdup(json_object_get(root, "code"), "serial");
            w->family = jdup(root, "family");
            w->station = jdup(root, "station");
            w->review = TRUE;
            GString *why = g_string_new(NULL);
            size_t i;
            json_t *v;
            json_array_foreach(json_object_get(root, "review_why"), i, v) {
                if (json_is_string(v))
                    g_string_append_printf(why, "%s%s", why->len ? "; " : "",
                                           rh_review_why_label(json_string_value(v)));
            }
            w->why = g_string_free(why, FALSE);
            g_hash_table_replace(q->waiting, &w->n, w);
        }
    } else {
        g_hash_table_remove(q->waiting, &cited);
    }
    json_decref(root);
    return 0;
}

static gint wait_cmp(gconstpointer a, gconstpointer b)
{
    const RhWait *x = *(RhWait *const *) a, *y = *(RhWait *const *) b;
    return x->n < y->n ? -1 : x->n > y->n;
}

static void queue_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    RhSupervisor *self = source;
    QueueScan q = {g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, wait_free), cancel};
    int rc = ra_store_records(data, NULL, NULL, NULL, queue_scan_record, &q);
    char *err = rc < 0 ? g_strdup(rv_last_error()) : NULL;
    /* the store is not touched after this */
    g_mutex_lock(&self->busy_lock);
    self->busy--;
    g_cond_broadcast(&self->busy_cond);
    g_mutex_unlock(&self->busy_lock);
    if (err) {
        g_hash_table_destroy(q.waiting);
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err);
        g_free(err);
        return;
    }
    GPtrArray *list = g_ptr_array_new_with_free_func(wait_free);
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, q.waiting);
    while (g_hash_table_iter_next(&it, &key, &val))
        g_ptr_array_add(list, val);
    g_hash_table_steal_all(q.waiting); /* the values moved to the list */
    g_hash_table_destroy(q.waiting);
    g_task_return_pointer(task, list, (GDestroyNotify) g_ptr_array_unref);
}

static char *fmt_duration(gint64 us)
{
    gint64 min = us / (60 * G_USEC_PER_SEC);
    if (min < 1)
        return g_strdup(_("under a minute"));
    if (min < 60)
        return g_strdup_printf(_("%d min"), (int) min);
    return g_strdup_printf(_("%d h %02d min"), (int) (min / 60), (int) (min % 60));
}

static void sv_queue_row_activated(GtkListBox *box, GtkListBoxRow *row, RhSupervisor *self)
{
    int i = gtk_list_box_row_get_index(row);
    if (!self->queue || i < 0 || (guint) i >= MIN(self->queue->len, QUEUE_ROWS))
        return;
    RhWait *w = self->queue->pdata[i];
    g_signal_emit(self, s_signals[SIGNAL_OPEN_INSPECTION], 0, w->n, w->serial, w->request);
}

static void sv_queue_fill(RhSupervisor *self)
{
    GtkListBoxRow *old;
    while ((old = gtk_list_box_get_row_at_index(self->queue_list, 0))) /* not the placeholder */
        gtk_list_box_remove(self->queue_list, GTK_WIDGET(old));
    gint64 now = g_get_real_time();
    guint shown = self->queue ? MIN(self->queue->len, QUEUE_ROWS) : 0;
    for (guint i = 0; i < shown; i++) {
        RhWait *w = self->queue->pdata[i];
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        gtk_widget_set_margin_start(box, 8);
        gtk_widget_set_margin_end(box, 8);
        gtk_widget_set_margin_top(box, 6);
        gtk_widget_set_margin_bottom(box, 6);
        char *head = g_strdup_printf(_("%s · %s · station %s"),
                                     w->serial ? w->serial : _("no serial"),
                                     w->family ? w->family : "?", w->station ? w->station : "?");
        GtkWidget *l = gtk_label_new(head);
        gtk_widget_add_css_class(l, "rh-queue-head");
        gtk_label_set_xalign(GTK_LABEL(l), 0);
        gtk_label_set_wrap(GTK_LABEL(l), TRUE);
        gtk_box_append(GTK_BOX(box), l);
        char *age = fmt_duration(now - w->ts);
        char *sub =
            w->request
                ? g_strdup_printf(_("⬆ Upgrade %s → %s asked by %s (%s%s%s), waiting %s for a "
                                    "supervisor's approval (request %lld)"),
                                  w->req_from ? w->req_from : "?",
                                  w->req_route ? w->req_route : "?",
                                  w->req_op ? w->req_op : "?",
                                  w->req_reason ? w->req_reason : "?",
                                  w->req_text && *w->req_text ? ": " : "",
                                  w->req_text ? w->req_text : "", age, (long long) w->request)
                : g_strdup_printf(_("Review, waiting %s (record %lld)%s%s"), age,
                                  (long long) w->n, w->why && *w->why ? ": " : "",
                                  w->why ? w->why : "");
        l = gtk_label_new(sub);
        gtk_label_set_xalign(GTK_LABEL(l), 0);
        gtk_label_set_wrap(GTK_LABEL(l), TRUE);
        gtk_box_append(GTK_BOX(box), l);
        GtkWidget *row = gtk_list_box_row_new();
        gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
        gtk_widget_set_tooltip_text(row, w->request
                                             ? _("Open this inspection to approve or refuse "
                                                 "the upgrade")
                                             : _("Open this inspection to decide it"));
        gtk_list_box_append(self->queue_list, row);
        g_free(head);
        g_free(age);
        g_free(sub);
    }
    if (self->queue && self->queue->len > shown) {
        char *more = g_strdup_printf(_("… and %u more (the longest waiting are shown first)"),
                                     self->queue->len - shown);
        GtkWidget *l = gtk_label_new(more);
        gtk_label_set_xalign(GTK_LABEL(l), 0);
        gtk_widget_set_margin_start(l, 8);
        GtkWidget *row = gtk_list_box_row_new();
        gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), l);
        gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
        gtk_list_box_append(self->queue_list, row);
        g_free(more);
    }
}

static gboolean queue_same(GPtrArray *a, GPtrArray *b)
{
    if (!a || !b || a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++)
        if (((RhWait *) a->pdata[i])->n != ((RhWait *) b->pdata[i])->n ||
            ((RhWait *) a->pdata[i])->request != ((RhWait *) b->pdata[i])->request)
            return FALSE;
    return TRUE;
}

static void queue_done(GObject *source, GAsyncResult *res, gpointer data)
{
    RhSupervisor *self = RH_SUPERVISOR(source);
    GError *err = NULL;
    GPtrArray *list = g_task_propagate_pointer(G_TASK(res), &err);
    if (self->disposed || g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_clear_error(&err);
        if (list)
            g_ptr_array_unref(list);
        return;
    }
    self->queue_running = FALSE;
    if (err) {
        g_message("supervisor: the waiting queue could not be read: %s", err->message);
        gtk_label_set_text(self->queue_placeholder, err->message);
        g_error_free(err);
    } else {
        g_ptr_array_sort(list, wait_cmp);
        gboolean same = queue_same(list, self->queue);
        if (self->queue)
            g_ptr_array_unref(self->queue);
        self->queue = list;
        if (!same)
            sv_queue_fill(self); /* rebuilt only when it changed: keyboard focus stays */
        g_message("supervisor: queue=%u", list->len);
    }
    sv_update(self);
    if (self->queue_again)
        sv_queue_start(self);
}

static void sv_queue_start(RhSupervisor *self)
{
    if (!self->store || self->disposed)
        return;
    if (self->queue_running) {
        self->queue_again = TRUE;
        return;
    }
    self->queue_again = FALSE;
    self->queue_running = TRUE;
    self->queue_read = g_get_monotonic_time();
    g_mutex_lock(&self->busy_lock);
    self->busy++;
    g_mutex_unlock(&self->busy_lock);
    GTask *task = g_task_new(self, self->queue_cancel, queue_done, NULL);
    g_task_set_source_tag(task, sv_queue_start);
    g_task_set_task_data(task, self->store, NULL);
    g_task_run_in_thread(task, queue_thread);
    g_object_unref(task);
}

/* --- drawing helpers ------------------------------------------------------------------ */
static void fg_color(GtkWidget *w, GdkRGBA *c)
{
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    gtk_style_context_get_color(gtk_widget_get_style_context(w), c);
    G_GNUC_END_IGNORE_DEPRECATIONS
}

/* Text in the widget's font, scaled, never under 16 px. */
static PangoLayout *text_layout(GtkWidget *w, const char *text, double scale, gboolean bold)
{
    PangoLayout *l = gtk_widget_create_pango_layout(w, text);
    const PangoFontDescription *base =
        pango_context_get_font_description(gtk_widget_get_pango_context(w));
    PangoFontDescription *fd = pango_font_description_copy(base);
    double size = pango_font_description_get_size(fd) / (double) PANGO_SCALE;
    if (!pango_font_description_get_size_is_absolute(fd))
        size *= 96.0 / 72.0;
    size = MAX(size, 16.0) * scale;
    pango_font_description_set_absolute_size(fd, MAX(size, 16.0) * PANGO_SCALE);
    if (bold)
        pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    return l;
}

/* Draw text with its anchor: ax, ay in 0 (left/top) .. 1 (right/bottom). Returns its width. */
static int draw_text(cairo_t *cr, GtkWidget *w, const char *text, double x, double y, double ax,
                     double ay, double scale, gboolean bold)
{
    PangoLayout *l = text_layout(w, text, scale, bold);
    int tw, th;
    pango_layout_get_pixel_size(l, &tw, &th);
    cairo_move_to(cr, x - ax * tw, y - ay * th);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
    return tw;
}

static void text_size(GtkWidget *w, const char *text, double scale, int *tw, int *th)
{
    PangoLayout *l = text_layout(w, text, scale, FALSE);
    pango_layout_get_pixel_size(l, tw, th);
    g_object_unref(l);
}

static void draw_empty(cairo_t *cr, GtkWidget *w, int width, int height, const char *text)
{
    GdkRGBA fg;
    fg_color(w, &fg);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.75);
    PangoLayout *l = text_layout(w, text, 1.0, FALSE);
    pango_layout_set_width(l, (width - 32) * PANGO_SCALE);
    pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    int tw, th;
    pango_layout_get_pixel_size(l, &tw, &th);
    cairo_move_to(cr, 16, (height - th) / 2.0);
    pango_cairo_show_layout(cr, l);
    g_object_unref(l);
}

/* A repeating hatch: 0 none, 1 '/', 2 '\', 3 dots, 4 cross. White over the fill colour,
 * so each route stays apart in grey and for colour-blind eyes. */
static cairo_pattern_t *make_hatch(int style)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 12, 12);
    cairo_t *c = cairo_create(s);
    cairo_set_source_rgba(c, 1, 1, 1, 0.6);
    cairo_set_line_width(c, 2.5);
    if (style == 1 || style == 4) {
        cairo_move_to(c, -3, 15);
        cairo_line_to(c, 15, -3);
        cairo_move_to(c, -9, 9);
        cairo_line_to(c, 9, -9);
        cairo_move_to(c, 3, 21);
        cairo_line_to(c, 21, 3);
        cairo_stroke(c);
    }
    if (style == 2 || style == 4) {
        cairo_move_to(c, -3, -3);
        cairo_line_to(c, 15, 15);
        cairo_move_to(c, -9, 3);
        cairo_line_to(c, 9, 21);
        cairo_move_to(c, 3, -9);
        cairo_line_to(c, 21, 9);
        cairo_stroke(c);
    }
    if (style == 3) {
        cairo_arc(c, 6, 6, 2.5, 0, 2 * G_PI);
        cairo_fill(c);
    }
    cairo_destroy(c);
    cairo_pattern_t *p = cairo_pattern_create_for_surface(s);
    cairo_pattern_set_extend(p, CAIRO_EXTEND_REPEAT);
    cairo_surface_destroy(s);
    return p;
}

/* Route fills (dark enough for white hatching and for a text label beside them). */
static const double s_route_rgb[N_ROUTES][3] = {
    {0.04, 0.45, 0.15}, /* reuse: green, solid */
    {0.08, 0.33, 0.70}, /* remanufacture: blue, '/' */
    {0.40, 0.22, 0.62}, /* refurbish: purple, '\' */
    {0.75, 0.45, 0.00}, /* repair: amber, dots */
    {0.68, 0.08, 0.08}, /* scrap: red, cross */
};
static const double s_accent[3] = {0.10, 0.40, 0.75};
static const double s_upgrade_rgb[3] = {0.22, 0.22, 0.28};

static void fill_rect(cairo_t *cr, double x, double y, double w, double h, const double rgb[3],
                      cairo_pattern_t *hatch, const GdkRGBA *outline)
{
    if (w <= 0 || h <= 0)
        return;
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_fill_preserve(cr);
    if (hatch) {
        cairo_set_source(cr, hatch);
        cairo_fill_preserve(cr);
    }
    cairo_set_source_rgba(cr, outline->red, outline->green, outline->blue, 0.9);
    cairo_set_line_width(cr, 1.5);
    cairo_stroke(cr);
}

static char *fmt_pct(double fraction)
{
    return g_strdup_printf(_("%.1f %%"), 100.0 * fraction);
}

/* --- parts per hour ------------------------------------------------------------------- */
static void draw_hours(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
    RhSupervisor *self = data;
    GtkWidget *w = GTK_WIDGET(area);
    GdkRGBA fg;
    fg_color(w, &fg);
    gint64 now = g_get_real_time();
    int cur = (int) CLAMP((now - self->shift_start) / ((gint64) 3600 * G_USEC_PER_SEC), 0,
                          HOURS_MAX - 1);
    int n = MAX(8, cur + 1);
    guint maxv = 1;
    for (int i = 0; i < n; i++)
        maxv = MAX(maxv, self->hour_count[i]);
    int th, tw;
    text_size(w, "0", 1.0, &tw, &th);
    double top = th + 12, bottom = 2 * th + 12, left = 12, right = 12;
    double ph = height - top - bottom, slot = (width - left - right) / n;
    if (ph < 20 || slot < 8)
        return;
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, left, top + ph + 0.5);
    cairo_line_to(cr, width - right, top + ph + 0.5);
    cairo_stroke(cr);
    int every = slot < 70 ? (int) ceil(70 / slot) : 1;
    for (int i = 0; i < n; i++) {
        double x = left + i * slot + slot * 0.15, bw = slot * 0.7;
        double bh = ph * self->hour_count[i] / (double) maxv;
        if (i <= cur) {
            fill_rect(cr, x, top + ph - bh, bw, bh, s_accent, i == cur ? self->hatch[1] : NULL,
                      &fg);
            char num[32];
            g_snprintf(num, sizeof num, "%u", self->hour_count[i]);
            cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
            draw_text(cr, w, num, x + bw / 2, top + ph - bh - 4, 0.5, 1, 1.0, TRUE);
        }
        if (i % every == 0 || i == cur) {
            GDateTime *dt = g_date_time_new_from_unix_local(self->shift_start / G_USEC_PER_SEC +
                                                            (gint64) i * 3600);
            char *hh = g_date_time_format(dt, "%H:%M");
            g_date_time_unref(dt);
            cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, i <= cur ? 1.0 : 0.6);
            draw_text(cr, w, hh, x + bw / 2, top + ph + 4, 0.5, 0, 0.9, i == cur);
            if (i == cur)
                draw_text(cr, w, _("now"), x + bw / 2, top + ph + 4 + th, 0.5, 0, 0.9, TRUE);
            g_free(hh);
        }
    }
}

/* --- route mix ------------------------------------------------------------------------ */
static void draw_routes(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
    RhSupervisor *self = data;
    GtkWidget *w = GTK_WIDGET(area);
    GdkRGBA fg;
    fg_color(w, &fg);
    if (self->parts == 0) {
        draw_empty(cr, w, width, height, _("No decisions this shift yet"));
        return;
    }
    int lw = 0, th = 0, vw = 0;
    guint maxc = 1;
    for (int r = 0; r < N_ROUTES; r++) {
        PangoLayout *l = text_layout(w, route_label(r), 1.0, TRUE);
        int tw, h;
        pango_layout_get_pixel_size(l, &tw, &h);
        g_object_unref(l);
        lw = MAX(lw, tw);
        th = MAX(th, h);
        maxc = MAX(maxc, self->route_count[r]);
    }
    text_size(w, "9999 · 100.0 %", 1.0, &vw, &th);
    double rowh = (height - 8) / (double) N_ROUTES, x0 = 12 + lw + 12;
    double barmax = width - x0 - vw - 24;
    if (barmax < 20)
        barmax = 20;
    for (int r = 0; r < N_ROUTES; r++) {
        double y = 4 + r * rowh, cy = y + rowh / 2;
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        draw_text(cr, w, route_label(r), x0 - 12, cy, 1, 0.5, 1.0, TRUE);
        double frac = self->route_count[r] / (double) self->parts;
        double bl = barmax * self->route_count[r] / maxc; /* the longest bar fills the row */
        double bh = MIN(rowh * 0.7, 40);
        fill_rect(cr, x0, cy - bh / 2, bl, bh, s_route_rgb[r],
                  r == R_REUSE ? NULL : self->hatch[r], &fg);
        char *pct = fmt_pct(frac);
        char *val = g_strdup_printf("%u · %s", self->route_count[r], pct);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        draw_text(cr, w, val, x0 + bl + 8, cy, 0, 0.5, 1.0, FALSE);
        g_free(pct);
        g_free(val);
    }
}

/* --- p-chart -------------------------------------------------------------------------- */
typedef struct {
    guint n, scrap;
    gint64 last_ts;
} Subgroup;

static const char *selected_family(RhSupervisor *self)
{
    guint i = gtk_drop_down_get_selected(self->family_dropdown);
    if (i == GTK_INVALID_LIST_POSITION)
        return NULL;
    return gtk_string_list_get_string(self->family_model, i);
}

/* The subgroups shown for a family: the last PCHART_GROUPS complete ones and the one in
 * progress (partial: n < PCHART_K). Returns how many; *pbar the centre line. */
static guint pchart_groups(RhSupervisor *self, const char *family, Subgroup *g, double *pbar,
                           gboolean *partial)
{
    GArray *a = family ? g_hash_table_lookup(self->psamples, family) : NULL;
    *pbar = 0;
    *partial = FALSE;
    if (!a || a->len == 0)
        return 0;
    guint complete = a->len / PCHART_K, rest = a->len % PCHART_K;
    guint first = complete > PCHART_GROUPS ? complete - PCHART_GROUPS : 0, count = 0;
    guint total = 0, scrap = 0;
    for (guint k = first; k < complete + (rest ? 1 : 0); k++) {
        Subgroup s = {0, 0, 0};
        for (guint i = k * PCHART_K; i < MIN((k + 1) * PCHART_K, a->len); i++) {
            PSample *p = &g_array_index(a, PSample, i);
            s.n++;
            s.scrap += p->scrap ? 1 : 0;
            s.last_ts = p->ts;
        }
        total += s.n;
        scrap += s.scrap;
        g[count++] = s;
    }
    *partial = rest != 0;
    *pbar = total ? scrap / (double) total : 0;
    return count;
}

static double nice_step(double range)
{
    double raw = range / 4, mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

static void marker_circle(cairo_t *cr, double x, double y, double r, gboolean filled,
                          const GdkRGBA *fg)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * G_PI);
    if (filled) {
        cairo_set_source_rgb(cr, s_accent[0], s_accent[1], s_accent[2]);
        cairo_fill_preserve(cr);
    } else {
        cairo_set_source_rgba(cr, 1, 1, 1, 1);
        cairo_fill_preserve(cr);
    }
    cairo_set_source_rgba(cr, fg->red, fg->green, fg->blue, fg->alpha);
    cairo_set_line_width(cr, 2);
    cairo_stroke(cr);
}

static void marker_triangle(cairo_t *cr, double x, double y, double r, const GdkRGBA *fg)
{
    cairo_move_to(cr, x, y - r);
    cairo_line_to(cr, x + r * 0.95, y + r * 0.7);
    cairo_line_to(cr, x - r * 0.95, y + r * 0.7);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, s_route_rgb[R_SCRAP][0], s_route_rgb[R_SCRAP][1],
                         s_route_rgb[R_SCRAP][2]);
    cairo_fill_preserve(cr);
    cairo_set_source_rgba(cr, fg->red, fg->green, fg->blue, fg->alpha);
    cairo_set_line_width(cr, 2);
    cairo_stroke(cr);
}

static void draw_pchart(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
    RhSupervisor *self = data;
    GtkWidget *w = GTK_WIDGET(area);
    GdkRGBA fg;
    fg_color(w, &fg);
    const char *family = selected_family(self);
    Subgroup g[PCHART_GROUPS + 1];
    double pbar;
    gboolean partial;
    guint n = pchart_groups(self, family, g, &pbar, &partial);
    if (n == 0) {
        draw_empty(cr, w, width, height, _("No decisions of this family yet"));
        return;
    }
    double ucl[PCHART_GROUPS + 1], lcl[PCHART_GROUPS + 1], ymax = 0.1;
    for (guint i = 0; i < n; i++) {
        double sigma = sqrt(pbar * (1 - pbar) / g[i].n);
        ucl[i] = MIN(1.0, pbar + 3 * sigma);
        lcl[i] = MAX(0.0, pbar - 3 * sigma);
        ymax = MAX(ymax, MAX(ucl[i], g[i].scrap / (double) g[i].n));
    }
    ymax = MIN(1.0, ymax * 1.12);
    double step = nice_step(ymax);
    ymax = MIN(1.0, ceil(ymax / step - 1e-9) * step);
    int tw, th, lw;
    text_size(w, "100 %", 0.9, &lw, &th);
    char *ul = fmt_pct(ucl[n - 1]), *cl = fmt_pct(pbar), *ll = fmt_pct(lcl[n - 1]);
    char *ucl_t = g_strdup_printf(_("UCL %s"), ul), *cl_t = g_strdup_printf(_("p̄ %s"), cl),
         *lcl_t = g_strdup_printf(_("LCL %s"), ll);
    int rw = 0;
    text_size(w, ucl_t, 0.9, &tw, &th);
    rw = MAX(rw, tw);
    text_size(w, cl_t, 0.9, &tw, &th);
    rw = MAX(rw, tw);
    text_size(w, lcl_t, 0.9, &tw, &th);
    rw = MAX(rw, tw);
    double left = lw + 20, right = rw + 20, top = th + 14, bottom = 2.2 * th + 18;
    double pw = width - left - right, ph = height - top - bottom;
    if (pw < 60 || ph < 40)
        goto out;
#define PY(v) (top + ph * (1 - (v) / ymax))
    double slot = pw / MAX(n, 10);
#define PX(i) (left + slot * ((i) + 0.5))
    /* grid and y labels */
    cairo_set_line_width(cr, 1);
    for (double v = 0; v <= ymax + 1e-9; v += step) {
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.18);
        cairo_move_to(cr, left, floor(PY(v)) + 0.5);
        cairo_line_to(cr, left + pw, floor(PY(v)) + 0.5);
        cairo_stroke(cr);
        char lab[32];
        g_snprintf(lab, sizeof lab, "%.0f %%", v * 100);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.85);
        draw_text(cr, w, lab, left - 8, PY(v), 1, 0.5, 0.9, FALSE);
    }
    /* limits: stepped, dashed (UCL long dashes, LCL short), centre solid */
    double dash_long[] = {10, 5}, dash_short[] = {3, 4};
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.9);
    cairo_set_line_width(cr, 2);
    cairo_set_dash(cr, dash_long, 2, 0);
    for (guint i = 0; i < n; i++) {
        double x0 = PX(i) - slot / 2, x1 = PX(i) + slot / 2;
        if (i == 0)
            cairo_move_to(cr, x0, PY(ucl[i]));
        else
            cairo_line_to(cr, x0, PY(ucl[i]));
        cairo_line_to(cr, x1, PY(ucl[i]));
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, dash_short, 2, 0);
    for (guint i = 0; i < n; i++) {
        double x0 = PX(i) - slot / 2, x1 = PX(i) + slot / 2;
        if (i == 0)
            cairo_move_to(cr, x0, PY(lcl[i]));
        else
            cairo_line_to(cr, x0, PY(lcl[i]));
        cairo_line_to(cr, x1, PY(lcl[i]));
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_move_to(cr, left, PY(pbar));
    cairo_line_to(cr, PX(n - 1) + slot / 2, PY(pbar));
    cairo_stroke(cr);
    /* their labels at the right end, kept apart */
    double xl = PX(n - 1) + slot / 2 + 8;
    double yu = PY(ucl[n - 1]), yc = PY(pbar), yl = PY(lcl[n - 1]);
    if (yc - yu < th)
        yu = yc - th;
    if (yl - yc < th)
        yl = yc + th;
    draw_text(cr, w, ucl_t, xl, yu, 0, 0.5, 0.9, FALSE);
    draw_text(cr, w, cl_t, xl, yc, 0, 0.5, 0.9, TRUE);
    draw_text(cr, w, lcl_t, xl, yl, 0, 0.5, 0.9, FALSE);
    /* the scrap proportion of each subgroup, joined */
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.8);
    cairo_set_line_width(cr, 2);
    for (guint i = 0; i < n; i++) {
        double p = g[i].scrap / (double) g[i].n;
        if (i == 0)
            cairo_move_to(cr, PX(i), PY(p));
        else
            cairo_line_to(cr, PX(i), PY(p));
    }
    cairo_stroke(cr);
    int every = slot < 64 ? (int) ceil(64 / slot) : 1;
    char *last_label = NULL;
    for (guint i = 0; i < n; i++) {
        double p = g[i].scrap / (double) g[i].n;
        gboolean is_partial = partial && i == n - 1;
        gboolean out = !is_partial && (p > ucl[i] + 1e-12 || p < lcl[i] - 1e-12);
        if (out) {
            marker_triangle(cr, PX(i), PY(p), 11, &fg);
            char *pl = fmt_pct(p);
            char *lab = g_strdup_printf("! %s", pl);
            cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
            draw_text(cr, w, lab, PX(i), PY(p) - 14, 0.5, 1, 0.9, TRUE);
            g_free(pl);
            g_free(lab);
        } else {
            marker_circle(cr, PX(i), PY(p), 7, !is_partial, &fg);
        }
        if (i % every == 0 || i == n - 1) {
            /* the time of the subgroup's last part, where it changes */
            GDateTime *dt = g_date_time_new_from_unix_local(g[i].last_ts / G_USEC_PER_SEC);
            char *hh = dt ? g_date_time_format(dt, "%H:%M") : g_strdup("?");
            if (dt)
                g_date_time_unref(dt);
            if (g_strcmp0(hh, last_label) != 0) {
                cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.85);
                draw_text(cr, w, hh, PX(i), top + ph + 6, 0.5, 0, 0.85, FALSE);
            }
            g_free(last_label);
            last_label = hh;
        }
    }
    g_free(last_label);
    /* the legend: markers, never colour alone */
    {
        double y = height - th * 0.7 - 4, x = left;
        char *s1 = g_strdup_printf(_("subgroup of %d parts"), PCHART_K);
        marker_circle(cr, x + 8, y, 7, TRUE, &fg);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        x += 22 + draw_text(cr, w, s1, x + 22, y, 0, 0.5, 0.85, FALSE) + 28;
        marker_circle(cr, x + 8, y, 7, FALSE, &fg);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        x += 22 + draw_text(cr, w, _("in progress"), x + 22, y, 0, 0.5, 0.85, FALSE) + 28;
        marker_triangle(cr, x + 8, y, 10, &fg);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        draw_text(cr, w, _("outside the control limits"), x + 22, y, 0, 0.5, 0.85, FALSE);
        g_free(s1);
    }
#undef PX
#undef PY
out:
    g_free(ul);
    g_free(cl);
    g_free(ll);
    g_free(ucl_t);
    g_free(cl_t);
    g_free(lcl_t);
}

/* --- Pareto of reasons ---------------------------------------------------------------- */
typedef struct {
    const char *code;
    guint count;
} CodeCount;

static gint code_cmp(gconstpointer a, gconstpointer b)
{
    const CodeCount *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->code, y->code);
}

#define PARETO_BARS 8 /* at most; fewer when narrow */

/* The reason codes of this shift, most frequent first; *total counts all of them. */
static GArray *pareto_items(RhSupervisor *self, guint *total)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(CodeCount));
    GHashTableIter it;
    gpointer k, v;
    *total = 0;
    g_hash_table_iter_init(&it, self->reasons);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        CodeCount c = {k, GPOINTER_TO_UINT(v)};
        if (c.count == 0)
            continue;
        *total += c.count;
        g_array_append_val(a, c);
    }
    g_array_sort(a, code_cmp);
    return a;
}

static void draw_pareto(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
    RhSupervisor *self = data;
    GtkWidget *w = GTK_WIDGET(area);
    GdkRGBA fg;
    fg_color(w, &fg);
    guint total;
    GArray *a = pareto_items(self, &total);
    if (a->len == 0) {
        draw_empty(cr, w, width, height,
                   self->parts ? _("No grading rule fired this shift")
                               : _("No decisions this shift yet"));
        g_array_unref(a);
        return;
    }
    /* as many bars as fit (each code legible), the cumulative share over all codes */
    int tw, th, hh, lw, rw;
    text_size(w, "100 %", 0.85, &rw, &th);
    char buf[32];
    guint maxc = g_array_index(a, CodeCount, 0).count, ncodes = a->len;
    g_snprintf(buf, sizeof buf, "%u", maxc);
    text_size(w, buf, 0.85, &lw, &th);
    double left = lw + 18, right = rw + 18;
    guint fit = (guint) CLAMP((width - left - right) / 92, 3, PARETO_BARS);
    if (a->len > fit)
        g_array_set_size(a, fit);
    guint n80 = 0;
    double cum = 0;
    for (guint i = 0; i < a->len && cum < 0.8 * total; i++, n80++)
        cum += g_array_index(a, CodeCount, i).count;
    char *head;
    if (cum >= 0.8 * total)
        head = g_strdup_printf(_("80 %% of all reasons come from the top %u of %u codes"), n80,
                               ncodes);
    else
        head = g_strdup_printf(_("%u reason codes; the %u shown make %.0f %% of all"), ncodes,
                               a->len, 100.0 * cum / total);
    text_size(w, head, 0.85, &tw, &hh);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
    draw_text(cr, w, head, 12, 4, 0, 0, 0.85, FALSE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(area), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                   head, -1);
    g_free(head);
    double top = hh + 12 + th, bottom = 2.1 * th + 10;
    double pw = width - left - right, ph = height - top - bottom;
    if (pw < 60 || ph < 40) {
        g_array_unref(a);
        return;
    }
    double slot = pw / a->len, bw = slot * 0.72;
    double cmax = maxc * (1 + (th + 4) / ph); /* room for the count above the longest bar */
    /* axes: counts left, cumulative share right, the 80 % line */
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, left, top + ph + 0.5);
    cairo_line_to(cr, left + pw, top + ph + 0.5);
    cairo_stroke(cr);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.85);
    draw_text(cr, w, "0", left - 8, top + ph, 1, 0.5, 0.85, FALSE);
    draw_text(cr, w, buf, left - 8, top + ph - ph * maxc / cmax, 1, 0.5, 0.85, FALSE);
    for (int p = 0; p <= 100; p += 50) {
        char lab[16];
        g_snprintf(lab, sizeof lab, "%d %%", p);
        draw_text(cr, w, lab, left + pw + 8, top + ph * (1 - p / 100.0), 0, 0.5, 0.85, FALSE);
    }
    double dash[] = {6, 5};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.55);
    cairo_move_to(cr, left, top + ph * 0.2);
    cairo_line_to(cr, left + pw, top + ph * 0.2);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    draw_text(cr, w, "80 %", left + pw + 8, top + ph * 0.2, 0, 0.5, 0.85, TRUE);
    /* bars with their counts inside (white on the bar) or above, codes below */
    double cx[PARETO_BARS], cy[PARETO_BARS];
    cum = 0;
    for (guint i = 0; i < a->len; i++) {
        CodeCount *c = &g_array_index(a, CodeCount, i);
        double x = left + i * slot + (slot - bw) / 2, bh = ph * c->count / cmax;
        fill_rect(cr, x, top + ph - bh, bw, bh, s_accent, NULL, &fg);
        g_snprintf(buf, sizeof buf, "%u", c->count);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        draw_text(cr, w, buf, x + bw / 2, top + ph - bh - 2, 0.5, 1, 0.85, TRUE);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        PangoLayout *l = text_layout(w, c->code, 0.8, FALSE);
        pango_layout_set_width(l, (int) (slot - 2) * PANGO_SCALE);
        pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
        pango_layout_set_wrap(l, PANGO_WRAP_WORD);
        pango_layout_set_height(l, -2);
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        cairo_move_to(cr, left + i * slot + 1, top + ph + 4);
        pango_cairo_show_layout(cr, l);
        g_object_unref(l);
        cum += c->count;
        cx[i] = x + bw; /* at the bar's right edge: clear of the count above its middle */
        cy[i] = top + ph * (1 - cum / total);
    }
    /* the cumulative line: a thick dark line with square markers (not a colour cue) */
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
    cairo_set_line_width(cr, 3);
    for (guint i = 0; i < a->len; i++) {
        if (i == 0)
            cairo_move_to(cr, cx[i], cy[i]);
        else
            cairo_line_to(cr, cx[i], cy[i]);
    }
    cairo_stroke(cr);
    for (guint i = 0; i < a->len; i++) {
        cairo_rectangle(cr, cx[i] - 6, cy[i] - 6, 12, 12);
        cairo_set_source_rgba(cr, 1, 1, 1, 1);
        cairo_fill_preserve(cr);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        cairo_set_line_width(cr, 2.5);
        cairo_stroke(cr);
    }
    g_array_unref(a);
}

/* --- override rate per operator ------------------------------------------------------- */
typedef struct {
    const char *id;
    const OpAgg *o;
    double rate;
} OpRow;

static gint oprow_cmp(gconstpointer a, gconstpointer b)
{
    const OpRow *x = a, *y = b;
    if (x->rate != y->rate)
        return x->rate > y->rate ? -1 : 1;
    if (x->o->decisions != y->o->decisions)
        return x->o->decisions > y->o->decisions ? -1 : 1;
    return strcmp(x->id, y->id);
}

#define OPERATOR_ROWS 6

static void draw_operators(GtkDrawingArea *area, cairo_t *cr, int width, int height,
                           gpointer data)
{
    RhSupervisor *self = data;
    GtkWidget *w = GTK_WIDGET(area);
    GdkRGBA fg;
    fg_color(w, &fg);
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(OpRow));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, self->operators);
    double maxrate = 0.1;
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const OpAgg *o = v;
        guint base = o->decisions - o->reviews;
        if (o->decisions == 0)
            continue;
        OpRow r = {k, o, base ? o->overrides / (double) base : 0};
        maxrate = MAX(maxrate, r.rate);
        g_array_append_val(rows, r);
    }
    if (rows->len == 0) {
        draw_empty(cr, w, width, height, _("No decisions this shift yet"));
        g_array_unref(rows);
        return;
    }
    g_array_sort(rows, oprow_cmp);
    guint n = MIN(rows->len, OPERATOR_ROWS);
    maxrate = MIN(1.0, ceil(maxrate * 10 - 1e-9) / 10);
    /* the texts first: names left, figures right, the bars get what is left */
    int lw = 0, th = 0, tw, vw = 0;
    char *txt[OPERATOR_ROWS];
    for (guint i = 0; i < n; i++) {
        OpRow *r = &g_array_index(rows, OpRow, i);
        PangoLayout *l = text_layout(w, r->id, 1.0, TRUE);
        pango_layout_get_pixel_size(l, &tw, &th);
        g_object_unref(l);
        lw = MAX(lw, tw);
        guint base = r->o->decisions - r->o->reviews;
        char *pct = fmt_pct(r->rate);
        txt[i] = r->o->upgrades
                     ? g_strdup_printf(ngettext("%u of %u · %s\n%u upgrade",
                                                "%u of %u · %s\n%u upgrades", r->o->upgrades),
                                       r->o->overrides, base, pct, r->o->upgrades)
                     : g_strdup_printf(_("%u of %u · %s"), r->o->overrides, base, pct);
        g_free(pct);
        text_size(w, txt[i], 0.85, &tw, &th);
        vw = MAX(vw, tw);
    }
    lw = MIN(lw, width / 4);
    /* the legend: a plain bar is overrides, the cross-hatched part upgrades */
    double y = 6, x = 12;
    int lh;
    text_size(w, _("overrides"), 0.8, &tw, &lh);
    fill_rect(cr, x, y + lh / 2.0 - 9, 28, 18, s_accent, NULL, &fg);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
    x += 36 + draw_text(cr, w, _("overrides"), x + 36, y, 0, 0, 0.8, FALSE) + 24;
    fill_rect(cr, x, y + lh / 2.0 - 9, 28, 18, s_upgrade_rgb, self->hatch[4], &fg);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
    draw_text(cr, w, _("of which upgrades (supervisor)"), x + 36, y, 0, 0, 0.8, FALSE);
    double top = y + lh + 10, rowh = MIN(72, (height - top - 4) / (double) MAX(n, 3));
    double x0 = 12 + lw + 12, vmax = MAX(60, width - x0 - vw - 24);
    for (guint i = 0; i < n; i++) {
        OpRow *r = &g_array_index(rows, OpRow, i);
        double cy = top + i * rowh + rowh / 2, bh = MIN(rowh * 0.6, 34);
        PangoLayout *l = text_layout(w, r->id, 1.0, TRUE);
        pango_layout_set_width(l, lw * PANGO_SCALE);
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        pango_layout_set_alignment(l, PANGO_ALIGN_RIGHT);
        pango_layout_get_pixel_size(l, &tw, &th);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        cairo_move_to(cr, 12, cy - th / 2.0);
        pango_cairo_show_layout(cr, l);
        g_object_unref(l);
        double bw = vmax * r->rate / maxrate;
        /* a frame for the whole scale, the rate filled, upgrades cross-hatched within */
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.35);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, x0 + 0.5, cy - bh / 2 + 0.5, vmax, bh);
        cairo_stroke(cr);
        fill_rect(cr, x0, cy - bh / 2, bw, bh, s_accent, NULL, &fg);
        guint base = r->o->decisions - r->o->reviews;
        if (r->o->upgrades && base)
            fill_rect(cr, x0, cy - bh / 2, vmax * (r->o->upgrades / (double) base) / maxrate, bh,
                      s_upgrade_rgb, self->hatch[4], &fg);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, fg.alpha);
        PangoLayout *tl = text_layout(w, txt[i], 0.85, FALSE);
        pango_layout_get_pixel_size(tl, &tw, &th);
        cairo_move_to(cr, x0 + vmax + 12, cy - th / 2.0);
        pango_cairo_show_layout(cr, tl);
        g_object_unref(tl);
    }
    for (guint i = 0; i < n; i++)
        g_free(txt[i]);
    g_array_unref(rows);
}

/* --- stations ------------------------------------------------------------------------- */
static void station_row_new(RhSupervisor *self, RhStation *st)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 16);
    gtk_widget_set_margin_start(box, 8);
    gtk_widget_set_margin_end(box, 8);
    gtk_widget_set_margin_top(box, 6);
    gtk_widget_set_margin_bottom(box, 6);
    st->state_label = GTK_LABEL(gtk_label_new(NULL));
    gtk_widget_add_css_class(GTK_WIDGET(st->state_label), "rh-state");
    gtk_label_set_width_chars(st->state_label, 9);
    gtk_label_set_xalign(st->state_label, 0);
    GtkWidget *col = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    st->name_label = GTK_LABEL(gtk_label_new(NULL));
    gtk_widget_add_css_class(GTK_WIDGET(st->name_label), "rh-station-name");
    gtk_label_set_xalign(st->name_label, 0);
    st->detail_label = GTK_LABEL(gtk_label_new(NULL));
    gtk_label_set_xalign(st->detail_label, 0);
    gtk_label_set_wrap(st->detail_label, TRUE);
    gtk_box_append(GTK_BOX(col), GTK_WIDGET(st->name_label));
    gtk_box_append(GTK_BOX(col), GTK_WIDGET(st->detail_label));
    gtk_box_append(GTK_BOX(box), GTK_WIDGET(st->state_label));
    gtk_box_append(GTK_BOX(box), col);
    st->row = gtk_list_box_row_new();
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(st->row), FALSE);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(st->row), box);
    gtk_list_box_append(self->stations_list, st->row);
}

static void station_row_update(RhStation *st, gint64 now)
{
    static const char *const css[] = {"rh-connecting", "rh-up", "rh-stale", "rh-down"};
    const char *state = NULL;
    char *detail = NULL;
    int secs = (int) ((now - (st->heard ? st->heard : st->since)) / G_USEC_PER_SEC);
    int in_state = (int) ((now - st->since) / G_USEC_PER_SEC);
    if (st->from_site) {
        /* as the site's health view has it (the collector's view of the station) */
        gboolean key = g_strcmp0(st->site_status, "key-changed") == 0;
        state = st->state == ST_UP      ? _("✔ UP")
                : st->state == ST_STALE ? _("⚠ STALE")
                : key                   ? _("✖ KEY CHANGED")
                : st->state == ST_DOWN  ? _("✖ DOWN")
                                        : _("… waiting");
        char *seen = st->heard ? g_strdup_printf(_("heard %d s ago"), secs)
                               : g_strdup(_("not heard yet"));
        detail = g_strdup_printf(
            ngettext("site: %s · %s · lag %lld · seq %llu held · %u part this shift",
                     "site: %s · %s · lag %lld · seq %llu held · %u parts this shift", st->parts),
            st->site_status && *st->site_status ? st->site_status : "?", seen, st->lag,
            (unsigned long long) st->site_seq, st->parts);
        g_free(seen);
        if (st->rejected > 0) {
            char *t = g_strdup_printf(_("%s · %lld refused"), detail, st->rejected);
            g_free(detail);
            detail = t;
        }
    } else
    switch (st->state) {
    case ST_CONNECTING:
        state = _("… waiting");
        detail = g_strdup_printf(_("no message yet from %s"), st->pub);
        break;
    case ST_UP:
        state = _("✔ UP");
        detail = g_strdup_printf(ngettext("last seq %llu · heard %d s ago · %u part this shift",
                                          "last seq %llu · heard %d s ago · %u parts this shift",
                                          st->parts),
                                 (unsigned long long) st->last_seq, secs, st->parts);
        if (st->waiting > 0) {
            char *w = g_strdup_printf(ngettext("%s · ⬆ %lld upgrade waiting for a supervisor",
                                               "%s · ⬆ %lld upgrades waiting for a supervisor",
                                               (unsigned long) st->waiting),
                                      detail, (long long) st->waiting);
            g_free(detail);
            detail = w;
        }
        break;
    case ST_STALE:
        state = _("⚠ STALE");
        detail = g_strdup_printf(_("no heartbeat for %d s · last seq %llu"), secs,
                                 (unsigned long long) st->last_seq);
        break;
    case ST_DOWN:
        state = _("✖ DOWN");
        detail = g_strdup_printf(_("shut down %d s ago · last seq %llu"), in_state,
                                 (unsigned long long) st->last_seq);
        break;
    }
    gtk_label_set_text(st->state_label, state);
    for (guint i = 0; i < G_N_ELEMENTS(css); i++)
        gtk_widget_remove_css_class(GTK_WIDGET(st->state_label), css[i]);
    gtk_widget_add_css_class(GTK_WIDGET(st->state_label), css[st->state]);
    gtk_label_set_text(st->name_label, st->id ? st->id : st->pub);
    gtk_label_set_text(st->detail_label, detail);
    g_free(detail);
}

/* --- the figures ---------------------------------------------------------------------- */
static void set_label_number(GtkLabel *l, const char *fmt_text)
{
    if (g_strcmp0(gtk_label_get_text(l), fmt_text) != 0)
        gtk_label_set_text(l, fmt_text);
}

static void sv_update(RhSupervisor *self)
{
    gint64 now_real = g_get_real_time(), now = g_get_monotonic_time();
    double hours = MAX((now_real - self->shift_start) / (3600.0 * G_USEC_PER_SEC), 1.0 / 60);
    char buf[64];
    g_snprintf(buf, sizeof buf, "%.0f", self->parts / hours);
    set_label_number(self->kpi_rate, buf);
    g_snprintf(buf, sizeof buf, "%u", self->parts);
    set_label_number(self->kpi_parts, buf);
    char *pct = self->parts ? fmt_pct(self->route_count[R_SCRAP] / (double) self->parts)
                            : g_strdup("–");
    set_label_number(self->kpi_scrap, pct);
    g_free(pct);
    g_snprintf(buf, sizeof buf, "%.0f", self->material);
    set_label_number(self->kpi_material, buf);
    g_snprintf(buf, sizeof buf, "%.0f", self->co2);
    set_label_number(self->kpi_co2, buf);

    guint up = 0;
    for (guint i = 0; i < self->stations->len; i++) {
        RhStation *st = self->stations->pdata[i];
        station_row_update(st, now);
        up += st->state == ST_UP;
    }
    GDateTime *ss = g_date_time_new_from_unix_local(self->shift_start / G_USEC_PER_SEC);
    char *since = g_date_time_format(ss, "%H:%M");
    g_date_time_unref(ss);
    char *head;
    if (self->site && self->site_error)
        head = g_strdup_printf(_("✖ The site database cannot be reached: %s (trying again "
                                 "every %d s; the figures are as last read)"),
                               self->site_error, SITE_POLL_MS / 1000);
    else if (self->site && self->site_polls == 0)
        head = g_strdup(_("Reading the site database…"));
    else if (self->store)
        head = g_strdup_printf(_("Shift since %s · %u of %u stations up · %u waiting for a "
                                 "decision"),
                               since, up, self->stations->len,
                               self->queue ? self->queue->len : 0);
    else
        head = g_strdup_printf(_("Shift since %s · %u of %u stations up"), since, up,
                               self->stations->len);
    if (self->site && self->site_error)
        gtk_widget_add_css_class(GTK_WIDGET(self->shift_label), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(self->shift_label), "error");
    gtk_label_set_text(self->shift_label, head);
    g_free(head);
    g_free(since);
    if (self->queue) {
        char *t = g_strdup_printf(_("Waiting for a decision: %u"), self->queue->len);
        gtk_label_set_text(self->queue_title, t);
        g_free(t);
    }

    /* the chosen family's figures in words (the chart's summary, for every reader) */
    const char *family = selected_family(self);
    if (family) {
        FamAgg *f = g_hash_table_lookup(self->families, family);
        Subgroup g[PCHART_GROUPS + 1];
        double pbar;
        gboolean partial;
        guint n = pchart_groups(self, family, g, &pbar, &partial), out = 0;
        for (guint i = 0; i < n - (partial ? 1 : 0); i++) {
            double sigma = sqrt(pbar * (1 - pbar) / g[i].n), p = g[i].scrap / (double) g[i].n;
            if (p > pbar + 3 * sigma + 1e-12 || p < pbar - 3 * sigma - 1e-12)
                out++;
        }
        char *rate = f && f->parts ? fmt_pct(f->scrap / (double) f->parts) : g_strdup("–");
        char *cl = fmt_pct(pbar);
        char *t = g_strdup_printf(_("This shift: %u scrapped of %u (%s). Chart: p̄ %s over the "
                                    "last %u subgroups, %u outside the limits."),
                                  f ? f->scrap : 0, f ? f->parts : 0, rate, cl, n, out);
        gtk_label_set_text(self->family_summary, t);
        gtk_accessible_update_property(GTK_ACCESSIBLE(self->pchart_area),
                                       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, t, -1);
        g_free(t);
        g_free(rate);
        g_free(cl);
    } else {
        gtk_label_set_text(self->family_summary, _("No family seen yet"));
    }
    /* the route mix in words for assistive technologies */
    GString *mix = g_string_new(NULL);
    for (int r = 0; r < N_ROUTES; r++)
        g_string_append_printf(mix, "%s%s %u", r ? ", " : "", route_label(r),
                               self->route_count[r]);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->routes_area),
                                   GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, mix->str, -1);
    g_string_truncate(mix, 0);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, self->operators);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const OpAgg *o = v;
        g_string_append_printf(mix, "%s%s %u/%u", mix->len ? ", " : "", (const char *) k,
                               o->overrides, o->decisions - o->reviews);
    }
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->operators_area),
                                   GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, mix->str, -1);
    g_string_printf(mix, "%u", self->parts);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->hours_area),
                                   GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, mix->str, -1);
    g_string_free(mix, TRUE);

    gtk_widget_queue_draw(GTK_WIDGET(self->hours_area));
    gtk_widget_queue_draw(GTK_WIDGET(self->routes_area));
    gtk_widget_queue_draw(GTK_WIDGET(self->pchart_area));
    gtk_widget_queue_draw(GTK_WIDGET(self->pareto_area));
    gtk_widget_queue_draw(GTK_WIDGET(self->operators_area));
}

static gboolean sv_tick(gpointer data)
{
    RhSupervisor *self = data;
    if (!self->shift_fixed) {
        gint64 start = shift_start_for(g_get_real_time());
        if (start != self->shift_start) {
            self->shift_start = start;
            sv_recount(self);
        }
    }
    if (self->store && !self->queue_running &&
        g_get_monotonic_time() - self->queue_read >= QUEUE_EVERY_US)
        sv_queue_start(self);
    sv_update(self);
    return G_SOURCE_CONTINUE;
}

static void on_family_changed(GObject *dd, GParamSpec *pspec, RhSupervisor *self)
{
    sv_update(self);
}

static void on_refresh_clicked(GtkButton *b, RhSupervisor *self)
{
    rh_supervisor_refresh(self);
}

/* --- the site database ------------------------------------------------------------------
 * Every SITE_POLL_MS a GTask asks the site (a read-only session kept open between polls)
 * for the decisions of the last 24 hours it has not read yet (above the highest seq read of
 * each station) and for the health view; the decisions are parsed in the task's thread into
 * RhDecs and applied on the main loop exactly as the line's are (sv_apply_decision). */

typedef struct SitePoll {
    char *conninfo;
    GMutex lock;
    ra_site_t *site;
} SitePoll;

static void site_poll_clear(gpointer p)
{
    SitePoll *sp = p;
    ra_site_close(&sp->site);
    g_mutex_clear(&sp->lock);
    g_free(sp->conninfo);
}

static void site_poll_unref(SitePoll *sp)
{
    if (sp)
        g_atomic_rc_box_release_full(sp, site_poll_clear);
}

typedef struct {
    char *station, *status;
    guint64 site_seq;
    long long lag, rejected;
    gboolean stale;
    double last_seen_s;
} HealthRow;

static void health_free(gpointer p)
{
    HealthRow *h = p;
    g_free(h->station);
    g_free(h->status);
    g_free(h);
}

typedef struct {
    SitePoll *sp;
    char *from;
    char **stations;
    guint64 *after;
    size_t n;
    GPtrArray *decs;     /* RhDec* */
    GPtrArray *health;   /* HealthRow* */
    GHashTable *marks;   /* station -> highest seq read in this poll (GUINT64 in a box) */
    char cur[128];
    size_t cur_n;
    gboolean more;
    guint skipped;
} PollJob;

static void poll_job_free(gpointer p)
{
    PollJob *j = p;
    site_poll_unref(j->sp);
    g_free(j->from);
    g_strfreev(j->stations);
    g_free(j->after);
    if (j->decs)
        g_ptr_array_unref(j->decs);
    if (j->health)
        g_ptr_array_unref(j->health);
    g_hash_table_destroy(j->marks);
    g_free(j);
}

static int poll_record(void *arg, const ra_site_record_t *rec)
{
    PollJob *j = arg;
    if (strcmp(j->cur, rec->station) != 0) {
        g_strlcpy(j->cur, rec->station, sizeof j->cur);
        j->cur_n = 0;
    }
    if (++j->cur_n >= SITE_BATCH)
        j->more = TRUE;
    guint64 *m = g_hash_table_lookup(j->marks, rec->station);
    if (!m) {
        m = g_new0(guint64, 1);
        g_hash_table_insert(j->marks, g_strdup(rec->station), m);
    }
    if (rec->seq > *m)
        *m = rec->seq;
    RhDec *d = dec_parse(rec->message, rec->len);
    if (d)
        g_ptr_array_add(j->decs, d);
    else
        j->skipped++;
    return 0;
}

static int poll_health(void *arg, const ra_site_health_t *h)
{
    PollJob *j = arg;
    HealthRow *r = g_new0(HealthRow, 1);
    r->station = g_strdup(h->station);
    r->status = g_strdup(h->status);
    r->site_seq = h->site_seq;
    r->lag = h->lag;
    r->rejected = h->rejected;
    r->stale = h->stale;
    r->last_seen_s = h->last_seen_s;
    g_ptr_array_add(j->health, r);
    return 0;
}

static void poll_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    PollJob *j = data;
    SitePoll *sp = j->sp;
    char *err = NULL;
    g_mutex_lock(&sp->lock);
    if (sp->site && !ra_site_ok(sp->site))
        ra_site_close(&sp->site);
    if (!sp->site)
        sp->site = ra_site_open_readonly(sp->conninfo);
    if (!sp->site) {
        err = g_strdup(rv_last_error());
    } else if (ra_site_decisions_after(sp->site, j->from, (const char *const *) j->stations,
                                       j->after, j->n, SITE_BATCH, poll_record, j) < 0 ||
               ra_site_health(sp->site, poll_health, j) < 0) {
        err = g_strdup(rv_last_error());
        if (!ra_site_ok(sp->site))
            ra_site_close(&sp->site); /* connected again at the next poll */
    }
    g_mutex_unlock(&sp->lock);
    if (err) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE, "%s", err);
        g_free(err);
        return;
    }
    g_task_return_boolean(task, TRUE);
}

static void sv_site_poll(RhSupervisor *self);

/* A server's message on one line (libpq's carry a newline and a tab). */
static char *one_line(const char *msg)
{
    char **words = g_regex_split_simple("\\s+", msg ? msg : "", 0, 0);
    char *joined = g_strjoinv(" ", words);
    g_strfreev(words);
    return g_strstrip(joined);
}

static gboolean site_again(gpointer data)
{
    RhSupervisor *self = data;
    self->site_again_id = 0;
    sv_site_poll(self);
    return G_SOURCE_REMOVE;
}

static RhStation *site_station(RhSupervisor *self, const char *id)
{
    RhStation *st = station_by_id(self, id);
    if (!st) {
        st = g_new0(RhStation, 1);
        st->id = g_strdup(id);
        st->from_site = TRUE;
        st->state = ST_CONNECTING;
        st->since = g_get_monotonic_time();
        g_ptr_array_add(self->stations, st);
        station_row_new(self, st);
    }
    return st;
}

static void poll_done(GObject *source, GAsyncResult *res, gpointer data)
{
    RhSupervisor *self = RH_SUPERVISOR(source);
    PollJob *j = g_task_get_task_data(G_TASK(res));
    GError *err = NULL;
    gboolean ok = g_task_propagate_boolean(G_TASK(res), &err);
    if (self->disposed || j->sp != self->site) {
        g_clear_error(&err);
        return;
    }
    self->site_polling = FALSE;
    if (!ok) {
        char *why = one_line(err->message);
        if (g_strcmp0(self->site_error, why) != 0)
            g_message("supervisor: site: the site database cannot be reached: %s", why);
        g_free(self->site_error);
        self->site_error = why;
        g_error_free(err);
        /* the stations' liveness is unknown until the site answers again (shown as last read) */
        for (guint i = 0; i < self->stations->len; i++) {
            RhStation *st = self->stations->pdata[i];
            if (st->from_site)
                sv_set_state(st, ST_CONNECTING);
        }
        sv_update(self);
        return;
    }
    if (self->site_error)
        g_message("supervisor: site: the site database answers again");
    g_clear_pointer(&self->site_error, g_free);
    self->site_polls++;
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; i < j->health->len; i++) {
        HealthRow *h = j->health->pdata[i];
        RhStation *st = site_station(self, h->station);
        if (g_strcmp0(st->site_status, h->status) != 0 || st->lag != h->lag)
            g_message("supervisor: site: station %s %s%s lag %lld seq %" G_GUINT64_FORMAT,
                      h->station, h->status, h->stale ? " (stale)" : "", h->lag, h->site_seq);
        g_free(st->site_status);
        st->site_status = g_strdup(h->status);
        st->lag = h->lag;
        st->rejected = h->rejected;
        st->site_seq = h->site_seq;
        st->last_seen_s = h->last_seen_s;
        st->heard = h->last_seen_s >= 0 ? now - (gint64) (h->last_seen_s * G_USEC_PER_SEC) : 0;
        RhState state = !strcmp(h->status, "down") || !strcmp(h->status, "key-changed")
                            ? ST_DOWN
                        : h->stale || !strcmp(h->status, "stale") ? ST_STALE
                        : !strcmp(h->status, "up")                ? ST_UP
                                                                  : ST_CONNECTING;
        sv_set_state(st, state);
    }
    guint fresh = j->decs->len;
    for (guint i = 0; i < j->decs->len; i++) {
        RhDec *d = j->decs->pdata[i];
        j->decs->pdata[i] = NULL;
        RhStation *st = site_station(self, d->station);
        if (self->store && strcmp(d->station, ra_store_station(self->store)) == 0)
            self->queue_again = TRUE; /* this station decided: the queue changed */
        sv_apply_decision(self, st, d);
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, j->marks);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        guint64 *m = g_hash_table_lookup(self->site_marks, k);
        if (!m) {
            m = g_new0(guint64, 1);
            g_hash_table_insert(self->site_marks, g_strdup(k), m);
        }
        *m = MAX(*m, *(guint64 *) v);
    }
    if (fresh || self->site_polls == 1)
        g_message("supervisor: site poll: new=%u parts=%u stations=%u%s", fresh, self->parts,
                  self->stations->len, j->more ? " (more to read)" : "");
    if (j->skipped)
        g_message("supervisor: site: %u decisions that could not be read were skipped",
                  j->skipped);
    sv_update(self);
    if (self->queue_again && !self->queue_running)
        sv_queue_start(self);
    if (j->more && !self->site_again_id)
        self->site_again_id = g_idle_add(site_again, self);
}

static void sv_site_poll(RhSupervisor *self)
{
    if (!self->site || self->site_polling || self->disposed)
        return;
    PollJob *j = g_new0(PollJob, 1);
    j->sp = g_atomic_rc_box_acquire(self->site);
    /* the figures keep 24 hours (KEEP_US): what came before is never read */
    GDateTime *from = g_date_time_new_from_unix_utc((g_get_real_time() - KEEP_US) / G_USEC_PER_SEC);
    j->from = g_date_time_format(from, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(from);
    j->n = g_hash_table_size(self->site_marks);
    j->stations = g_new0(char *, j->n + 1);
    j->after = g_new0(guint64, j->n + 1);
    GHashTableIter it;
    gpointer k, v;
    size_t i = 0;
    g_hash_table_iter_init(&it, self->site_marks);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        j->stations[i] = g_strdup(k);
        j->after[i++] = *(guint64 *) v;
    }
    j->decs = g_ptr_array_new_with_free_func((GDestroyNotify) dec_free);
    j->health = g_ptr_array_new_with_free_func(health_free);
    j->marks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    self->site_polling = TRUE;
    GTask *task = g_task_new(self, NULL, poll_done, NULL);
    g_task_set_source_tag(task, sv_site_poll);
    g_task_set_task_data(task, j, poll_job_free);
    g_task_run_in_thread(task, poll_thread);
    g_object_unref(task);
}

static gboolean site_tick(gpointer data)
{
    sv_site_poll(data);
    return G_SOURCE_CONTINUE;
}

/* Stop following the line: every subscriber thread joined, its events dropped. */
static void sv_stop_feeds(RhSupervisor *self)
{
    for (guint i = 0; i < self->feeds->len; i++)
        g_atomic_int_set(&((RhFeed *) self->feeds->pdata[i])->stop, 1);
    for (guint i = 0; i < self->feeds->len; i++) {
        RhFeed *f = self->feeds->pdata[i];
        g_thread_join(f->thread);
        feed_free(f);
    }
    g_ptr_array_set_size(self->feeds, 0);
    g_mutex_lock(&self->qlock);
    g_clear_handle_id(&self->idle_id, g_source_remove);
    g_queue_clear_full(&self->pending, event_free);
    g_mutex_unlock(&self->qlock);
}

/* --- the object ----------------------------------------------------------------------- */
static void sv_load_css(void)
{
    static gsize done = 0;
    if (!g_once_init_enter(&done))
        return;
    GtkCssProvider *css = gtk_css_provider_new();
    gtk_css_provider_load_from_data(
        css,
        "rhsupervisor .rh-shift { font-size: 1.15em; font-weight: bold; }\n"
        "rhsupervisor .rh-kpi { padding: 10px 6px; border-radius: 10px;"
        "  border: 2px solid alpha(currentColor, 0.35); }\n"
        "rhsupervisor .rh-kpi-value { font-size: 2.4em; font-weight: 800; }\n"
        "rhsupervisor .rh-kpi-caption { font-size: 0.95em; }\n"
        "rhsupervisor .rh-card-title { font-size: 1.1em; font-weight: bold; margin: 0 6px; }\n"
        "rhsupervisor frame { padding: 6px; }\n"
        "rhsupervisor row { min-height: 56px; }\n"
        "rhsupervisor .rh-state { font-weight: 800; }\n"
        "rhsupervisor .rh-station-name, rhsupervisor .rh-queue-head { font-weight: bold; }\n"
        "rhsupervisor .rh-stale, rhsupervisor .rh-down { text-decoration: underline; }\n"
        "rhsupervisor button, rhsupervisor dropdown > button { min-height: 48px;"
        "  min-width: 48px; }\n",
        -1);
    gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(css);
    g_once_init_leave(&done, 1);
}

static void rh_supervisor_init(RhSupervisor *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    sv_load_css();
    self->feeds = g_ptr_array_new();
    self->stations = g_ptr_array_new_with_free_func(station_free);
    g_mutex_init(&self->qlock);
    g_queue_init(&self->pending);
    g_mutex_init(&self->busy_lock);
    g_cond_init(&self->busy_cond);
    self->shift_start = shift_start_for(g_get_real_time());
    self->shift = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) dec_free);
    self->families = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    self->operators = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    self->reasons = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    self->psamples =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
    self->family_model = gtk_string_list_new(NULL);
    gtk_drop_down_set_model(self->family_dropdown, G_LIST_MODEL(self->family_model));
    self->queue_cancel = g_cancellable_new();
    self->site_marks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    gtk_label_set_text(self->source_label,
                       _("Source: the line, live from this station and every station followed"));
    for (int i = 0; i < 5; i++)
        self->hatch[i] = make_hatch(i);
    gtk_drawing_area_set_draw_func(self->hours_area, draw_hours, self, NULL);
    gtk_drawing_area_set_draw_func(self->routes_area, draw_routes, self, NULL);
    gtk_drawing_area_set_draw_func(self->pchart_area, draw_pchart, self, NULL);
    gtk_drawing_area_set_draw_func(self->pareto_area, draw_pareto, self, NULL);
    gtk_drawing_area_set_draw_func(self->operators_area, draw_operators, self, NULL);
    g_signal_connect(self->family_dropdown, "notify::selected", G_CALLBACK(on_family_changed),
                     self);
    g_signal_connect(self->refresh_button, "clicked", G_CALLBACK(on_refresh_clicked), self);
    g_signal_connect(self->queue_list, "row-activated", G_CALLBACK(sv_queue_row_activated), self);
    gtk_widget_set_sensitive(GTK_WIDGET(self->refresh_button), FALSE);
    gtk_label_set_text(self->queue_placeholder, _("No store: the queue is not shown"));
    self->tick_id = g_timeout_add_seconds(1, sv_tick, self);
    sv_update(self);
}

static void rh_supervisor_dispose(GObject *object)
{
    RhSupervisor *self = RH_SUPERVISOR(object);
    if (!self->disposed) {
        self->disposed = TRUE;
        g_clear_handle_id(&self->tick_id, g_source_remove);
        /* the store task: stop it and wait until it no longer touches the store */
        g_cancellable_cancel(self->queue_cancel);
        g_mutex_lock(&self->busy_lock);
        while (self->busy > 0)
            g_cond_wait(&self->busy_cond, &self->busy_lock);
        g_mutex_unlock(&self->busy_lock);
        /* the line threads: stop all, then join each (each waits at most 200 ms) */
        sv_stop_feeds(self);
        /* the site: a poll running finishes on its own (it holds its own reference) */
        g_clear_handle_id(&self->site_timer_id, g_source_remove);
        g_clear_handle_id(&self->site_again_id, g_source_remove);
    }
    gtk_widget_dispose_template(GTK_WIDGET(self), RH_TYPE_SUPERVISOR);
    G_OBJECT_CLASS(rh_supervisor_parent_class)->dispose(object);
}

static void rh_supervisor_finalize(GObject *object)
{
    RhSupervisor *self = RH_SUPERVISOR(object);
    g_ptr_array_unref(self->feeds);
    g_ptr_array_unref(self->stations);
    g_hash_table_destroy(self->shift);
    g_hash_table_destroy(self->families);
    g_hash_table_destroy(self->operators);
    g_hash_table_destroy(self->reasons);
    g_hash_table_destroy(self->psamples);
    g_hash_table_destroy(self->site_marks);
    site_poll_unref(self->site);
    g_free(self->site_error);
    g_clear_object(&self->family_model);
    g_clear_object(&self->queue_cancel);
    if (self->queue)
        g_ptr_array_unref(self->queue);
    for (int i = 0; i < 5; i++)
        cairo_pattern_destroy(self->hatch[i]);
    g_mutex_clear(&self->qlock);
    g_mutex_clear(&self->busy_lock);
    g_cond_clear(&self->busy_cond);
    G_OBJECT_CLASS(rh_supervisor_parent_class)->finalize(object);
}

static void rh_supervisor_class_init(RhSupervisorClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->dispose = rh_supervisor_dispose;
    object_class->finalize = rh_supervisor_finalize;
    /* open-inspection (record n, serial or NULL, upgrade request n or 0): a waiting
     * inspection was chosen */
    s_signals[SIGNAL_OPEN_INSPECTION] =
        g_signal_new("open-inspection", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                     NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_INT64);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/reman/Station/supervisor.ui");
    gtk_widget_class_set_css_name(widget_class, "rhsupervisor");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, RhSupervisor, name)
    BIND(shift_label);
    BIND(kpi_rate);
    BIND(kpi_parts);
    BIND(kpi_scrap);
    BIND(kpi_material);
    BIND(kpi_co2);
    BIND(family_summary);
    BIND(queue_title);
    BIND(queue_placeholder);
    BIND(refresh_button);
    BIND(family_dropdown);
    BIND(hours_area);
    BIND(routes_area);
    BIND(pchart_area);
    BIND(pareto_area);
    BIND(operators_area);
    BIND(stations_list);
    BIND(queue_list);
    BIND(source_label);
#undef BIND
}

/* --- public --------------------------------------------------------------------------- */
RhSupervisor *rh_supervisor_new(void)
{
    return g_object_new(RH_TYPE_SUPERVISOR, NULL);
}

gboolean rh_supervisor_add_station(RhSupervisor *self, const char *pub_endpoint,
                                   const char *replay_endpoint, GError **error)
{
    g_return_val_if_fail(RH_IS_SUPERVISOR(self), FALSE);
    g_return_val_if_fail(pub_endpoint != NULL, FALSE);
    if (self->site)
        return TRUE; /* the site has every station already */
    if (self->disposed) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s", _("The view is closed"));
        return FALSE;
    }
    RhFeed *f = g_new0(RhFeed, 1);
    f->owner = self;
    f->slot = self->stations->len;
    f->pub = g_strdup(pub_endpoint);
    f->replay = g_strdup(replay_endpoint ? replay_endpoint : "");
    g_mutex_init(&f->lock);
    g_cond_init(&f->cond);
    /* the thread makes its subscriber and says at once whether the endpoints were taken */
    f->thread = g_thread_try_new("rh-supervisor-line", feed_main, f, error);
    if (!f->thread) {
        feed_free(f);
        return FALSE;
    }
    g_mutex_lock(&f->lock);
    while (f->started == 0)
        g_cond_wait(&f->cond, &f->lock);
    g_mutex_unlock(&f->lock);
    if (f->started < 0) {
        g_thread_join(f->thread);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Cannot follow %s: %s"),
                    pub_endpoint, f->err);
        feed_free(f);
        return FALSE;
    }
    RhStation *st = g_new0(RhStation, 1);
    st->pub = g_strdup(pub_endpoint);
    st->replay = g_strdup(f->replay);
    st->state = ST_CONNECTING;
    st->since = g_get_monotonic_time();
    g_ptr_array_add(self->stations, st);
    g_ptr_array_add(self->feeds, f);
    station_row_new(self, st);
    sv_update(self);
    return TRUE;
}

void rh_supervisor_set_store(RhSupervisor *self, ra_store_t *store)
{
    g_return_if_fail(RH_IS_SUPERVISOR(self));
    if (self->store == store)
        return;
    /* a running read of the old store finishes first (it is borrowed) */
    if (self->queue_running) {
        g_cancellable_cancel(self->queue_cancel);
        g_mutex_lock(&self->busy_lock);
        while (self->busy > 0)
            g_cond_wait(&self->busy_cond, &self->busy_lock);
        g_mutex_unlock(&self->busy_lock);
        g_clear_object(&self->queue_cancel);
        self->queue_cancel = g_cancellable_new();
        self->queue_running = FALSE;
    }
    self->store = store;
    if (self->queue) {
        g_ptr_array_unref(self->queue);
        self->queue = NULL;
    }
    sv_queue_fill(self);
    gtk_widget_set_sensitive(GTK_WIDGET(self->refresh_button), store != NULL);
    gtk_label_set_text(self->queue_placeholder, store ? _("Nothing is waiting")
                                                      : _("No store: the queue is not shown"));
    if (store)
        sv_queue_start(self);
    sv_update(self);
}

void rh_supervisor_refresh(RhSupervisor *self)
{
    g_return_if_fail(RH_IS_SUPERVISOR(self));
    sv_queue_start(self);
}

void rh_supervisor_set_shift_start(RhSupervisor *self, GDateTime *start)
{
    g_return_if_fail(RH_IS_SUPERVISOR(self));
    self->shift_fixed = start != NULL;
    self->shift_start = start ? g_date_time_to_unix(start) * G_USEC_PER_SEC
                              : shift_start_for(g_get_real_time());
    sv_recount(self);
    sv_update(self);
}

gboolean rh_supervisor_first_waiting(RhSupervisor *self, gint64 *record, gint64 *request)
{
    g_return_val_if_fail(RH_IS_SUPERVISOR(self), FALSE);
    if (!self->queue || self->queue->len == 0)
        return FALSE;
    const RhWait *w = self->queue->pdata[0]; /* sorted by record: the oldest */
    *record = w->n;
    if (request)
        *request = w->request;
    return TRUE;
}

void rh_supervisor_set_site(RhSupervisor *self, const char *conninfo)
{
    g_return_if_fail(RH_IS_SUPERVISOR(self));
    if (!conninfo || !*conninfo || self->site || self->disposed)
        return;
    /* the line is not followed any more: every figure comes from the site */
    sv_stop_feeds(self);
    GtkWidget *row;
    while ((row = gtk_widget_get_first_child(GTK_WIDGET(self->stations_list))))
        gtk_list_box_remove(self->stations_list, row);
    g_ptr_array_set_size(self->stations, 0);
    g_hash_table_remove_all(self->shift);
    g_hash_table_remove_all(self->psamples);
    gtk_string_list_splice(self->family_model, 0,
                           g_list_model_get_n_items(G_LIST_MODEL(self->family_model)), NULL);
    sv_recount(self);
    self->site = g_atomic_rc_box_new0(SitePoll);
    self->site->conninfo = g_strdup(conninfo);
    g_mutex_init(&self->site->lock);
    char where[512];
    if (ra_site_conninfo_describe(conninfo, where, sizeof where) != 0)
        g_strlcpy(where, "?", sizeof where);
    char *t = g_strdup_printf(_("Source: site database (every station it holds): %s"), where);
    gtk_label_set_text(self->source_label, t);
    g_message("supervisor: %s", t);
    g_free(t);
    self->site_timer_id = g_timeout_add(SITE_POLL_MS, site_tick, self);
    sv_site_poll(self);
    sv_update(self);
}
