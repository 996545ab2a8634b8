/* rh_station.h - what the station window works with, opened once at start: the settings
 * (XDG config file, overridden by the command line), the decision store, the line
 * publisher, the part families and the cell that inspects (ra_cell.h). No GTK here. */
#ifndef RH_STATION_H
#define RH_STATION_H

#include <glib.h>

#include "ra/ra_cell.h"
#include "ra/ra_line.h"
#include "ra/ra_source.h"
#include "ra/ra_store.h"
#include "rm/rm_registry.h"

G_BEGIN_DECLS

typedef struct RhConfig {
    gboolean demo;          /* the bundled demo: demo cores, demo operators */
    char *station;          /* station id */
    char *store_dir;        /* the decision store */
    char *publish, *replay; /* line endpoints ("" : no line) */
    char *families, *references;
    char *source;           /* "files" (the demo cores or --image), "folder:DIR", "camera:DEV" */
    char **images;          /* files for the "files" source */
    char **follow;          /* other stations for the supervisor view: "PUB,REPLAY" */
    char *site;             /* the site database (libpq conninfo): the supervisor view and
                             * the audit browser read it instead (NULL: the line, the store) */
    char *site_evidence;    /* the site's evidence directory (reman-collector --evidence) */
    char *language;         /* "system", "en", "zh_CN" */
    gboolean high_contrast;
    char *config_file;      /* where the settings live */
    int identify_budget;    /* the code search's work (ra_identify_datamatrix) */
} RhConfig;

/* Defaults, then the settings file ($XDG_CONFIG_HOME/reman-station/settings.ini), for the
 * command line to override. */
void rh_config_load(RhConfig *cfg);
/* Save the user-facing settings (language, high contrast) back. */
gboolean rh_config_save(const RhConfig *cfg, GError **error);
void rh_config_clear(RhConfig *cfg);
/* The demo's defaults for whatever the command line and settings left unset. */
void rh_config_demo(RhConfig *cfg);

typedef struct RhStation {
    RhConfig *cfg;             /* borrowed */
    ra_store_t *store;
    ra_line_pub_t *pub;        /* NULL when no line */
    rm_registry_t *registry;
    ra_cell_t *cell;           /* used by one inspection at a time: cell_lock */
    GMutex cell_lock;
    char *line_error;          /* the line could not start: why (the station still stores) */
} RhStation;

RhStation *rh_station_open(RhConfig *cfg, GError **error);
void rh_station_close(RhStation *st);
/* Open the configured capture source. */
ra_source_t *rh_station_source(RhStation *st, GError **error);

/* 1 when the interface speaks Chinese (the reasons' zh text is shown). */
gboolean rh_lang_is_zh(void);

G_END_DECLS
#endif
