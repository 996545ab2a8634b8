/* ra_identify.h - who is this core: the code on the part.
 *
 * Reads a DataMatrix (the usual direct part mark on metal) from a gray view with libdmtx,
 * a QR code or a 1-D barcode (EAN-13/8, UPC-A/E) through the OpenCV shim, or a line typed
 * or sent by a keyboard-wedge scanner, and parses its text into serial and part number.
 * The station's marks carry "S:<serial>;P:<part number>"; other texts are returned whole
 * as the serial.
 * The search works on a copy downscaled so the symbol's modules stay >= 2 px, looks first
 * where the symbol probably is, and stops after a budget of work (scan locations, the same
 * on every machine and under any load) so an unreadable part costs a bounded time. */
#ifndef RA_IDENTIFY_H
#define RA_IDENTIFY_H

#include <stddef.h>

#include "rv/rv_image.h"

typedef struct ra_code {
    char text[256];        /* the decoded message */
    char serial[64];
    char part_number[64];
    double corners[4][2];  /* px of the view */
    int kind;              /* ra_code_kind_t: which symbology (or typed) gave it */
} ra_code_t;

typedef enum ra_code_kind {
    RA_CODE_UNKNOWN = 0,
    RA_CODE_DATAMATRIX = 1,
    RA_CODE_QR = 2,
    RA_CODE_EAN13 = 3,
    RA_CODE_EAN8 = 4,
    RA_CODE_UPCA = 5,
    RA_CODE_UPCE = 6,
    RA_CODE_BARCODE = 7, /* another 1-D symbology */
    RA_CODE_MANUAL = 8,  /* typed, or a keyboard-wedge scanner */
    RA_CODE_CODE128 = 9,
    RA_CODE_CARRIED = 10 /* the part's code, read on another view of it (the station's
                            views of one part: the mark is on one face) */
} ra_code_kind_t;

/* "datamatrix", "qr", "ean13", ... "manual", "carried". Static. */
const char *ra_code_kind_name(int kind);

/* The default work budget: scan locations (libdmtx's grid, every location of it scanned
 * for a finder edge), about 3 s on one desktop core of the 2020s at 8 us a location. */
#define RA_IDENTIFY_BUDGET 400000L

/* Find and decode one DataMatrix in gray (GRAY8). shrink: 1 (full size) to 4, the
 * search's downscale. First the windows where blocks of strong steps across and along
 * the rows gather (a symbol's modules), each searched whole, as it is and with its dark
 * dots grown (dot-peen marks); then the whole image the same way. budget: the scan
 * locations all of it may take, 0 for no limit (the whole image is searched); either way
 * the result does not depend on the machine or its load. 0 with *out filled (corners in
 * gray's pixels); RV_EFORMAT "no DataMatrix found" when there is none within the budget. */
int ra_identify_datamatrix(const rv_view_t *gray, int shrink, long budget, ra_code_t *out);

/* The first QR code in view (GRAY8 or RGB8). RV_EFORMAT "no QR code found" when none
 * decodes. */
int ra_identify_qr(const rv_view_t *view, ra_code_t *out);

/* The first EAN-13/EAN-8/UPC-A/UPC-E barcode in view (GRAY8 or RGB8); the digits become the
 * serial. RV_EFORMAT "no barcode found" when none decodes. (OpenCV 4.6's barcode module
 * knows only the EAN/UPC family: Code 128 is ra_identify_code128.) */
int ra_identify_barcode(const rv_view_t *view, ra_code_t *out);

/* The first Code 128 symbol in gray (GRAY8), at any angle (ra_code128.c says how it
 * scans). RV_EFORMAT "no Code 128 symbol found" when none reads with a valid check. */
int ra_identify_code128(const rv_view_t *gray, ra_code_t *out);

/* Code 128 (code set B, printable ASCII) as modules, 1 = bar, with start, check and stop
 * symbols (no quiet zones): (n + 2) * 11 + 13 modules for n characters. Returns the number
 * of modules, or a negative status (a character outside 32..126, cap too small). */
int ra_code128_encode(const char *text, uint8_t *modules, int cap);

/* DataMatrix first (the mark the station's parts carry), then QR, then EAN/UPC, then
 * Code 128: the first that decodes. gray: GRAY8; shrink and budget as for the DataMatrix. */
int ra_identify_any(const rv_view_t *gray, int shrink, long budget, ra_code_t *out);

/* A code read on a frame decoded at 1/scale (1, 2, 4, 8): its corners restated in the
 * delivered frame's pixels (frame x = x * scale + (scale - 1) / 2, the centre of the
 * scale x scale pixels a decoded pixel stands for). */
void ra_code_unscale(ra_code_t *code, int scale);

/* A line typed at the bench or sent by a keyboard-wedge scanner: trailing CR/LF and
 * surrounding blanks removed; an AIM symbology prefix (]d2 DataMatrix, ]Q1 QR, ]E0 EAN,
 * ]C1 Code 128 ...) removed and remembered as kind; GS (0x1D, the wedge's FNC1) read as
 * ';'. Other control characters are refused (RV_EFORMAT): a stray key is not a serial. */
int ra_identify_manual(const char *line, ra_code_t *out);

/* 1 when the code's corners mark a place on the view (a code read from it), 0 when they
 * do not (a code typed, scanned at the bench or carried: its corners are all 0). */
int ra_code_located(const ra_code_t *code);

/* Split "S:<serial>;P:<part number>" (either order, other fields ignored); a text without
 * those fields becomes the serial. RV_EFORMAT for an empty or over-long text. */
int ra_code_parse(const char *text, ra_code_t *out);

#endif
