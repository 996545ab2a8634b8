/* rh_supervisor.h - the supervisor view: live from the line bus, every station.
 *
 * Parts per hour, route mix, scrap rate per family on a p-chart with control limits, top
 * reasons as a Pareto chart, override rate per operator, value retained this shift (kg of
 * new material and kg CO2e avoided), station liveness from heartbeats, and the queue of
 * inspections waiting for a decision (review proposals and upgrade requests).
 * The line is read by a subscriber (ra_line.h) on its own thread; events reach the widget
 * on the main loop. Nothing here blocks the main thread. */
#ifndef RH_SUPERVISOR_H
#define RH_SUPERVISOR_H

#include <gtk/gtk.h>

#include "ra/ra_store.h"

G_BEGIN_DECLS

#define RH_TYPE_SUPERVISOR (rh_supervisor_get_type())
G_DECLARE_FINAL_TYPE(RhSupervisor, rh_supervisor, RH, SUPERVISOR, GtkBox)

RhSupervisor *rh_supervisor_new(void);
/* Follow a station's line: its PUB and replay endpoints (the whole shift is replayed
 * first). May be called for several stations. FALSE with error when the endpoints are
 * refused. */
gboolean rh_supervisor_add_station(RhSupervisor *self, const char *pub_endpoint,
                                   const char *replay_endpoint, GError **error);
/* Read the site database instead of the line (a libpq connection string): every station
 * the site holds, its decisions of the last 24 hours polled every 2 s (only the new ones)
 * and the liveness from the site's health view. The line subscribers already started are
 * stopped; the waiting queue still comes from this station's store. */
void rh_supervisor_set_site(RhSupervisor *self, const char *conninfo);
/* This station's own store (borrowed, outlives the widget): the waiting queue is read from
 * it. NULL: no queue. */
void rh_supervisor_set_store(RhSupervisor *self, ra_store_t *store);
/* Ask for the waiting queue to be read again (after a decision). */
void rh_supervisor_refresh(RhSupervisor *self);
/* The start of the shift the figures count from (borrowed). NULL (the default): three
 * eight-hour shifts from 06:00, 14:00 and 22:00 local time, rolling over by themselves.
 * Decisions of the last 24 hours are kept, so an earlier start counts them again.
 *
 * Signal "open-inspection" (gint64 record, const char *serial or NULL, gint64 request): a
 * waiting inspection in the queue was activated (for the technician's page to open it);
 * request: the upgrade request waiting for a supervisor's answer, 0 when none. */
void rh_supervisor_set_shift_start(RhSupervisor *self, GDateTime *start);

/* The oldest inspection waiting for a decision or an answer, as last read from the store
 * (request: its upgrade request, 0 when none; may be NULL). FALSE when none is waiting. */
gboolean rh_supervisor_first_waiting(RhSupervisor *self, gint64 *record, gint64 *request);

G_END_DECLS
#endif
