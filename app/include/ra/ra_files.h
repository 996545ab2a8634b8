/* ra_files.h - the images a command is given: files, or the JPEGs of folders. */
#ifndef RA_FILES_H
#define RA_FILES_H

#include <stddef.h>

/* Append path (a file, taken as it is) or the *.jpg / *.jpeg files of path (a folder, not
 * recursive, in name order, hidden files and our own *.overlay.* images left out) to the
 * growing list *list of *n strings. RV_EIO when path does not exist (rv_last_error names
 * it). Free with ra_files_free(). */
int ra_files_collect(const char *path, char ***list, size_t *n);
void ra_files_free(char ***list, size_t *n);

#endif
