/* rm_registry.h - every part family of a folder, and which one a part number belongs to.
 *
 * rm_registry_load_dir() loads every "*.json" file of a folder (not recursively, in name
 * order) as a family; one bad file refuses the whole folder, naming the file and the
 * problem, because a station must not run with a family silently missing. Two families
 * with the same id are refused too.
 *
 * Ownership: the registry holds a reference to each family; rm_registry_find() hands the
 * caller a new reference (rm_family_destroy() it). The registry is immutable once loaded.
 * Thread-safety: a loaded registry may be read from several threads. */
#ifndef RM_REGISTRY_H
#define RM_REGISTRY_H

#include <stddef.h>

#include "rm/rm_family.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RM_REGISTRY_MAX_FAMILIES 1024

typedef struct rm_registry rm_registry_t;

/* NULL on failure (rv_last_error(): the folder, or the first bad file and its problem). */
rm_registry_t *rm_registry_load_dir(const char *dir);

void rm_registry_destroy(rm_registry_t **self_p);

size_t rm_registry_count(const rm_registry_t *self);
/* The i-th family in file-name order (borrowed), NULL when out of range. */
const rm_family_t *rm_registry_at(const rm_registry_t *self, size_t i);
/* The family with that id (borrowed), NULL when none. */
const rm_family_t *rm_registry_get(const rm_registry_t *self, const char *id);

/* The one family whose patterns match part_number: RV_OK and a new reference in
 * *family_p; RV_EINVAL when none matches ("no family for ..."); RV_EFORMAT when several
 * do ("... is ambiguous: a, b"): the folder's patterns overlap and must be fixed, so the
 * station refuses to guess. *family_p is NULL on failure. */
int rm_registry_find(const rm_registry_t *self, const char *part_number,
                     rm_family_t **family_p);

#ifdef __cplusplus
}
#endif
#endif
