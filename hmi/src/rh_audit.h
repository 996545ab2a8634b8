/* rh_audit.h - the audit browser (of this station's store, or of the site database with
 * rh_audit_set_site: every station, read-only): search the decision store by serial, date, family,
 * route, operator; open a decision to see the original images with overlays, every
 * measurement, the model version and hash, who confirmed or overrode it and why, and
 * whether its chain verifies; export the report (CSV, JSON, HTML as reman-audit does).
 * Queries and verification run in GTasks off the main thread on a read-only handle. */
#ifndef RH_AUDIT_H
#define RH_AUDIT_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RH_TYPE_AUDIT (rh_audit_get_type())
G_DECLARE_FINAL_TYPE(RhAudit, rh_audit, RH, AUDIT, GtkBox)

RhAudit *rh_audit_new(void);
/* The store directory to browse (opened read-only by the browser itself). */
void rh_audit_set_store(RhAudit *self, const char *store_dir);
/* Browse the site database instead (a libpq connection string; every station's decisions,
 * read-only through ra_site), with the site's evidence directory (EVIDENCE_DIR/ab/<sha256>,
 * as reman-collector --evidence; NULL: images are not shown). The store given before stays
 * for this station's own inspection records. NULL or "": back to the store. */
void rh_audit_set_site(RhAudit *self, const char *conninfo, const char *evidence_dir);
/* Search again (after a decision was stored). */
void rh_audit_refresh(RhAudit *self);
/* Fill the search with a serial and run it (the technician's "history" link). */
void rh_audit_show_serial(RhAudit *self, const char *serial);
/* Open one decision by its seq (its images, findings, who decided, the chain). The store
 * only: on the site a seq names no decision without its station (choose it in the list). */
void rh_audit_open_decision(RhAudit *self, guint64 seq);
/* Export without the file dialog (tests, scripts): reman-audit export --format FORMAT
 * (html, csv, json) --out PATH, with the search's dates; the outcome in the status line
 * and the log ("audit: export FORMAT to PATH: done|failed"). The exporter is REMAN_AUDIT,
 * else reman-audit beside this program, else on PATH. */
void rh_audit_export(RhAudit *self, const char *format, const char *path);

/* A review_why entry of an inspection line, in the reader's language (the auditor's and
 * the supervisor's pages); the entry itself when it is not one the grader writes, "?" for
 * NULL. */
const char *rh_review_why_label(const char *why);

G_END_DECLS
#endif
