/* ra_identify.h - who is this core: the code on the part.
 *
 * Reads a DataMatrix (the usual direct part mark on metal) from a gray view with libdmtx,
 * and parses its text into serial and part number. The station's marks carry
 * "S:<serial>;P:<part number>"; other texts are returned whole as the serial.
 * The search works on a copy downscaled so the symbol's modules stay >= 2 px, and stops
 * at a time limit so an unreadable part costs a bounded time. */
#ifndef RA_IDENTIFY_H
#define RA_IDENTIFY_H

#include <stddef.h>

#include "rv/rv_image.h"

typedef struct ra_code {
    char text[256];        /* the decoded message */
    char serial[64];
    char part_number[64];
    double corners[4][2];  /* px of the view */
} ra_code_t;

/* Find and decode one DataMatrix in gray (GRAY8). shrink: 1 (full size) to 4, the
 * search's downscale; timeout_ms: the search's limit. 0 with *out filled; RV_EFORMAT
 * "no DataMatrix found" when there is none within the limit. */
int ra_identify_datamatrix(const rv_view_t *gray, int shrink, int timeout_ms, ra_code_t *out);

/* Split "S:<serial>;P:<part number>" (either order, other fields ignored); a text without
 * those fields becomes the serial. RV_EFORMAT for an empty or over-long text. */
int ra_code_parse(const char *text, ra_code_t *out);

#endif
