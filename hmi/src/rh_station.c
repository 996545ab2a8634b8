/* rh_station.c - settings, store, line, families and cell for the station window. */
#include "rh_station.h"

#include "ra/ra_identify.h"
#include "ra/ra_version.h"
#include "rv/rv.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <sodium.h>
#include <string.h>

static char *s_dup_or(GKeyFile *kf, const char *group, const char *key, const char *def)
{
    char *v = kf ? g_key_file_get_string(kf, group, key, NULL) : NULL;
    return v ? v : g_strdup(def);
}

void rh_config_load(RhConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->config_file =
        g_build_filename(g_get_user_config_dir(), "reman-station", "settings.ini", NULL);
    GKeyFile *kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, cfg->config_file, G_KEY_FILE_NONE, NULL))
        g_clear_pointer(&kf, g_key_file_free);
    cfg->station = s_dup_or(kf, "station", "id", NULL);
    cfg->store_dir = s_dup_or(kf, "station", "store", NULL);
    cfg->publish = s_dup_or(kf, "line", "publish", NULL);
    cfg->replay = s_dup_or(kf, "line", "replay", NULL);
    cfg->families = s_dup_or(kf, "station", "families", NULL);
    cfg->references = s_dup_or(kf, "station", "references", NULL);
    cfg->source = s_dup_or(kf, "station", "source", NULL);
    cfg->language = s_dup_or(kf, "ui", "language", "system");
    cfg->high_contrast = kf ? g_key_file_get_boolean(kf, "ui", "high-contrast", NULL) : FALSE;
    cfg->follow = kf ? g_key_file_get_string_list(kf, "line", "follow", NULL, NULL) : NULL;
    cfg->site = s_dup_or(kf, "station", "site", NULL);
    cfg->site_evidence = s_dup_or(kf, "station", "site-evidence", NULL);
    cfg->identify_budget = (int) RA_IDENTIFY_BUDGET;
    if (kf)
        g_key_file_free(kf);
}

gboolean rh_config_save(const RhConfig *cfg, GError **error)
{
    GKeyFile *kf = g_key_file_new();
    g_key_file_load_from_file(kf, cfg->config_file, G_KEY_FILE_KEEP_COMMENTS, NULL);
    g_key_file_set_string(kf, "ui", "language", cfg->language ? cfg->language : "system");
    g_key_file_set_boolean(kf, "ui", "high-contrast", cfg->high_contrast);
    char *dir = g_path_get_dirname(cfg->config_file);
    g_mkdir_with_parents(dir, 0700);
    g_free(dir);
    gboolean ok = g_key_file_save_to_file(kf, cfg->config_file, error);
    g_key_file_free(kf);
    return ok;
}

void rh_config_clear(RhConfig *cfg)
{
    g_free(cfg->station);
    g_free(cfg->store_dir);
    g_free(cfg->publish);
    g_free(cfg->replay);
    g_free(cfg->families);
    g_free(cfg->references);
    g_free(cfg->source);
    g_strfreev(cfg->images);
    g_strfreev(cfg->follow);
    g_free(cfg->site);
    g_free(cfg->site_evidence);
    g_free(cfg->language);
    g_free(cfg->config_file);
    memset(cfg, 0, sizeof *cfg);
}

#define SET_DEFAULT(field, value)                                                             \
    do {                                                                                      \
        if (!cfg->field)                                                                      \
            cfg->field = (value);                                                             \
    } while (0)

void rh_config_demo(RhConfig *cfg)
{
    SET_DEFAULT(station, g_strdup("bench-1"));
    SET_DEFAULT(store_dir, g_build_filename(g_get_user_data_dir(), "reman-station", "demo-store",
                                            NULL));
    SET_DEFAULT(publish, g_strdup(RA_LINE_PUB_DEFAULT));
    SET_DEFAULT(replay, g_strdup(RA_LINE_REPLAY_DEFAULT));
    SET_DEFAULT(references, g_strdup(RS_DEMO_REFERENCES));
    SET_DEFAULT(source, g_strdup("files"));
    if (!cfg->images) {
        /* the bundled demo cores, one after another: a simulated camera at the bench */
        GPtrArray *a = g_ptr_array_new();
        const char *names[] = {"disc-defects", "housing-clean", "shaft-defects", "disc-clean",
                               "housing-defects", "shaft-clean", "shaft-worn"};
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
            char *base = g_strconcat(names[i], ".jpg", NULL);
            g_ptr_array_add(a, g_build_filename(RS_ASSETS_DIR, "cores", base, NULL));
            g_free(base);
        }
        g_ptr_array_add(a, NULL);
        cfg->images = (char **) g_ptr_array_free(a, FALSE);
    }
}

gboolean rh_lang_is_zh(void)
{
    const char *const *names = g_get_language_names();
    /* the first language that has our catalogue decides */
    for (size_t i = 0; names[i]; i++) {
        if (g_str_has_prefix(names[i], "zh"))
            return TRUE;
        if (g_str_has_prefix(names[i], "en") || !strcmp(names[i], "C"))
            return FALSE;
    }
    return FALSE;
}

RhStation *rh_station_open(RhConfig *cfg, GError **error)
{
    if (sodium_init() < 0 || rv_init() != RV_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Set-up failed: %s"), rv_last_error());
        return NULL;
    }
    if (!cfg->station || !cfg->store_dir) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    _("No station id or store configured: give --station and --store, or "
                      "--demo"));
        return NULL;
    }
    if (!cfg->families)
        cfg->families = g_strdup(RS_FAMILIES_DIR);
    if (!cfg->references)
        cfg->references =
            g_build_filename(g_get_user_data_dir(), "reman-station", "references", NULL);
    if (!cfg->source)
        cfg->source = g_strdup("files");
    RhStation *st = g_new0(RhStation, 1);
    st->cfg = cfg;
    g_mutex_init(&st->cell_lock);
    g_mkdir_with_parents(cfg->store_dir, 0700);
    if (!(st->store = ra_store_open(cfg->store_dir, cfg->station, RA_STORE_WRITE))) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Decision store: %s"),
                    rv_last_error());
        goto fail;
    }
    if (!(st->registry = rm_registry_load_dir(cfg->families))) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Part families: %s"),
                    rv_last_error());
        goto fail;
    }
    ra_cell_opts_t co = {
        .registry = st->registry,
        .references = cfg->references,
        .identify = 1,
        .identify_budget = cfg->identify_budget,
        .store = st->store,
        .keep_overlay = 1,
        /* the zones on every core: the technician waits for this one part */
        .threads = (int) MIN(g_get_num_processors(), 8),
    };
    if (!(st->cell = ra_cell_new(&co))) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", rv_last_error());
        goto fail;
    }
    if (cfg->demo) {
        /* the demo's operators, made once: a technician and a supervisor */
        ra_role_t role;
        if (ra_store_operator_check(st->store, "tech1", "1234", &role) != RV_OK)
            ra_store_operator_add(st->store, "tech1", "Demo technician", RA_ROLE_TECHNICIAN,
                                  "1234");
        if (ra_store_operator_check(st->store, "sup1", "9876", &role) != RV_OK)
            ra_store_operator_add(st->store, "sup1", "Demo supervisor", RA_ROLE_SUPERVISOR,
                                  "9876");
    }
    if (cfg->publish && *cfg->publish) {
        ra_line_opts_t lo;
        ra_line_opts_default(&lo);
        lo.pub_endpoint = cfg->publish;
        lo.replay_endpoint = cfg->replay;
        if (!(st->pub = ra_line_pub_new(st->store, &lo))) {
            /* the station still stores every decision; the outbox publishes them when the
             * line starts at the next start */
            st->line_error = g_strdup(rv_last_error());
            g_warning("line: %s", st->line_error);
        }
    }
    return st;
fail:
    rh_station_close(st);
    return NULL;
}

void rh_station_close(RhStation *st)
{
    if (!st)
        return;
    if (st->pub)
        ra_line_pub_flush(st->pub, 3000);
    ra_line_pub_destroy(&st->pub);
    ra_cell_destroy(&st->cell);
    rm_registry_destroy(&st->registry);
    ra_store_close(&st->store);
    g_mutex_clear(&st->cell_lock);
    g_free(st->line_error);
    g_free(st);
}

ra_source_t *rh_station_source(RhStation *st, GError **error)
{
    ra_source_opts_t so;
    ra_source_opts_default(&so);
    /* frames decoded at the DCT scale that still covers the largest family (a 5 MP frame
     * for the 1280 x 960 demo families at 1/2): what the inspection works at, and no
     * smaller than the live view shows it */
    ra_cell_cover_size(st->cell, &so.cover_width, &so.cover_height);
    const char *spec = st->cfg->source;
    size_t n = st->cfg->images ? g_strv_length(st->cfg->images) : 0;
    ra_source_t *src = NULL;
    if (!strcmp(spec, "files")) {
        so.loop = 1; /* the list again after the last: a simulated camera */
        if (n == 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        _("No images for the files source: give --image or --demo"));
            return NULL;
        }
        src = ra_source_files_new((const char *const *) st->cfg->images, n, &so);
    } else {
        src = ra_source_open(spec, NULL, 0, &so);
    }
    if (!src)
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Capture source %s: %s"), spec,
                    rv_last_error());
    return src;
}
