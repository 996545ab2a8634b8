/* rh_window.c - the station window (rh_window.h).
 *
 * The technician's flow: sign in -> identify (the code read from the image, scanned or
 * typed) -> capture (F5; retake F6) -> inspect (off the main thread) -> the proposal (a
 * route badge with icon and word, each reason with its measured value and limit) ->
 * confirm (F9 or Enter) or override (F8: route, reason code, text; an upgrade asks for a
 * supervisor's PIN) -> the line status (stored, sent as seq N, or queued) -> next core (F12).
 * Every store write, inspection and PIN check runs in a GTask: the window never blocks.
 * Each step is logged (g_message, structured) so a test can follow it. */
#include "rh_window.h"

#include "rh_audit.h"
#include "rh_camera.h"
#include "rh_supervisor.h"

#include "ra/ra_identify.h"
#include "ra/ra_part.h"
#include "rm/rm_grade.h"
#include "rv/rv.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

/* The override reason codes offered at the bench (stored as given; docs/station.md). */
static const struct {
    const char *code;
    const char *label;
} s_reasons[] = {
    {"finding-not-confirmed", N_("Finding not confirmed on the part")},
    {"measurement-recheck", N_("Re-measured by hand")},
    {"customer-instruction", N_("Customer instruction")},
    {"engineering-concession", N_("Engineering concession")},
    {"handling-damage", N_("Damaged in handling")},
    {"other", N_("Other (say why)")},
};

static const char *const s_routes[] = {"reuse", "remanufacture", "refurbish", "repair", "scrap"};

/* One view of the part being inspected (a part may need several: both faces of a disc). */
typedef struct {
    json_t *line;          /* the view's own inspection, as stored */
    int64_t record;
    double ms;
    const char *caption;   /* how the image was made (static, translated when shown) */
    GdkTexture *plain, *findings, *heat;
    json_t *part;          /* the part's inspection once this view was added */
    int64_t part_record;   /* its record (the view's own when it is the only one) */
} s_view_t;

static void s_view_free(gpointer p)
{
    s_view_t *v = p;
    json_decref(v->line);
    json_decref(v->part);
    g_clear_object(&v->plain);
    g_clear_object(&v->findings);
    g_clear_object(&v->heat);
    g_free(v);
}

struct _RhWindow {
    GtkApplicationWindow parent;
    RhStation *st;
    RhCamera *camera;
    RhSupervisor *supervisor;
    RhAudit *audit;

    /* template children */
    GtkStack *pages, *steps;
    GtkLabel *operator_label, *signin_station, *signin_error, *hint_label, *serial_label,
        *part_label, *family_label, *history_label, *badge_label, *summary_label, *line_label,
        *status_label, *busy_label, *view_caption;
    GtkWidget *signout_button, *busy_box, *badge, *decide_box, *supervisor_box, *next_button,
        *confirm_button, *override_button, *capture_button, *scroller, *approve_box;
    GtkLabel *approve_label;
    GtkEntry *approve_id, *approve_text;
    GtkPasswordEntry *approve_pin;
    GtkSpinner *busy_spinner;
    GtkEntry *operator_entry, *code_entry, *override_text, *supervisor_entry;
    GtkPasswordEntry *pin_entry, *supervisor_pin;
    GtkPicture *view;
    GtkImage *badge_icon;
    GtkListBox *reasons;
    GtkRevealer *override_revealer;
    GtkDropDown *route_drop, *reason_drop;

    /* state */
    char *operator_id;
    int role;
    RhFrame *live;         /* the latest frame from the camera */
    GdkTexture *live_tex;  /* and its texture (made on the camera thread) */
    RhFrame *captured;     /* the frame being inspected or shown */
    gboolean busy;         /* an inspection or a store write is running */
    json_t *line;          /* the inspection shown (after inspection) */
    int64_t record;        /* its record number in the store, 0 when not stored */
    gboolean decided;
    gboolean requested;    /* an upgrade was asked for: it waits for a supervisor */
    int64_t request;       /* opened from the queue: the upgrade request to answer, or 0 */
    uint64_t seq;          /* the decision's seq */
    guint line_timer;
    int line_polls;
    GdkTexture *tex_plain, *tex_findings, *tex_heat; /* the view shown */
    GPtrArray *views;      /* s_view_t: the part's views in the order captured */
    guint shown;           /* the view the image shows */
    double zoom;           /* 0: fit */
    char *camera_status;
    char *base_status;     /* the station and line, shown when nothing else is to say */
};

G_DEFINE_TYPE(RhWindow, rh_window, GTK_TYPE_APPLICATION_WINDOW)

/* ---------------------------------------------------------------- small helpers */

static void s_status(RhWindow *self, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void s_status(RhWindow *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gtk_label_set_text(self->status_label, m);
    g_free(m);
}

static void s_action_enable(RhWindow *self, const char *name, gboolean on)
{
    GAction *a = g_action_map_lookup_action(G_ACTION_MAP(self), name);
    if (a)
        g_simple_action_set_enabled(G_SIMPLE_ACTION(a), on);
}

static const char *s_route_word(const char *route)
{
    if (!route)
        return _("REFUSED");
    if (!strcmp(route, "reuse"))
        return _("REUSE");
    if (!strcmp(route, "remanufacture"))
        return _("REMANUFACTURE");
    if (!strcmp(route, "refurbish"))
        return _("REFURBISH");
    if (!strcmp(route, "repair"))
        return _("REPAIR");
    if (!strcmp(route, "scrap"))
        return _("SCRAP");
    if (!strcmp(route, "review"))
        return _("REVIEW");
    return route;
}

static const char *s_route_label(const char *route)
{
    if (!strcmp(route, "reuse"))
        return _("Reuse");
    if (!strcmp(route, "remanufacture"))
        return _("Remanufacture");
    if (!strcmp(route, "refurbish"))
        return _("Refurbish");
    if (!strcmp(route, "repair"))
        return _("Repair");
    if (!strcmp(route, "scrap"))
        return _("Scrap");
    return route;
}

static const char *s_credit_word(const char *credit)
{
    if (!g_strcmp0(credit, "full"))
        return _("full");
    if (!g_strcmp0(credit, "partial"))
        return _("partial");
    if (!g_strcmp0(credit, "none"))
        return _("none");
    return credit ? credit : "–";
}

static const char *s_route_icon(const char *route)
{
    if (!route)
        return "action-unavailable-symbolic";
    if (!strcmp(route, "reuse"))
        return "emblem-ok-symbolic";
    if (!strcmp(route, "remanufacture"))
        return "view-refresh-symbolic";
    if (!strcmp(route, "refurbish"))
        return "edit-clear-all-symbolic";
    if (!strcmp(route, "repair"))
        return "applications-engineering-symbolic";
    if (!strcmp(route, "scrap"))
        return "user-trash-symbolic";
    return "dialog-question-symbolic";
}

static void s_set_badge(RhWindow *self, const char *route, const char *word)
{
    static const char *classes[] = {"route-reuse", "route-remanufacture", "route-refurbish",
                                    "route-repair", "route-scrap", "route-review", "refused"};
    for (size_t i = 0; i < G_N_ELEMENTS(classes); i++)
        gtk_widget_remove_css_class(self->badge, classes[i]);
    char cls[48];
    if (route)
        g_snprintf(cls, sizeof cls, "route-%s", route);
    else
        g_strlcpy(cls, "refused", sizeof cls);
    gtk_widget_add_css_class(self->badge, cls);
    gtk_image_set_from_icon_name(self->badge_icon, s_route_icon(route));
    gtk_label_set_text(self->badge_label, word ? word : s_route_word(route));
    gtk_widget_set_visible(self->badge, TRUE);
}

static void s_show_texture(RhWindow *self, GdkTexture *tex)
{
    gtk_picture_set_paintable(self->view, GDK_PAINTABLE(tex));
    if (self->zoom > 0 && tex) {
        gtk_picture_set_can_shrink(self->view, FALSE);
        gtk_widget_set_size_request(GTK_WIDGET(self->view),
                                    (int) (gdk_texture_get_width(tex) * self->zoom),
                                    (int) (gdk_texture_get_height(tex) * self->zoom));
    } else {
        gtk_picture_set_can_shrink(self->view, TRUE);
        gtk_widget_set_size_request(GTK_WIDGET(self->view), -1, -1);
    }
}

/* The image shown: live, or the inspected part with findings / heat map as toggled. */
static void s_refresh_view(RhWindow *self)
{
    if (!self->line) {
        return; /* live: the camera callback shows frames */
    }
    GVariant *f = g_action_group_get_action_state(G_ACTION_GROUP(self), "show-findings");
    GVariant *h = g_action_group_get_action_state(G_ACTION_GROUP(self), "show-heat");
    gboolean findings = f && g_variant_get_boolean(f), heat = h && g_variant_get_boolean(h);
    if (f)
        g_variant_unref(f);
    if (h)
        g_variant_unref(h);
    GdkTexture *t = heat && self->tex_heat ? self->tex_heat
                    : findings && self->tex_findings ? self->tex_findings
                    : self->tex_plain;
    if (t)
        s_show_texture(self, t);
}

static void s_clear_part(RhWindow *self)
{
    g_clear_pointer(&self->line, json_decref);
    g_clear_object(&self->tex_plain);
    g_clear_object(&self->tex_findings);
    g_clear_object(&self->tex_heat);
    g_ptr_array_set_size(self->views, 0);
    self->shown = 0;
    self->record = 0;
    self->decided = FALSE;
    self->requested = FALSE;
    self->request = 0;
    gtk_widget_set_visible(self->approve_box, FALSE);
    gtk_editable_set_text(GTK_EDITABLE(self->approve_pin), "");
    gtk_editable_set_text(GTK_EDITABLE(self->approve_text), "");
    self->seq = 0;
    if (self->line_timer) {
        g_source_remove(self->line_timer);
        self->line_timer = 0;
    }
    gtk_label_set_text(self->serial_label, "–");
    gtk_label_set_text(self->part_label, "–");
    gtk_label_set_text(self->family_label, "–");
    gtk_label_set_text(self->history_label, "–");
    gtk_label_set_text(self->summary_label, "");
    gtk_label_set_text(self->line_label, "");
    gtk_label_set_text(self->view_caption, _("Live"));
    gtk_widget_set_visible(self->badge, FALSE);
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->reasons))))
        gtk_list_box_remove(self->reasons, child);
    gtk_revealer_set_reveal_child(self->override_revealer, FALSE);
    gtk_editable_set_text(GTK_EDITABLE(self->override_text), "");
    gtk_editable_set_text(GTK_EDITABLE(self->supervisor_entry), "");
    gtk_editable_set_text(GTK_EDITABLE(self->supervisor_pin), "");
}

/* Which actions make sense now. */
static void s_update_actions(RhWindow *self)
{
    gboolean signed_in = self->operator_id != NULL;
    gboolean shown = self->line != NULL;
    gboolean graded = shown && json_is_string(json_object_get(self->line, "proposal"));
    gboolean review = graded && !g_strcmp0(json_string_value(json_object_get(self->line,
                                                                               "proposal")),
                                             "review");
    gboolean open = graded && !self->decided && !self->requested && self->record > 0;
    s_action_enable(self, "capture",
                    signed_in && !self->busy && self->live &&
                        (!shown || (open && !self->request && self->views->len > 0 &&
                                    self->views->len < RA_PART_MAX_VIEWS)));
    s_action_enable(self, "next-view", shown && self->views->len > 1);
    s_action_enable(self, "retake", signed_in && !self->busy && shown && !self->decided &&
                                        !self->requested);
    s_action_enable(self, "confirm", signed_in && !self->busy && open && !review &&
                                         !self->request);
    s_action_enable(self, "override", signed_in && !self->busy && open && !self->request);
    s_action_enable(self, "apply-override", signed_in && !self->busy && open && !self->request);
    s_action_enable(self, "request-upgrade", signed_in && !self->busy && open &&
                                                 !self->request);
    s_action_enable(self, "approve-upgrade", signed_in && !self->busy && open && self->request);
    s_action_enable(self, "refuse-upgrade", signed_in && !self->busy && open && self->request);
    s_action_enable(self, "next", signed_in && !self->busy && shown);
    s_action_enable(self, "sign-out", signed_in && !self->busy);
    gtk_widget_set_visible(self->signout_button, signed_in);
    gtk_widget_set_visible(self->busy_box, self->busy);
    gtk_spinner_set_spinning(self->busy_spinner, self->busy);
}

static void s_hint(RhWindow *self)
{
    const char *h;
    if (!self->line)
        h = self->live ? _("Put the core in the fixture, scan or type its code if the camera "
                           "cannot read it, then press F5 to capture.")
                       : _("Waiting for the camera…");
    else if (!json_is_string(json_object_get(self->line, "proposal")))
        h = _("Not graded: see why below. Retake (F6) or go to the next core (F12).");
    else if (self->decided)
        h = _("Decision recorded. Press F12 for the next core.");
    else if (self->requested)
        h = _("The upgrade waits for a supervisor's approval. Press F12 for the next core.");
    else if (self->request)
        h = _("A supervisor approves or refuses the upgrade asked for, with their ID and PIN.");
    else if (!g_strcmp0(json_string_value(json_object_get(self->line, "proposal")), "review"))
        h = _("The grader needs a person: choose the route with Override (F8).");
    else
        h = _("Check the proposal: F9 or Enter confirms it, F8 overrides it; F5 adds another "
              "view of the part.");
    gtk_label_set_text(self->hint_label, h);
}

/* ---------------------------------------------------------------- camera */

static void s_on_frame(gpointer user, RhFrame *frame, GdkTexture *tex, const char *status)
{
    RhWindow *self = user;
    if (!frame) {
        g_free(self->camera_status);
        self->camera_status = g_strdup(status);
        s_status(self, "%s", status);
        g_message("camera: %s", status);
        return;
    }
    if (self->camera_status) { /* frames again: the camera's message is over */
        g_clear_pointer(&self->camera_status, g_free);
        gtk_label_set_text(self->status_label, self->base_status ? self->base_status : "");
    }
    if (self->live)
        rh_frame_unref(self->live);
    self->live = rh_frame_ref(frame);
    g_set_object(&self->live_tex, tex);
    if (!self->line && !self->busy) {
        s_show_texture(self, tex);
        const char *base = strrchr(frame->f->name, '/');
        gtk_label_set_text(self->view_caption, base ? base + 1 : frame->f->name);
    }
    g_message("camera: frame %" G_GUINT64_FORMAT " %s", (guint64) frame->f->seq, frame->f->name);
    s_update_actions(self);
    s_hint(self);
}

static void s_start_camera(RhWindow *self)
{
    if (self->camera)
        return;
    GError *err = NULL;
    ra_source_t *src = rh_station_source(self->st, &err);
    if (!src) {
        s_status(self, "%s", err->message);
        g_warning("%s", err->message);
        g_error_free(err);
        return;
    }
    self->camera = rh_camera_new(src, !strcmp(self->st->cfg->source, "files"), s_on_frame, self);
}

/* ---------------------------------------------------------------- sign in */

typedef struct {
    char *id, *pin;
    int ok;
    ra_role_t role;
    char error[512];
} s_signin_t;

static void s_signin_free(gpointer p)
{
    s_signin_t *s = p;
    g_free(s->id);
    if (s->pin)
        memset(s->pin, 0, strlen(s->pin));
    g_free(s->pin);
    g_free(s);
}

static void s_signin_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void) c;
    RhWindow *self = src;
    s_signin_t *s = data;
    s->ok = ra_store_operator_check(self->st->store, s->id, s->pin, &s->role) == RV_OK;
    if (!s->ok)
        g_strlcpy(s->error, rv_last_error(), sizeof s->error);
    g_task_return_boolean(task, TRUE);
}

static void s_signin_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void) user;
    RhWindow *self = RH_WINDOW(src);
    s_signin_t *s = g_task_get_task_data(G_TASK(res));
    self->busy = FALSE;
    if (!s->ok) {
        /* do not say which of the two was wrong beyond what the store says */
        gtk_label_set_text(self->signin_error, _("Sign-in refused: unknown operator or wrong PIN."));
        g_message("sign-in: refused for %s (%s)", s->id, s->error);
        gtk_editable_set_text(GTK_EDITABLE(self->pin_entry), "");
        gtk_widget_grab_focus(GTK_WIDGET(self->pin_entry));
        s_update_actions(self);
        return;
    }
    g_free(self->operator_id);
    self->operator_id = g_strdup(s->id);
    self->role = (int) s->role;
    char *who = g_strdup_printf(_("%s (%s)"), s->id,
                                s->role == RA_ROLE_SUPERVISOR ? _("supervisor") : _("technician"));
    gtk_label_set_text(self->operator_label, who);
    g_free(who);
    gtk_label_set_text(self->signin_error, "");
    gtk_editable_set_text(GTK_EDITABLE(self->pin_entry), "");
    gtk_stack_set_visible_child_name(self->steps, "work");
    g_message("sign-in: %s as %s", s->id, ra_role_name(s->role));
    s_start_camera(self);
    s_update_actions(self);
    s_hint(self);
    gtk_widget_grab_focus(GTK_WIDGET(self->code_entry));
}

static void s_act_sign_in(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (self->busy)
        return;
    const char *id = gtk_editable_get_text(GTK_EDITABLE(self->operator_entry));
    const char *pin = gtk_editable_get_text(GTK_EDITABLE(self->pin_entry));
    if (!*id || !*pin) {
        gtk_label_set_text(self->signin_error, _("Give your operator ID and PIN."));
        return;
    }
    s_signin_t *s = g_new0(s_signin_t, 1);
    s->id = g_strdup(id);
    s->pin = g_strdup(pin);
    self->busy = TRUE;
    gtk_label_set_text(self->signin_error, _("Checking…"));
    GTask *t = g_task_new(self, NULL, s_signin_done, NULL);
    g_task_set_task_data(t, s, s_signin_free);
    g_task_run_in_thread(t, s_signin_thread);
    g_object_unref(t);
}

static void s_act_sign_out(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    g_message("sign-out: %s", self->operator_id ? self->operator_id : "-");
    g_clear_pointer(&self->operator_id, g_free);
    gtk_label_set_text(self->operator_label, _("Not signed in"));
    s_clear_part(self);
    gtk_stack_set_visible_child_name(self->steps, "signin");
    gtk_editable_set_text(GTK_EDITABLE(self->operator_entry), "");
    gtk_widget_grab_focus(GTK_WIDGET(self->operator_entry));
    s_update_actions(self);
}

/* ---------------------------------------------------------------- history of a serial */

typedef struct {
    char *serial;
    int inspections, decisions, reman;
    char last[64];
} s_hist_t;

static void s_hist_free(gpointer p)
{
    s_hist_t *h = p;
    g_free(h->serial);
    g_free(h);
}

static int s_hist_row(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    (void) n;
    s_hist_t *h = arg;
    json_t *o = json_loadb(body, len, 0, NULL);
    if (!strcmp(kind, "inspection")) /* a part of several views counts once, not per view */
        h->inspections += 1 - (int) json_array_size(json_object_get(o, "views"));
    else if (!strcmp(kind, "decision")) {
        h->decisions++;
        if (!g_strcmp0(json_string_value(json_object_get(o, "route")), "remanufacture"))
            h->reman++;
        const char *ts = json_string_value(json_object_get(o, "ts"));
        if (ts)
            g_strlcpy(h->last, ts, sizeof h->last);
    }
    json_decref(o);
    return 0;
}

static void s_hist_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void) c;
    RhWindow *self = src;
    s_hist_t *h = data;
    ra_store_history(self->st->store, h->serial, s_hist_row, h);
    g_task_return_boolean(task, TRUE);
}

static void s_hist_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void) user;
    RhWindow *self = RH_WINDOW(src);
    s_hist_t *h = g_task_get_task_data(G_TASK(res));
    /* the part shown may have changed meanwhile */
    const char *now = self->line ? json_string_value(json_object_get(
                                       json_object_get(self->line, "code"), "serial"))
                                 : NULL;
    if (g_strcmp0(now, h->serial) != 0)
        return;
    /* this inspection is one of them */
    int earlier = h->inspections > 0 ? h->inspections - 1 : 0;
    char *t = earlier == 0
                  ? g_strdup(_("First time at this station"))
                  : g_strdup_printf(_("%d earlier inspections, %d decisions, remanufactured %d "
                                      "times; last %s"),
                                    earlier, h->decisions, h->reman, h->last[0] ? h->last : "–");
    gtk_label_set_text(self->history_label, t);
    g_message("history: serial=%s earlier=%d remanufactured=%d", h->serial, earlier, h->reman);
    g_free(t);
}

static void s_history(RhWindow *self, const char *serial)
{
    s_hist_t *h = g_new0(s_hist_t, 1);
    h->serial = g_strdup(serial);
    GTask *t = g_task_new(self, NULL, s_hist_done, NULL);
    g_task_set_task_data(t, h, s_hist_free);
    g_task_run_in_thread(t, s_hist_thread);
    g_object_unref(t);
}

/* ---------------------------------------------------------------- inspect */

typedef struct {
    RhFrame *frame;
    ra_code_t code;
    int have_code;
    ra_cell_result_t r;
    int64_t record;
    char store_error[512];
    double ms;
    GdkTexture *tex_plain, *tex_findings, *tex_heat; /* made on the worker thread */
    gboolean from_store; /* an inspection stored earlier, opened from the waiting queue */
    int64_t request;     /* opened to answer this upgrade request (0: none) */
    json_t *req;         /* its record, when still waiting */
    /* another view of the part shown: the views before it, and the part they make with it */
    guint nprev;
    json_t *prev[RA_PART_MAX_VIEWS];
    int64_t prev_records[RA_PART_MAX_VIEWS];
    json_t *part;
    int64_t part_record;
    char add_error[512]; /* the view could not be added: why */
    ra_code_t part_code; /* the part's code, for a view whose face carries no mark */
    int have_part_code;
} s_insp_t;

static void s_insp_free(gpointer p)
{
    s_insp_t *j = p;
    rh_frame_unref(j->frame);
    ra_cell_result_free(&j->r);
    g_clear_object(&j->tex_plain);
    g_clear_object(&j->tex_findings);
    g_clear_object(&j->tex_heat);
    json_decref(j->req);
    for (guint i = 0; i < j->nprev; i++)
        json_decref(j->prev[i]);
    json_decref(j->part);
    g_free(j);
}

static void s_insp_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void) c;
    RhWindow *self = src;
    s_insp_t *j = data;
    gint64 t0 = g_get_monotonic_time();
    g_mutex_lock(&self->st->cell_lock);
    ra_cell_inspect(self->st->cell, j->frame->f->name, j->frame->f, "", 0,
                    j->have_code ? &j->code : NULL, &j->r);
    /* another view whose face shows no code: it is the part's (a code read that differs
     * stays, and the part refuses the view) */
    if (j->have_part_code && !j->r.graded &&
        !json_string_value(json_object_get(json_object_get(j->r.line, "code"), "serial"))) {
        ra_cell_result_free(&j->r);
        ra_cell_inspect(self->st->cell, j->frame->f->name, j->frame->f, "", 0, &j->part_code,
                        &j->r);
    }
    g_mutex_unlock(&self->st->cell_lock);
    /* the automatic proposal is a record of its own, whatever is decided after */
    if (j->r.line && !j->r.store_failed && json_object_get(j->r.line, "evidence")) {
        if (ra_store_inspection(self->st->store, j->r.line, &j->record) != RV_OK) {
            j->record = 0;
            g_strlcpy(j->store_error, rv_last_error(), sizeof j->store_error);
        }
    } else if (j->r.store_failed) {
        g_strlcpy(j->store_error, rv_last_error(), sizeof j->store_error);
    }
    /* another view: the part is this view with those before it (the store combines the
     * records; the same combination of the same records is shown) */
    if (j->nprev > 0) {
        const char *refused = json_string_value(json_object_get(j->r.line, "refused"));
        if (j->record <= 0)
            g_snprintf(j->add_error, sizeof j->add_error, "%s",
                       j->store_error[0] ? j->store_error : _("the view was not stored"));
        else if (refused || !json_is_string(json_object_get(j->r.line, "proposal")))
            g_snprintf(j->add_error, sizeof j->add_error, _("it was not graded: %s"),
                       refused ? refused : "?");
        else {
            json_t *lines[RA_PART_MAX_VIEWS];
            int64_t recs[RA_PART_MAX_VIEWS];
            guint n = j->nprev;
            memcpy(lines, j->prev, n * sizeof *lines);
            memcpy(recs, j->prev_records, n * sizeof *recs);
            lines[n] = j->r.line;
            recs[n] = j->record;
            char why[400];
            if (!(j->part = ra_part_combine(lines, recs, n + 1, why, sizeof why)))
                g_strlcpy(j->add_error, why, sizeof j->add_error);
            else if (ra_store_part(self->st->store, recs, n + 1, &j->part_record) != RV_OK) {
                g_strlcpy(j->add_error, rv_last_error(), sizeof j->add_error);
                g_clear_pointer(&j->part, json_decref);
            }
        }
    }
    /* the image shown with the proposal, made here (a 5 MP texture costs tens of ms); the
     * plain and heat-map images follow in a second task, after the proposal is shown */
    j->tex_findings = rh_texture_labelled(j->r.overlay, json_object_get(j->r.line, "findings"));
    if (!j->r.aligned)
        j->tex_plain = rh_texture_from_image(j->frame->f->rgb);
    j->ms = (double) (g_get_monotonic_time() - t0) / 1000.0;
    g_task_return_boolean(task, TRUE);
}

static GtkWidget *s_reason_row(const json_t *r, gboolean zh, int view)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    gtk_widget_add_css_class(box, "reason");
    gboolean fired = json_is_true(json_object_get(r, "fired"));
    gboolean deciding = json_is_true(json_object_get(r, "deciding"));
    if (fired)
        gtk_widget_add_css_class(box, "fired");
    const char *text = json_string_value(json_object_get(r, zh ? "zh" : "en"));
    if (!text)
        text = json_string_value(json_object_get(r, "en"));
    /* a mark and a word, not colour alone: ✖ fired (deciding), ✔ within, ◷ a rule that did
     * not fire, listed only because its measurement lies in its guard band: the grader's
     * text for it says so, with the numbers ("In the guard band (measured …): a person
     * decides whether it applies. If it does: …"), not the rule's text as a fact */
    char *vw = view > 0 ? g_strdup_printf(_("View %d: "), view) : g_strdup("");
    char *what = !fired && deciding
                     ? g_strdup_printf("◷ %s%s", vw, text ? text : "")
                     : g_strdup_printf("%s %s%s%s", fired ? "✖" : "✔", vw, text ? text : "",
                                       deciding ? _(" — deciding") : "");
    g_free(vw);
    GtkWidget *l = gtk_label_new(what);
    g_free(what);
    gtk_label_set_wrap(GTK_LABEL(l), TRUE);
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_widget_add_css_class(l, "what");
    gtk_box_append(GTK_BOX(box), l);
    double v = json_real_value(json_object_get(r, "value"));
    double lim = json_real_value(json_object_get(r, "limit"));
    char *m = g_strdup_printf(_("%s · measured %.4g, limit %.4g"),
                              json_string_value(json_object_get(r, "rule")), v, lim);
    GtkWidget *ml = gtk_label_new(m);
    g_free(m);
    gtk_label_set_xalign(GTK_LABEL(ml), 0);
    gtk_widget_add_css_class(ml, "measure");
    gtk_box_append(GTK_BOX(box), ml);
    return box;
}

/* Show view i of the part: its image and what it is. */
static void s_show_view(RhWindow *self, guint i)
{
    if (i >= self->views->len)
        return;
    s_view_t *v = self->views->pdata[i];
    self->shown = i;
    g_set_object(&self->tex_plain, v->plain);
    g_set_object(&self->tex_findings, v->findings);
    g_set_object(&self->tex_heat, v->heat);
    if (self->views->len > 1) {
        char *t = g_strdup_printf(_("View %u of %u (F11: the next) · %s"), i + 1,
                                  self->views->len, _(v->caption));
        gtk_label_set_text(self->view_caption, t);
        g_free(t);
    } else {
        gtk_label_set_text(self->view_caption, _(v->caption));
    }
    s_refresh_view(self);
}

static void s_render(RhWindow *self, double ms, const char *store_error, int64_t record);

static void s_show_inspection(RhWindow *self, s_insp_t *j)
{
    if (j->from_store) {
        /* opened from the waiting queue: the evidence kept, no views to add to */
        self->line = json_incref(j->r.line);
        self->record = j->record;
        self->tex_plain = g_steal_pointer(&j->tex_plain);
        self->tex_findings = g_steal_pointer(&j->tex_findings);
        self->tex_heat = g_steal_pointer(&j->tex_heat);
        gtk_label_set_text(self->view_caption, _("From the store: the overlay kept as evidence"));
        s_refresh_view(self);
    } else {
        s_view_t *v = g_new0(s_view_t, 1);
        v->line = json_incref(j->r.line);
        v->record = j->record;
        v->ms = j->ms;
        v->caption = j->r.aligned ? N_("Aligned to the family's master") : N_("As captured");
        v->plain = g_steal_pointer(&j->tex_plain);
        v->findings = g_steal_pointer(&j->tex_findings);
        v->heat = g_steal_pointer(&j->tex_heat);
        v->part = json_incref(j->part ? j->part : j->r.line);
        v->part_record = j->part ? j->part_record : j->record;
        g_ptr_array_add(self->views, v);
        if (self->line)
            json_decref(self->line);
        self->line = json_incref(v->part);
        self->record = v->part_record;
        s_show_view(self, self->views->len - 1);
    }
    s_render(self, j->ms, j->store_error, j->record);
}

/* The part's proposal (self->line): identity, badge, summary, reasons. */
static void s_render(RhWindow *self, double ms, const char *store_error, int64_t record)
{
    json_t *line = self->line;
    guint nviews = self->views->len;
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->reasons))))
        gtk_list_box_remove(self->reasons, child);

    json_t *code = json_object_get(line, "code");
    const char *serial = json_string_value(json_object_get(code, "serial"));
    const char *pn = json_string_value(json_object_get(code, "part_number"));
    const char *fam = json_string_value(json_object_get(line, "family"));
    gtk_label_set_text(self->serial_label, serial ? serial : _("not read"));
    gtk_label_set_text(self->part_label, pn ? pn : "–");
    const rm_family_t *family = ra_cell_family(self->st->cell, line);
    char *ft = family ? g_strdup_printf("%s (%s, rev %d)", rm_family_name(family), fam,
                                        rm_family_revision(family))
                      : g_strdup(fam ? fam : "–");
    gtk_label_set_text(self->family_label, ft);
    g_free(ft);
    if (serial)
        s_history(self, serial);

    const char *proposal = json_string_value(json_object_get(line, "proposal"));
    const char *refused = json_string_value(json_object_get(line, "refused"));
    gboolean zh = rh_lang_is_zh();
    if (!proposal) {
        s_set_badge(self, NULL, NULL);
        char *t = g_strdup_printf(_("Not graded: %s"), refused ? refused : "?");
        gtk_label_set_text(self->summary_label, t);
        g_free(t);
        g_message("inspection: refused record=%" G_GINT64_FORMAT " why=%s", record,
                  refused ? refused : "?");
    } else {
        s_set_badge(self, proposal, NULL);
        json_t *findings = json_object_get(line, "findings");
        json_t *vr = json_object_get(line, "value_retained");
        double anomaly = json_real_value(json_object_get(json_object_get(line, "anomaly"),
                                                         "area_mm2"));
        char *t = g_strdup_printf(
            _("%zu findings · anomaly %.1f mm² · credit %s · new material avoided %.2f kg, "
              "CO2e %.1f kg · inspected in %.0f ms"),
            json_array_size(findings), anomaly,
            s_credit_word(json_string_value(json_object_get(line, "credit"))),
            json_real_value(json_object_get(vr, "material_kg")),
            json_real_value(json_object_get(vr, "co2e_kg")), ms);
        if (nviews > 1) {
            char *tv = g_strdup_printf(_("%u views, the worst decides · %s"), nviews, t);
            g_free(t);
            t = tv;
        }
        if (!strcmp(proposal, "review")) {
            /* why a person is needed: the grader's own words */
            GString *why = g_string_new(t);
            size_t k;
            json_t *w;
            json_array_foreach(json_object_get(line, "review_why"), k, w)
            {
                const char *r = json_string_value(w);
                g_string_append_printf(why, "\n⚠ %s",
                                       !g_strcmp0(r, "measurement in guard band")
                                           ? _("A deciding measurement lies in its guard band.")
                                       : !g_strcmp0(r, "anomaly score in uncertain band")
                                           ? _("The anomaly score lies in its uncertain band.")
                                       : !g_strcmp0(r, "credit measurement in guard band")
                                           ? _("The core-credit measurement lies in its guard band.")
                                       : !g_strcmp0(r, "alignment residual over its limit")
                                           ? _("The part's outline lies off the master's after "
                                               "alignment: the zones may be misplaced. Seat the "
                                               "part as the fixture shows and retake (F6).")
                                           : r);
            }
            g_free(t);
            t = g_string_free(why, FALSE);
        }
        gtk_label_set_text(self->summary_label, t);
        g_free(t);
        json_t *reasons = json_object_get(line, "reasons");
        size_t i;
        json_t *r;
        /* the rules that fired first, then the ones that held */
        for (int pass = 0; pass < 2; pass++)
            json_array_foreach(reasons, i, r)
            {
                if (json_is_true(json_object_get(r, "fired")) == (pass == 0))
                    gtk_list_box_append(self->reasons,
                                        s_reason_row(r, zh, nviews > 1 ? (int) json_integer_value(
                                                                              json_object_get(r, "view")) + 1
                                                                        : 0));
            }
        g_message("inspection: proposal=%s route=%s record=%" G_GINT64_FORMAT " serial=%s "
                  "findings=%zu ms=%.0f views=%u",
                  proposal, json_string_value(json_object_get(line, "route")), self->record,
                  serial ? serial : "-", json_array_size(findings), ms, MAX(nviews, 1u));
    }
    if (store_error[0]) {
        char *t = g_strdup_printf(_("NOT STORED: %s. Nothing can be decided until the store "
                                    "accepts writes again."),
                                  store_error);
        gtk_label_set_text(self->line_label, t);
        g_free(t);
        g_warning("store: %s", store_error);
    }
}

/* The aligned image and its heat map as textures, after the proposal is shown. */
typedef struct {
    rv_image_t *aligned, *heat;
    GdkTexture *plain, *hot;
    json_t *line; /* which inspection they belong to */
} s_tex_t;

static void s_tex_free(gpointer p)
{
    s_tex_t *t = p;
    rv_image_destroy(&t->aligned);
    rv_image_destroy(&t->heat);
    g_clear_object(&t->plain);
    g_clear_object(&t->hot);
    json_decref(t->line);
    g_free(t);
}

static void s_tex_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void) src;
    (void) c;
    s_tex_t *t = data;
    t->plain = rh_texture_from_image(t->aligned);
    t->hot = rh_texture_from_image(t->heat);
    g_task_return_boolean(task, TRUE);
}

static void s_tex_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void) user;
    RhWindow *self = RH_WINDOW(src);
    s_tex_t *t = g_task_get_task_data(G_TASK(res));
    for (guint i = 0; i < self->views->len; i++) {
        s_view_t *v = self->views->pdata[i];
        if (v->line != t->line)
            continue; /* not found: the technician moved on meanwhile */
        g_set_object(&v->plain, t->plain);
        g_set_object(&v->heat, t->hot);
        if (i == self->shown)
            s_show_view(self, i);
        return;
    }
}

static void s_insp_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void) user;
    RhWindow *self = RH_WINDOW(src);
    s_insp_t *j = g_task_get_task_data(G_TASK(res));
    self->busy = FALSE;
    if (j->nprev > 0 && j->add_error[0]) {
        /* the part stays as it was; the view's own record stays in the store, undecided */
        char *t = g_strdup_printf(_("✖ View %u not added: %s. Capture it again (F5)."),
                                  j->nprev + 1, j->add_error);
        gtk_label_set_text(self->line_label, t);
        g_free(t);
        g_message("inspection: view %u not added record=%" G_GINT64_FORMAT " why=%s",
                  j->nprev + 1, j->record, j->add_error);
        s_show_view(self, self->shown);
        s_update_actions(self);
        s_hint(self);
        return;
    }
    s_show_inspection(self, j);
    if (j->r.aligned) {
        s_tex_t *t = g_new0(s_tex_t, 1);
        t->aligned = g_steal_pointer(&j->r.aligned);
        t->heat = g_steal_pointer(&j->r.heat);
        t->line = json_incref(j->r.line);
        GTask *task = g_task_new(self, NULL, s_tex_done, NULL);
        g_task_set_task_data(task, t, s_tex_free);
        g_task_run_in_thread(task, s_tex_thread);
        g_object_unref(task);
    }
    s_update_actions(self);
    s_hint(self);
    if (g_action_get_enabled(
            g_action_map_lookup_action(G_ACTION_MAP(self), "confirm")))
        gtk_widget_grab_focus(self->confirm_button);
    else if (g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(self), "override")))
        gtk_widget_grab_focus(self->override_button);
    else
        gtk_widget_grab_focus(self->next_button);
}

static void s_inspect(RhWindow *self, RhFrame *frame)
{
    s_insp_t *j = g_new0(s_insp_t, 1);
    j->frame = rh_frame_ref(frame);
    const char *typed = gtk_editable_get_text(GTK_EDITABLE(self->code_entry));
    gboolean add = self->line && self->views->len > 0;
    if (add) {
        /* another view of the part shown: its code is the part's (the mark is on one face) */
        const s_view_t *first = self->views->pdata[0];
        const char *text = json_string_value(json_object_get(json_object_get(first->part,
                                                                             "code"), "text"));
        if (text && ra_identify_manual(text, &j->part_code) == RV_OK) {
            j->part_code.kind = RA_CODE_CARRIED; /* this view was searched already */
            j->have_part_code = 1;
        }
        for (guint i = 0; i < self->views->len; i++) {
            const s_view_t *v = self->views->pdata[i];
            j->prev[i] = json_incref(v->line);
            j->prev_records[i] = v->record;
        }
        j->nprev = self->views->len;
        gtk_label_set_text(self->line_label, "");
        gtk_label_set_text(self->view_caption, _("Captured: another view"));
        s_show_texture(self, self->live_tex);
        self->busy = TRUE;
        s_update_actions(self);
        g_message("capture: %s (view %u)", frame->f->name, j->nprev + 1);
        GTask *t = g_task_new(self, NULL, s_insp_done, NULL);
        g_task_set_task_data(t, j, s_insp_free);
        g_task_run_in_thread(t, s_insp_thread);
        g_object_unref(t);
        return;
    }
    if (typed && *typed) {
        if (ra_identify_manual(typed, &j->code) != RV_OK) {
            s_status(self, _("The code typed is not valid: %s"), rv_last_error());
            s_insp_free(j);
            return;
        }
        j->have_code = 1;
    }
    s_clear_part(self);
    s_show_texture(self, NULL);
    if (frame == self->live && self->live_tex)
        s_show_texture(self, self->live_tex);
    gtk_label_set_text(self->view_caption, _("Captured"));
    self->busy = TRUE;
    s_update_actions(self);
    g_message("capture: %s", frame->f->name);
    GTask *t = g_task_new(self, NULL, s_insp_done, NULL);
    g_task_set_task_data(t, j, s_insp_free);
    g_task_run_in_thread(t, s_insp_thread);
    g_object_unref(t);
}

/* --- a waiting inspection, opened from the supervisor's queue --------------------- */

static int s_find_record(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    s_insp_t *j = arg;
    (void) kind;
    if (n != j->record)
        return 0;
    j->r.line = json_loadb(body, len, 0, NULL);
    return 1;
}

static GdkTexture *s_evidence_texture(ra_store_t *store, const json_t *line, const char *kind)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(line, "evidence"), i, e)
    {
        if (g_strcmp0(json_string_value(json_object_get(e, "kind")), kind) != 0)
            continue;
        char path[4096];
        const char *hex = json_string_value(json_object_get(e, "sha256"));
        if (!hex || ra_store_evidence_path(store, hex, path, sizeof path) != RV_OK)
            return NULL;
        return gdk_texture_new_from_filename(path, NULL);
    }
    return NULL;
}

static int s_find_request(void *arg, int64_t n, const char *kind, const char *body, size_t len)
{
    s_insp_t *j = arg;
    (void) kind;
    if (n != j->request)
        return 0;
    j->req = json_loadb(body, len, 0, NULL);
    return 1;
}

static void s_open_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void) c;
    RhWindow *self = src;
    s_insp_t *j = data;
    ra_store_records(self->st->store, "inspection", NULL, NULL, s_find_record, j);
    if (j->request)
        ra_store_upgrade_requests(self->st->store, s_find_request, j);
    if (!j->r.line) {
        g_strlcpy(j->store_error, _("the inspection is not in the store"), sizeof j->store_error);
    } else {
        j->r.graded = json_is_string(json_object_get(j->r.line, "proposal"));
        j->tex_findings = s_evidence_texture(self->st->store, j->r.line, "overlay");
        j->tex_plain = s_evidence_texture(self->st->store, j->r.line, "original");
        j->ms = json_real_value(json_object_get(json_object_get(j->r.line, "ms"), "total"));
    }
    g_task_return_boolean(task, TRUE);
}

static void s_open_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void) user;
    RhWindow *self = RH_WINDOW(src);
    s_insp_t *j = g_task_get_task_data(G_TASK(res));
    self->busy = FALSE;
    if (!j->r.line) {
        s_status(self, "%s", j->store_error);
        s_update_actions(self);
        return;
    }
    j->store_error[0] = '\0';
    s_show_inspection(self, j);
    g_message("open: record=%" G_GINT64_FORMAT " from the waiting queue", j->record);
    if (j->request && !j->req) {
        s_status(self, _("Upgrade request %lld is no longer waiting: answered or decided "
                         "meanwhile."),
                 (long long) j->request);
    } else if (j->req) {
        /* a supervisor answers it: the request in words, their ID and PIN */
        json_t *ov = json_object_get(j->req, "override");
        const char *text = json_string_value(json_object_get(ov, "text"));
        char *t = g_strdup_printf(
            _("%s asks to upgrade this part from %s to %s. Reason: %s%s%s. Asked at %s."),
            json_string_value(json_object_get(j->req, "operator")),
            s_route_word(json_string_value(json_object_get(j->req, "grader"))),
            s_route_word(json_string_value(json_object_get(j->req, "route"))),
            json_string_value(json_object_get(ov, "reason_code")), text ? " — " : "",
            text ? text : "", json_string_value(json_object_get(j->req, "ts")));
        gtk_label_set_text(self->approve_label, t);
        g_free(t);
        self->request = j->request;
        gtk_widget_set_visible(self->approve_box, TRUE);
        gtk_editable_set_text(GTK_EDITABLE(self->approve_id),
                              self->role == RA_ROLE_SUPERVISOR && self->operator_id
                                  ? self->operator_id
                                  : "");
        g_message("open: upgrade request=%lld waiting for a supervisor", (long long) j->request);
    }
    s_update_actions(self);
    s_hint(self);
    if (self->request)
        gtk_widget_grab_focus(self->role == RA_ROLE_SUPERVISOR ? GTK_WIDGET(self->approve_pin)
                                                               : GTK_WIDGET(self->approve_id));
    else
        gtk_widget_grab_focus(self->override_button);
}

static void s_on_open_inspection(RhSupervisor *sup, gint64 record, const char *serial,
                                 gint64 request, gpointer user)
{
    (void) sup;
    (void) serial;
    RhWindow *self = user;
    if (self->busy || !self->operator_id)
        return;
    if (self->line && !self->decided && self->record > 0)
        g_message("next: record %" G_GINT64_FORMAT " left undecided", self->record);
    s_clear_part(self);
    gtk_stack_set_visible_child_name(self->pages, "station");
    s_insp_t *j = g_new0(s_insp_t, 1);
    j->record = record;
    j->request = request;
    j->from_store = TRUE;
    self->busy = TRUE;
    s_update_actions(self);
    GTask *t = g_task_new(self, NULL, s_open_done, NULL);
    g_task_set_task_data(t, j, s_insp_free);
    g_task_run_in_thread(t, s_open_thread);
    g_object_unref(t);
}

static void s_act_open_waiting(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    gint64 n = 0, request = 0;
    if (!rh_supervisor_first_waiting(self->supervisor, &n, &request)) {
        s_status(self, "%s", _("Nothing is waiting for a decision."));
        return;
    }
    s_on_open_inspection(self->supervisor, n, NULL, request, self);
}

static void s_act_capture(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (!g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(self), "capture")))
        return;
    if (self->line && self->live == self->captured) {
        /* the same frame again would be the same view: the part must be turned first */
        s_status(self, _("The camera shows the frame already captured: turn the part or show "
                         "its other side, then capture the next view."));
        return;
    }
    rh_frame_unref(self->captured);
    self->captured = rh_frame_ref(self->live);
    s_inspect(self, self->captured);
}

static void s_act_retake(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (self->busy || self->decided || self->requested)
        return;
    if (self->views->len > 1) {
        /* the last view is taken again: the part is what it was before that view */
        g_ptr_array_set_size(self->views, self->views->len - 1);
        const s_view_t *v = self->views->pdata[self->views->len - 1];
        json_decref(self->line);
        self->line = json_incref(v->part);
        self->record = v->part_record;
        rh_frame_unref(self->captured);
        self->captured = NULL; /* the live frame may be captured again */
        g_message("retake: view %u dropped, the part is record %" G_GINT64_FORMAT,
                  self->views->len + 1, self->record);
        s_show_view(self, self->views->len - 1);
        s_render(self, v->ms, "", v->record);
        s_status(self, _("The last view was dropped: capture it again (F5)."));
        s_update_actions(self);
        s_hint(self);
        return;
    }
    /* back to the live image; the inspection stays in the store, undecided */
    g_message("retake: record %" G_GINT64_FORMAT " left undecided", self->record);
    s_clear_part(self);
    if (self->live_tex)
        s_show_texture(self, self->live_tex);
    s_update_actions(self);
    s_hint(self);
}

/* ---------------------------------------------------------------- decide */

typedef enum { DEC_DECIDE, DEC_REQUEST, DEC_APPROVE, DEC_REFUSE } s_dec_mode_t;

typedef struct {
    ra_decision_in_t in;
    char *op, *route, *reason, *text, *sup, *sup_pin;
    s_dec_mode_t mode;
    int64_t request; /* DEC_APPROVE, DEC_REFUSE: the request answered */
    int ok;
    ra_decision_ack_t ack;
    char error[512];
} s_dec_t;

static void s_dec_free(gpointer p)
{
    s_dec_t *d = p;
    g_free(d->op);
    g_free(d->route);
    g_free(d->reason);
    g_free(d->text);
    g_free(d->sup);
    if (d->sup_pin)
        memset(d->sup_pin, 0, strlen(d->sup_pin));
    g_free(d->sup_pin);
    g_free(d);
}

static void s_dec_thread(GTask *task, gpointer src, gpointer data, GCancellable *c)
{
    (void) c;
    RhWindow *self = src;
    s_dec_t *d = data;
    switch (d->mode) {
    case DEC_REQUEST:
        d->ok = ra_store_request_upgrade(self->st->store, &d->in, &d->ack) == RV_OK;
        break;
    case DEC_APPROVE:
    case DEC_REFUSE:
        d->ok = ra_store_answer_upgrade(self->st->store, d->request, d->sup, d->sup_pin,
                                        d->mode == DEC_APPROVE, d->text, &d->ack) == RV_OK;
        break;
    default:
        d->ok = ra_store_decide(self->st->store, &d->in, &d->ack) == RV_OK;
    }
    if (!d->ok)
        g_strlcpy(d->error, rv_last_error(), sizeof d->error);
    else if (self->st->pub)
        ra_line_pub_kick(self->st->pub);
    g_task_return_boolean(task, TRUE);
}

static gboolean s_line_poll(gpointer user)
{
    RhWindow *self = user;
    ra_line_pub_stats_t ps = {0};
    if (self->st->pub)
        ra_line_pub_stats(self->st->pub, &ps);
    char *t = NULL, seq[24];
    g_snprintf(seq, sizeof seq, "%" G_GUINT64_FORMAT, self->seq);
    gboolean again = G_SOURCE_CONTINUE;
    if (self->st->pub && ps.last_seq >= self->seq) {
        t = g_strdup_printf(_("✔ Stored and sent to the line as seq %s."), seq);
        g_message("line: sent seq=%" G_GUINT64_FORMAT, self->seq);
        again = G_SOURCE_REMOVE;
    } else if (!self->st->pub || ++self->line_polls == 16) {
        t = g_strdup_printf(_("✔ Stored as seq %s. ◷ Queued: the line is not running (%s); "
                              "it is sent when the line is back."),
                            seq,
                            self->st->line_error ? self->st->line_error : _("no publisher"));
        g_message("line: queued seq=%" G_GUINT64_FORMAT, self->seq);
        again = self->st->pub ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
    }
    if (t) {
        gtk_label_set_text(self->line_label, t);
        g_free(t);
    }
    if (again == G_SOURCE_REMOVE)
        self->line_timer = 0;
    return again;
}

static void s_dec_done(GObject *src, GAsyncResult *res, gpointer user)
{
    (void) user;
    RhWindow *self = RH_WINDOW(src);
    s_dec_t *d = g_task_get_task_data(G_TASK(res));
    self->busy = FALSE;
    if (!d->ok) {
        char *t = g_strdup_printf(_("✖ Not recorded: %s"), d->error);
        gtk_label_set_text(self->line_label, t);
        g_free(t);
        g_message("decision: refused: %s", d->error);
        s_update_actions(self);
        if (d->mode == DEC_APPROVE || d->mode == DEC_REFUSE) {
            gtk_editable_set_text(GTK_EDITABLE(self->approve_pin), "");
            gtk_widget_grab_focus(GTK_WIDGET(self->approve_pin));
        } else if (d->sup || strstr(d->error, "supervisor")) {
            /* the supervisor types the PIN again */
            gtk_widget_set_visible(self->supervisor_box, TRUE);
            gtk_editable_set_text(GTK_EDITABLE(self->supervisor_pin), "");
            gtk_widget_grab_focus(GTK_WIDGET(self->supervisor_pin));
        }
        return;
    }
    if (d->mode == DEC_REQUEST || d->mode == DEC_REFUSE) {
        /* nothing decided: the request waits, or the inspection stays undecided */
        char *t = d->mode == DEC_REQUEST
                      ? g_strdup_printf(_("◷ Upgrade to %s asked for (request %lld): it waits in "
                                          "the supervisor's queue. Nothing is sent to the line "
                                          "until a supervisor approves it."),
                                        s_route_word(d->ack.route), (long long) d->ack.n)
                      : g_strdup_printf(_("✖ Upgrade refused by %s (record %lld): the part stays "
                                          "undecided and waits for the technician."),
                                        d->sup, (long long) d->ack.n);
        gtk_label_set_text(self->line_label, t);
        g_free(t);
        if (d->mode == DEC_REQUEST) {
            self->requested = TRUE;
            gtk_revealer_set_reveal_child(self->override_revealer, FALSE);
            g_message("upgrade: requested n=%lld route=%s record=%" G_GINT64_FORMAT
                      " operator=%s",
                      (long long) d->ack.n, d->ack.route, self->record, d->op);
        } else {
            self->request = 0;
            gtk_widget_set_visible(self->approve_box, FALSE);
            g_message("upgrade: refused request=%lld by=%s record=%lld", (long long) d->request,
                      d->sup, (long long) d->ack.n);
        }
        if (self->supervisor)
            rh_supervisor_refresh(self->supervisor);
        if (self->audit)
            rh_audit_refresh(self->audit);
        s_update_actions(self);
        s_hint(self);
        gtk_widget_grab_focus(self->next_button);
        return;
    }
    self->decided = TRUE;
    self->seq = d->ack.seq;
    if (d->mode == DEC_APPROVE) {
        gtk_widget_set_visible(self->approve_box, FALSE);
        g_message("upgrade: approved request=%lld by=%s", (long long) d->request, d->sup);
    }
    g_message("decision: seq=%" G_GUINT64_FORMAT " route=%s record=%" G_GINT64_FORMAT
              " operator=%s override=%s",
              d->ack.seq, d->ack.route, d->ack.n, d->op,
              d->route || d->mode == DEC_APPROVE ? "yes" : "no");
    s_set_badge(self, d->ack.route, NULL);
    gtk_revealer_set_reveal_child(self->override_revealer, FALSE);
    char seq[24];
    g_snprintf(seq, sizeof seq, "%" G_GUINT64_FORMAT, d->ack.seq);
    char *t = g_strdup_printf(_("✔ Stored as seq %s; sending…"), seq);
    gtk_label_set_text(self->line_label, t);
    g_free(t);
    self->line_polls = 0;
    if (self->line_timer)
        g_source_remove(self->line_timer);
    self->line_timer = g_timeout_add(200, s_line_poll, self);
    if (self->supervisor)
        rh_supervisor_refresh(self->supervisor);
    if (self->audit)
        rh_audit_refresh(self->audit);
    s_update_actions(self);
    s_hint(self);
    gtk_widget_grab_focus(self->next_button);
}

static void s_decide(RhWindow *self, s_dec_t *d)
{
    d->op = g_strdup(self->operator_id);
    d->in.inspection = self->record;
    d->in.operator_id = d->op;
    d->in.route = d->route;
    d->in.reason_code = d->reason;
    d->in.text = d->text;
    d->in.supervisor = d->sup;
    d->in.supervisor_pin = d->sup_pin;
    self->busy = TRUE;
    s_update_actions(self);
    GTask *t = g_task_new(self, NULL, s_dec_done, NULL);
    g_task_set_task_data(t, d, s_dec_free);
    g_task_run_in_thread(t, s_dec_thread);
    g_object_unref(t);
}

static void s_act_confirm(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (!g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(self), "confirm")))
        return;
    s_decide(self, g_new0(s_dec_t, 1));
}

/* The chosen override route is an upgrade (keeps more than the grader's route). */
static gboolean s_is_upgrade(RhWindow *self)
{
    guint i = gtk_drop_down_get_selected(self->route_drop);
    const char *grader = json_string_value(json_object_get(self->line, "route"));
    int g = grader ? rm_route_parse(grader) : -1;
    return i < G_N_ELEMENTS(s_routes) && g >= 0 && (int) i < g;
}

static void s_on_route_changed(GObject *o, GParamSpec *ps, gpointer user)
{
    (void) o;
    (void) ps;
    RhWindow *self = user;
    if (self->line)
        gtk_widget_set_visible(self->supervisor_box, s_is_upgrade(self));
}

static void s_act_override(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    gboolean open = !gtk_revealer_get_reveal_child(self->override_revealer);
    gtk_revealer_set_reveal_child(self->override_revealer, open);
    if (open) {
        /* start from the grader's route; the technician moves from there */
        const char *grader = json_string_value(json_object_get(self->line, "route"));
        int g = grader ? rm_route_parse(grader) : 4;
        gtk_drop_down_set_selected(self->route_drop, (guint) (g < 0 ? 4 : g));
        s_on_route_changed(NULL, NULL, self);
        gtk_widget_grab_focus(GTK_WIDGET(self->route_drop));
    }
}

/* The override form as a decision to make (route, reason code, text), or NULL with the
 * technician told what is missing. */
static s_dec_t *s_override_form(RhWindow *self)
{
    guint ri = gtk_drop_down_get_selected(self->route_drop);
    guint ci = gtk_drop_down_get_selected(self->reason_drop);
    if (ri >= G_N_ELEMENTS(s_routes) || ci >= G_N_ELEMENTS(s_reasons))
        return NULL;
    const char *text = gtk_editable_get_text(GTK_EDITABLE(self->override_text));
    if (!strcmp(s_reasons[ci].code, "other") && !*text) {
        gtk_label_set_text(self->line_label, _("✖ \"Other\" needs a few words of why."));
        gtk_widget_grab_focus(GTK_WIDGET(self->override_text));
        return NULL;
    }
    s_dec_t *d = g_new0(s_dec_t, 1);
    d->route = g_strdup(s_routes[ri]);
    d->reason = g_strdup(s_reasons[ci].code);
    d->text = *text ? g_strdup(text) : NULL;
    return d;
}

static void s_act_apply_override(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    s_dec_t *d = s_override_form(self);
    if (!d)
        return;
    if (s_is_upgrade(self)) {
        const char *sid = gtk_editable_get_text(GTK_EDITABLE(self->supervisor_entry));
        const char *spin = gtk_editable_get_text(GTK_EDITABLE(self->supervisor_pin));
        if (!*sid || !*spin) {
            gtk_label_set_text(self->line_label,
                               _("✖ An upgrade needs a supervisor's ID and PIN."));
            gtk_widget_grab_focus(GTK_WIDGET(self->supervisor_entry));
            s_dec_free(d);
            return;
        }
        d->sup = g_strdup(sid);
        d->sup_pin = g_strdup(spin);
    }
    s_decide(self, d);
}

static void s_act_next_view(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (self->views->len > 1)
        s_show_view(self, (self->shown + 1) % self->views->len);
}

/* No supervisor at the bench: the upgrade chosen waits in the supervisor's queue. */
static void s_act_request_upgrade(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (!gtk_revealer_get_reveal_child(self->override_revealer) || !s_is_upgrade(self)) {
        gtk_label_set_text(self->line_label,
                           _("✖ Choose, under Override (F8), a route that keeps more of the "
                             "part than the grader's: only an upgrade waits for approval."));
        return;
    }
    s_dec_t *d = s_override_form(self);
    if (!d)
        return;
    d->mode = DEC_REQUEST;
    s_decide(self, d);
}

/* A supervisor answers the upgrade request this inspection was opened for. */
static void s_answer(RhWindow *self, s_dec_mode_t mode)
{
    const char *sid = gtk_editable_get_text(GTK_EDITABLE(self->approve_id));
    const char *spin = gtk_editable_get_text(GTK_EDITABLE(self->approve_pin));
    const char *why = gtk_editable_get_text(GTK_EDITABLE(self->approve_text));
    if (!self->request)
        return;
    if (!*sid || !*spin) {
        gtk_label_set_text(self->line_label, _("✖ The supervisor's ID and PIN are needed."));
        gtk_widget_grab_focus(GTK_WIDGET(*sid ? GTK_WIDGET(self->approve_pin)
                                              : GTK_WIDGET(self->approve_id)));
        return;
    }
    if (mode == DEC_REFUSE && !*why) {
        gtk_label_set_text(self->line_label, _("✖ A refusal needs a few words of why."));
        gtk_widget_grab_focus(GTK_WIDGET(self->approve_text));
        return;
    }
    s_dec_t *d = g_new0(s_dec_t, 1);
    d->mode = mode;
    d->request = self->request;
    d->sup = g_strdup(sid);
    d->sup_pin = g_strdup(spin);
    d->text = *why ? g_strdup(why) : NULL;
    s_decide(self, d);
}

/* Enter in the supervisor's PIN approves (a refusal needs its button: it needs words) */
static void s_answer_approve(RhWindow *self)
{
    s_answer(self, DEC_APPROVE);
}

static void s_act_approve_upgrade(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    s_answer(user, DEC_APPROVE);
}

static void s_act_refuse_upgrade(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    s_answer(user, DEC_REFUSE);
}

static void s_act_next(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    if (self->busy)
        return;
    if (self->line && !self->decided && !self->requested && self->record > 0) {
        g_message("next: record %" G_GINT64_FORMAT " left undecided", self->record);
        rh_supervisor_refresh(self->supervisor); /* it joins the waiting queue */
    }
    s_clear_part(self);
    gtk_editable_set_text(GTK_EDITABLE(self->code_entry), "");
    rh_frame_unref(self->captured);
    self->captured = NULL;
    if (self->camera && !strcmp(self->st->cfg->source, "files")) {
        rh_frame_unref(self->live);
        self->live = NULL;
        g_clear_object(&self->live_tex);
        rh_camera_advance(self->camera);
    } else if (self->live_tex) {
        s_show_texture(self, self->live_tex);
    }
    s_update_actions(self);
    s_hint(self);
    gtk_widget_grab_focus(GTK_WIDGET(self->code_entry));
}

/* ---------------------------------------------------------------- view, settings */

static void s_act_toggle(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) p;
    GVariant *s = g_action_get_state(G_ACTION(a));
    g_simple_action_set_state(a, g_variant_new_boolean(!g_variant_get_boolean(s)));
    g_variant_unref(s);
    RhWindow *self = user;
    if (!strcmp(g_action_get_name(G_ACTION(a)), "high-contrast")) {
        GVariant *now = g_action_get_state(G_ACTION(a));
        gboolean on = g_variant_get_boolean(now);
        g_variant_unref(now);
        self->st->cfg->high_contrast = on;
        if (on)
            gtk_widget_add_css_class(GTK_WIDGET(self), "high-contrast");
        else
            gtk_widget_remove_css_class(GTK_WIDGET(self), "high-contrast");
        g_object_set(gtk_settings_get_default(), "gtk-theme-name", on ? "Default-hc" : "Default",
                     NULL);
        rh_config_save(self->st->cfg, NULL);
        return;
    }
    s_refresh_view(self);
}

static void s_act_zoom(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) p;
    RhWindow *self = user;
    const char *n = g_action_get_name(G_ACTION(a));
    GdkPaintable *pt = gtk_picture_get_paintable(self->view);
    if (!pt)
        return;
    int iw = gdk_paintable_get_intrinsic_width(pt);
    int vw = gtk_widget_get_width(self->scroller);
    double fit = iw > 0 && vw > 0 ? (double) vw / iw : 1.0;
    double z = self->zoom > 0 ? self->zoom : fit;
    if (!strcmp(n, "zoom-in"))
        self->zoom = fmin(z * 1.5, 8.0);
    else if (!strcmp(n, "zoom-out"))
        self->zoom = z / 1.5 <= fit ? 0 : z / 1.5;
    else
        self->zoom = 0;
    s_show_texture(self, GDK_TEXTURE(pt));
}

static void s_act_language(GSimpleAction *a, GVariant *p, gpointer user)
{
    RhWindow *self = user;
    g_simple_action_set_state(a, p);
    g_free(self->st->cfg->language);
    self->st->cfg->language = g_variant_dup_string(p, NULL);
    rh_config_save(self->st->cfg, NULL);
    s_status(self, _("Language saved: it applies at the next start."));
}

static void s_act_shortcuts(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    GtkWidget *d = gtk_message_dialog_new(
        GTK_WINDOW(self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_INFO,
        GTK_BUTTONS_CLOSE, "%s", _("Keyboard"));
    gtk_message_dialog_format_secondary_text(
        GTK_MESSAGE_DIALOG(d), "%s",
        _("F2 code field · F5 capture (foot pedal; again: another view of the part) · F6 "
          "retake (the last view) · F11 the next view · F3 findings · F4 heat map · "
          "Ctrl+plus / Ctrl+minus / Ctrl+0 zoom · F9 or Enter confirm · F8 override · "
          "Shift+F8 ask a supervisor to approve an upgrade · F12 next core · F7 the oldest "
          "inspection waiting for a decision or an approval · Ctrl+1 / Ctrl+2 / Ctrl+3 "
          "inspect, supervisor, audit"));
    gtk_widget_add_css_class(d, "station");
    gtk_window_set_default_size(GTK_WINDOW(d), 900, -1);
    g_signal_connect(d, "response", G_CALLBACK(gtk_window_destroy), NULL);
    gtk_window_present(GTK_WINDOW(d));
}

static void s_act_focus_code(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    RhWindow *self = user;
    gtk_stack_set_visible_child_name(self->pages, "station");
    gtk_widget_grab_focus(GTK_WIDGET(self->code_entry));
}

static void s_act_page(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    RhWindow *self = user;
    gtk_stack_set_visible_child_name(self->pages, g_variant_get_string(p, NULL));
    g_message("page: %s", g_variant_get_string(p, NULL));
}

/* ---------------------------------------------------------------- set-up */

static void s_dispose(GObject *o)
{
    RhWindow *self = RH_WINDOW(o);
    if (self->line_timer) {
        g_source_remove(self->line_timer);
        self->line_timer = 0;
    }
    if (self->camera) {
        rh_camera_free(self->camera);
        self->camera = NULL;
    }
    g_clear_pointer(&self->live, rh_frame_unref);
    g_clear_object(&self->live_tex);
    g_clear_pointer(&self->captured, rh_frame_unref);
    g_ptr_array_set_size(self->views, 0); /* the array itself goes in finalize */
    g_clear_pointer(&self->line, json_decref);
    g_clear_object(&self->tex_plain);
    g_clear_object(&self->tex_findings);
    g_clear_object(&self->tex_heat);
    g_clear_pointer(&self->operator_id, g_free);
    g_clear_pointer(&self->camera_status, g_free);
    g_clear_pointer(&self->base_status, g_free);
    gtk_widget_dispose_template(GTK_WIDGET(o), RH_TYPE_WINDOW);
    G_OBJECT_CLASS(rh_window_parent_class)->dispose(o);
}

static void s_finalize(GObject *o)
{
    g_ptr_array_unref(RH_WINDOW(o)->views);
    G_OBJECT_CLASS(rh_window_parent_class)->finalize(o);
}

static void rh_window_class_init(RhWindowClass *klass)
{
    G_OBJECT_CLASS(klass)->dispose = s_dispose;
    G_OBJECT_CLASS(klass)->finalize = s_finalize;
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
    gtk_widget_class_set_template_from_resource(wc, "/org/reman/Station/window.ui");
#define BIND(name) gtk_widget_class_bind_template_child(wc, RhWindow, name)
    BIND(pages);
    BIND(steps);
    BIND(operator_label);
    BIND(signin_station);
    BIND(signin_error);
    BIND(hint_label);
    BIND(serial_label);
    BIND(part_label);
    BIND(family_label);
    BIND(history_label);
    BIND(badge_label);
    BIND(summary_label);
    BIND(line_label);
    BIND(status_label);
    BIND(busy_label);
    BIND(view_caption);
    BIND(signout_button);
    BIND(busy_box);
    BIND(badge);
    BIND(decide_box);
    BIND(supervisor_box);
    BIND(next_button);
    BIND(confirm_button);
    BIND(override_button);
    BIND(capture_button);
    BIND(scroller);
    BIND(busy_spinner);
    BIND(operator_entry);
    BIND(code_entry);
    BIND(override_text);
    BIND(supervisor_entry);
    BIND(pin_entry);
    BIND(supervisor_pin);
    BIND(view);
    BIND(badge_icon);
    BIND(reasons);
    BIND(override_revealer);
    BIND(route_drop);
    BIND(reason_drop);
    BIND(approve_box);
    BIND(approve_label);
    BIND(approve_id);
    BIND(approve_pin);
    BIND(approve_text);
#undef BIND
}

static void s_on_operator_activate(GtkEntry *e, gpointer user)
{
    (void) e;
    RhWindow *self = user;
    gtk_widget_grab_focus(GTK_WIDGET(self->pin_entry));
}

static void s_on_pin_activate(GtkPasswordEntry *e, gpointer user)
{
    (void) e;
    g_action_group_activate_action(G_ACTION_GROUP(user), "sign-in", NULL);
}

static void s_on_code_activate(GtkEntry *e, gpointer user)
{
    (void) e;
    /* a keyboard-wedge scanner ends its line with Enter: capture with that code */
    RhWindow *self = user;
    const char *typed = gtk_editable_get_text(GTK_EDITABLE(self->code_entry));
    ra_code_t code;
    if (*typed && ra_identify_manual(typed, &code) == RV_OK) {
        gtk_label_set_text(self->serial_label, code.serial[0] ? code.serial : "–");
        gtk_label_set_text(self->part_label, code.part_number[0] ? code.part_number : "–");
        rm_family_t *fam = NULL;
        if (code.part_number[0] &&
            rm_registry_find(self->st->registry, code.part_number, &fam) == RV_OK && fam) {
            char *ft = g_strdup_printf("%s (%s)", rm_family_name(fam), rm_family_id(fam));
            gtk_label_set_text(self->family_label, ft);
            g_free(ft);
            rm_family_destroy(&fam);
        } else if (code.part_number[0]) {
            gtk_label_set_text(self->family_label, _("no family for this part number"));
        }
        g_message("code: typed serial=%s part=%s", code.serial, code.part_number);
        if (g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(self), "capture")))
            gtk_widget_grab_focus(self->capture_button);
    } else if (*typed) {
        s_status(self, _("The code typed is not valid: %s"), rv_last_error());
    }
}

static void s_on_override_activate(GtkWidget *w, gpointer user)
{
    (void) w;
    /* Enter in the override's text or the supervisor's PIN records it */
    g_action_group_activate_action(G_ACTION_GROUP(user), "apply-override", NULL);
}

static void rh_window_init(RhWindow *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    gtk_widget_add_css_class(GTK_WIDGET(self), "station");
    self->views = g_ptr_array_new_with_free_func(s_view_free);
    static const GActionEntry entries[] = {
        {"sign-in", s_act_sign_in, NULL, NULL, NULL, {0}},
        {"sign-out", s_act_sign_out, NULL, NULL, NULL, {0}},
        {"capture", s_act_capture, NULL, NULL, NULL, {0}},
        {"retake", s_act_retake, NULL, NULL, NULL, {0}},
        {"confirm", s_act_confirm, NULL, NULL, NULL, {0}},
        {"override", s_act_override, NULL, NULL, NULL, {0}},
        {"apply-override", s_act_apply_override, NULL, NULL, NULL, {0}},
        {"next", s_act_next, NULL, NULL, NULL, {0}},
        {"show-findings", s_act_toggle, NULL, "true", NULL, {0}},
        {"show-heat", s_act_toggle, NULL, "false", NULL, {0}},
        {"high-contrast", s_act_toggle, NULL, "false", NULL, {0}},
        {"zoom-in", s_act_zoom, NULL, NULL, NULL, {0}},
        {"zoom-out", s_act_zoom, NULL, NULL, NULL, {0}},
        {"zoom-fit", s_act_zoom, NULL, NULL, NULL, {0}},
        {"language", s_act_language, "s", "'system'", NULL, {0}},
        {"shortcuts", s_act_shortcuts, NULL, NULL, NULL, {0}},
        {"focus-code", s_act_focus_code, NULL, NULL, NULL, {0}},
        {"page", s_act_page, "s", NULL, NULL, {0}},
        {"open-waiting", s_act_open_waiting, NULL, NULL, NULL, {0}},
        {"request-upgrade", s_act_request_upgrade, NULL, NULL, NULL, {0}},
        {"next-view", s_act_next_view, NULL, NULL, NULL, {0}},
        {"approve-upgrade", s_act_approve_upgrade, NULL, NULL, NULL, {0}},
        {"refuse-upgrade", s_act_refuse_upgrade, NULL, NULL, NULL, {0}},
    };
    g_action_map_add_action_entries(G_ACTION_MAP(self), entries, G_N_ELEMENTS(entries), self);

    GtkStringList *routes = gtk_string_list_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(s_routes); i++)
        gtk_string_list_append(routes, s_route_label(s_routes[i]));
    gtk_drop_down_set_model(self->route_drop, G_LIST_MODEL(routes));
    g_object_unref(routes);
    GtkStringList *reasons = gtk_string_list_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(s_reasons); i++)
        gtk_string_list_append(reasons, _(s_reasons[i].label));
    gtk_drop_down_set_model(self->reason_drop, G_LIST_MODEL(reasons));
    g_object_unref(reasons);
    g_signal_connect(self->route_drop, "notify::selected", G_CALLBACK(s_on_route_changed), self);
    g_signal_connect(self->operator_entry, "activate", G_CALLBACK(s_on_operator_activate), self);
    g_signal_connect(self->pin_entry, "activate", G_CALLBACK(s_on_pin_activate), self);
    g_signal_connect(self->code_entry, "activate", G_CALLBACK(s_on_code_activate), self);
    g_signal_connect(self->override_text, "activate", G_CALLBACK(s_on_override_activate), self);
    g_signal_connect(self->supervisor_pin, "activate", G_CALLBACK(s_on_override_activate), self);
    g_signal_connect_swapped(self->approve_pin, "activate", G_CALLBACK(s_answer_approve), self);
}

RhWindow *rh_window_new(GtkApplication *app, RhStation *st)
{
    RhWindow *self = g_object_new(RH_TYPE_WINDOW, "application", app, NULL);
    self->st = st;
    char *where = g_strdup_printf(_("Station %s · store %s"), st->cfg->station, st->cfg->store_dir);
    gtk_label_set_text(self->signin_station, where);
    g_free(where);
    if (st->cfg->demo) {
        char *t = g_strdup_printf("%s\n%s", gtk_label_get_text(self->signin_station),
                                  _("Demo: technician tech1, PIN 1234; supervisor sup1, PIN 9876."));
        gtk_label_set_text(self->signin_station, t);
        g_free(t);
    }
    if (st->cfg->high_contrast)
        g_action_group_activate_action(G_ACTION_GROUP(self), "high-contrast", NULL);
    GAction *lang = g_action_map_lookup_action(G_ACTION_MAP(self), "language");
    g_simple_action_set_state(G_SIMPLE_ACTION(lang),
                              g_variant_new_string(st->cfg->language ? st->cfg->language
                                                                     : "system"));

    /* the supervisor view follows this station and any others configured */
    self->supervisor = rh_supervisor_new();
    rh_supervisor_set_store(self->supervisor, st->store);
    g_signal_connect(self->supervisor, "open-inspection", G_CALLBACK(s_on_open_inspection), self);
    if (st->pub && st->cfg->publish && *st->cfg->publish) {
        GError *err = NULL;
        if (!rh_supervisor_add_station(self->supervisor, st->cfg->publish, st->cfg->replay,
                                       &err)) {
            g_warning("supervisor: %s", err->message);
            g_error_free(err);
        }
    }
    for (size_t i = 0; st->cfg->follow && st->cfg->follow[i]; i++) {
        char **pr = g_strsplit(st->cfg->follow[i], ",", 2);
        GError *err = NULL;
        if (!pr[0] || !pr[1] ||
            !rh_supervisor_add_station(self->supervisor, pr[0], pr[1], &err)) {
            g_warning("supervisor: --follow %s: %s", st->cfg->follow[i],
                      err ? err->message : "needs PUB,REPLAY");
        }
        g_clear_error(&err);
        g_strfreev(pr);
    }
    gtk_stack_add_titled(self->pages, GTK_WIDGET(self->supervisor), "supervisor",
                         _("Supervisor"));
    self->audit = rh_audit_new();
    rh_audit_set_store(self->audit, st->cfg->store_dir);
    gtk_stack_add_titled(self->pages, GTK_WIDGET(self->audit), "audit", _("Audit"));

    if (st->line_error)
        s_status(self, _("Line not running (%s): decisions are stored and queued."),
                 st->line_error);
    else if (st->pub)
        s_status(self, _("Station %s · line %s (replay %s)"), st->cfg->station, st->cfg->publish,
                 st->cfg->replay);
    else
        s_status(self, _("Station %s · no line configured: decisions are stored only."),
                 st->cfg->station);
    self->base_status = g_strdup(gtk_label_get_text(self->status_label));
    s_clear_part(self);
    s_update_actions(self);
    gtk_widget_grab_focus(GTK_WIDGET(self->operator_entry));
    return self;
}
