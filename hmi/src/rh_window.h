/* rh_window.h - the station window: the technician's inspection, and the supervisor view
 * and audit browser as pages (rh_supervisor.h, rh_audit.h). */
#ifndef RH_WINDOW_H
#define RH_WINDOW_H

#include <gtk/gtk.h>

#include "rh_station.h"

G_BEGIN_DECLS

#define RH_TYPE_WINDOW (rh_window_get_type())
G_DECLARE_FINAL_TYPE(RhWindow, rh_window, RH, WINDOW, GtkApplicationWindow)

/* st is borrowed (the application owns it and outlives the window). */
RhWindow *rh_window_new(GtkApplication *app, RhStation *st);

G_END_DECLS
#endif
