/* rh_app.c - reman-station: the GTK 4 station at the teardown bench.
 *
 *   reman-station --demo      the bundled demo cores as a simulated camera, a local store
 *                             in the XDG data directory, the loopback line
 *   reman-station --station ID --store DIR [--source folder:DIR|camera:DEV] ...
 *
 * Settings: $XDG_CONFIG_HOME/reman-station/settings.ini (the command line wins). Logs go
 * through GLib's structured logging (journald when run as a service). */
#include "rh_audit.h"
#include "rv/rv_memory.h"
#include "rh_bench.h"
#include "rh_station.h"
#include "rh_supervisor.h"
#include "rh_window.h"

#include "ra/ra_version.h"
#include "rv/rv.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    RhConfig cfg;
    RhStation *st;
    gboolean version;
    gboolean bench;
    double bench_seconds;
    gboolean json;
} s_app_t;

static s_app_t s_app;

static void s_about(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    GtkApplication *app = user;
    const char *authors[] = {"reman-station developers", NULL};
    gtk_show_about_dialog(gtk_application_get_active_window(app), "program-name", "reman-station",
                          "version", ra_version(), "comments",
                          _("Grades returned cores to a value-retention route and publishes "
                            "every decision to the line."),
                          "authors", authors, "logo-icon-name", "org.reman.Station", NULL);
}

static void s_quit(GSimpleAction *a, GVariant *p, gpointer user)
{
    (void) a;
    (void) p;
    g_application_quit(G_APPLICATION(user));
}

/* The site database, when configured, for the pages that read it: the supervisor view and
 * the audit browser (found in the window's widget tree). */
static void s_point_at_site(GtkWidget *w, const RhConfig *cfg)
{
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        if (RH_IS_AUDIT(c))
            rh_audit_set_site(RH_AUDIT(c), cfg->site, cfg->site_evidence);
        else if (RH_IS_SUPERVISOR(c))
            rh_supervisor_set_site(RH_SUPERVISOR(c), cfg->site);
        else
            s_point_at_site(c, cfg);
    }
}

static void s_activate(GApplication *gapp, gpointer user)
{
    (void) user;
    GtkApplication *app = GTK_APPLICATION(gapp);
    GtkWindow *w = gtk_application_get_active_window(app);
    if (w) {
        gtk_window_present(w);
        return;
    }
    if (!s_app.st) {
        GError *err = NULL;
        if (s_app.cfg.demo)
            rh_config_demo(&s_app.cfg);
        s_app.st = rh_station_open(&s_app.cfg, &err);
        if (!s_app.st) {
            g_printerr("reman-station: %s\n", err->message);
            g_critical("start: %s", err->message);
            g_error_free(err);
            g_application_quit(gapp);
            return;
        }
        /* the language in force, shown by one of its strings */
        g_message("start: station=%s store=%s line=%s session=%lld language=%s sample=\"%s\"",
                  s_app.cfg.station, s_app.cfg.store_dir,
                  s_app.cfg.publish ? s_app.cfg.publish : "-",
                  (long long) ra_store_session(s_app.st->store),
                  g_get_language_names()[0], _("Sign in"));
        if (s_app.cfg.site && *s_app.cfg.site)
            g_message("start: site database for the supervisor view and the audit browser; "
                      "evidence %s",
                      s_app.cfg.site_evidence ? s_app.cfg.site_evidence : "-");
    }
    GtkCssProvider *css = gtk_css_provider_new();
    gtk_css_provider_load_from_resource(css, "/org/reman/Station/station.css");
    gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                               GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref(css);
    RhWindow *win = rh_window_new(app, s_app.st);
    if (s_app.cfg.site && *s_app.cfg.site)
        s_point_at_site(GTK_WIDGET(win), &s_app.cfg);
    gtk_window_present(GTK_WINDOW(win));
}

static void s_startup(GApplication *gapp, gpointer user)
{
    (void) user;
    GtkApplication *app = GTK_APPLICATION(gapp);
    static const GActionEntry entries[] = {
        {"about", s_about, NULL, NULL, NULL, {0}},
        {"quit", s_quit, NULL, NULL, NULL, {0}},
    };
    g_action_map_add_action_entries(G_ACTION_MAP(app), entries, G_N_ELEMENTS(entries), app);
    static const struct {
        const char *action;
        const char *accels[3];
    } keys[] = {
        {"app.quit", {"<Control>q", NULL}},
        {"win.capture", {"F5", NULL}},
        {"win.retake", {"F6", NULL}},
        {"win.show-findings", {"F3", NULL}},
        {"win.show-heat", {"F4", NULL}},
        {"win.confirm", {"F9", NULL}},
        {"win.override", {"F8", NULL}},
        {"win.next", {"F12", NULL}},
        {"win.open-waiting", {"F7", NULL}},
        {"win.request-upgrade", {"<Shift>F8", NULL}},
        {"win.next-view", {"F11", NULL}},
        {"win.focus-code", {"F2", NULL}},
        {"win.zoom-in", {"<Control>plus", "<Control>equal", NULL}},
        {"win.zoom-out", {"<Control>minus", NULL}},
        {"win.zoom-fit", {"<Control>0", NULL}},
        {"win.page::station", {"<Control>1", NULL}},
        {"win.page::supervisor", {"<Control>2", NULL}},
        {"win.page::audit", {"<Control>3", NULL}},
        {"win.shortcuts", {"<Control>question", "F1", NULL}},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        gtk_application_set_accels_for_action(app, keys[i].action, keys[i].accels);
}

static void s_shutdown(GApplication *gapp, gpointer user)
{
    (void) gapp;
    (void) user;
    /* the windows are gone: publish what the outbox holds, death, close the store */
    rh_station_close(s_app.st);
    s_app.st = NULL;
    g_message("stop: clean shutdown");
}

/* The language: settings or --language, else the locale. Must run before GTK starts. */
static void s_setup_language(int argc, char **argv)
{
    RhConfig probe;
    rh_config_load(&probe);
    const char *lang = probe.language;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--language") && i + 1 < argc)
            lang = argv[i + 1];
        else if (g_str_has_prefix(argv[i], "--language="))
            lang = argv[i] + strlen("--language=");
    }
    if (lang && strcmp(lang, "system") != 0) {
        g_setenv("LANGUAGE", lang, TRUE);
        /* gettext ignores LANGUAGE under the C locale: take a UTF-8 one */
        const char *cur = setlocale(LC_MESSAGES, NULL);
        if (cur && (!strcmp(cur, "C") || !strcmp(cur, "POSIX")))
            setlocale(LC_ALL, "C.UTF-8");
    }
    rh_config_clear(&probe);
    const char *dir = g_getenv("RS_LOCALEDIR");
    if (!dir || !*dir)
        dir = g_file_test(RH_LOCALEDIR, G_FILE_TEST_IS_DIR) ? RH_LOCALEDIR : "/usr/share/locale";
    bindtextdomain(GETTEXT_PACKAGE, dir);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
}

static gint s_local_options(GApplication *app, GVariantDict *opts, gpointer user)
{
    (void) app;
    (void) opts;
    (void) user;
    if (s_app.bench)
        return rh_bench_run(s_app.cfg.families ? s_app.cfg.families : RS_FAMILIES_DIR,
                            s_app.bench_seconds > 0 ? s_app.bench_seconds : 5.0, 9, s_app.json);
    if (s_app.version) {
        rv_init();
        printf("%s (%s)\n", ra_version(), rv_describe());
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    rv_memory_keep(); /* images freed stay for the next (rv_memory.h) */
    setlocale(LC_ALL, "");
    s_setup_language(argc, argv);
    rh_config_load(&s_app.cfg);
    char *lang = NULL;
    const GOptionEntry options[] = {
        {"demo", 0, 0, G_OPTION_ARG_NONE, &s_app.cfg.demo,
         N_("Run on the bundled demo cores (simulated camera, local store, loopback line)"),
         NULL},
        {"station", 0, 0, G_OPTION_ARG_STRING, &s_app.cfg.station, N_("Station id"), "ID"},
        {"store", 0, 0, G_OPTION_ARG_FILENAME, &s_app.cfg.store_dir, N_("Decision store directory"),
         "DIR"},
        {"publish", 0, 0, G_OPTION_ARG_STRING, &s_app.cfg.publish,
         N_("Line PUB endpoint (\"\" for none)"), "ENDPOINT"},
        {"replay", 0, 0, G_OPTION_ARG_STRING, &s_app.cfg.replay, N_("Line replay endpoint"),
         "ENDPOINT"},
        {"families", 0, 0, G_OPTION_ARG_FILENAME, &s_app.cfg.families,
         N_("Part family models directory"), "DIR"},
        {"references", 0, 0, G_OPTION_ARG_FILENAME, &s_app.cfg.references,
         N_("Learned references directory (reman-train)"), "DIR"},
        {"source", 0, 0, G_OPTION_ARG_STRING, &s_app.cfg.source,
         N_("Capture source: files, folder:DIR or camera:DEVICE"), "SPEC"},
        {"image", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &s_app.cfg.images,
         N_("An image for the files source (repeat; shown one after another)"), "FILE"},
        {"follow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &s_app.cfg.follow,
         N_("Another station for the supervisor view (repeat)"), "PUB,REPLAY"},
        {"site", 0, 0, G_OPTION_ARG_STRING, &s_app.cfg.site,
         N_("The site database (a libpq connection string): the supervisor view and the audit "
            "browser read every station's decisions there"),
         "CONNINFO"},
        {"site-evidence", 0, 0, G_OPTION_ARG_FILENAME, &s_app.cfg.site_evidence,
         N_("The site's evidence directory (as reman-collector --evidence)"), "DIR"},
        {"identify-budget", 0, 0, G_OPTION_ARG_INT, &s_app.cfg.identify_budget,
         N_("Code search work limit in scan locations (0: the whole image)"), "N"},
        {"language", 0, 0, G_OPTION_ARG_STRING, &lang,
         N_("Interface language for this run: system, en or zh_CN"), "LANG"},
        {"high-contrast", 0, 0, G_OPTION_ARG_NONE, &s_app.cfg.high_contrast,
         N_("High-contrast theme for bright shop light"), NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &s_app.version, N_("Print the version and exit"),
         NULL},
        {"bench", 0, 0, G_OPTION_ARG_NONE, &s_app.bench,
         N_("Measure the preview frame rate and capture-to-proposal time, print them, exit"),
         NULL},
        {"bench-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &s_app.bench_seconds,
         N_("How long the preview is measured (default 5)"), "S"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &s_app.json, N_("Benchmark figures as JSON lines"),
         NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GtkApplication *app = gtk_application_new("org.reman.Station", G_APPLICATION_NON_UNIQUE);
    g_application_add_main_option_entries(G_APPLICATION(app), options);
    g_application_set_option_context_summary(
        G_APPLICATION(app),
        _("The inspection station: sign in, identify the core, capture, inspect, confirm or "
          "override, and every decision stored, signed and sent to the line."));
    g_application_set_option_context_parameter_string(G_APPLICATION(app), "");
    g_signal_connect(app, "handle-local-options", G_CALLBACK(s_local_options), NULL);
    g_signal_connect(app, "startup", G_CALLBACK(s_startup), NULL);
    g_signal_connect(app, "activate", G_CALLBACK(s_activate), NULL);
    g_signal_connect(app, "shutdown", G_CALLBACK(s_shutdown), NULL);
    int status = g_application_run(G_APPLICATION(app), argc, argv);
    if (lang) {
        g_free(s_app.cfg.language);
        s_app.cfg.language = lang;
    }
    g_object_unref(app);
    rh_config_clear(&s_app.cfg);
    return status;
}
