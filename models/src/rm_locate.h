/* rm_locate.h - where in a family file a JSON path points, for error messages.
 *
 * jansson reports a line only for syntax errors; a semantic error ("needs at least 3
 * points") is found on the decoded tree, whose nodes carry no position. The locator walks
 * the raw text along the path (keys and indices), skipping over strings and values
 * without interpreting them, and returns the line where the addressed value (or key)
 * starts. It reads text that jansson has already accepted, so it never decides what the
 * data means; it only counts. */
#ifndef RM_LOCATE_H
#define RM_LOCATE_H

#include <stddef.h>

/* One step of a path: an object member (key != NULL) or an array element (index). */
typedef struct rm_seg {
    const char *key;
    size_t index;
} rm_seg_t;

/* The 1-based line of the value at path, or of its key when at_key is set. When the path
 * leaves the document (a missing member), the line of the deepest value that exists:
 * the object that lacks the member. */
int rm_locate_line(const char *text, size_t len, const rm_seg_t *path, size_t depth,
                   int at_key);

#endif
