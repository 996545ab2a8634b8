/* rm_registry.c - the families of a folder, found by part number (see rm_registry.h). */
#include "rm/rm_registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/rv_error.h"

#define S_DOMAIN "rm_registry"

struct rm_registry {
    size_t count;
    rm_family_t **families;
};

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int s_is_json(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static void s_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

rm_registry_t *rm_registry_load_dir(const char *dir)
{
    if (!dir) {
        rv_fail(RV_EINVAL, S_DOMAIN, "no folder");
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        rv_fail(RV_EIO, S_DOMAIN, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    /* collect and sort the names first: readdir's order is the file system's whim */
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = RV_OK;
    struct dirent *de;
    while (rc == RV_OK && (de = readdir(d)) != NULL) {
        if (!s_is_json(de->d_name))
            continue;
        if (n == RM_REGISTRY_MAX_FAMILIES) {
            rc = rv_fail(RV_ELIMIT, S_DOMAIN, "%s: more than %d family files", dir,
                         RM_REGISTRY_MAX_FAMILIES);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **grown = realloc(names, nc * sizeof *names);
            if (!grown) {
                rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
                break;
            }
            names = grown;
            cap = nc;
        }
        names[n] = strdup(de->d_name);
        if (!names[n])
            rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
        else
            n++;
    }
    closedir(d);
    rm_registry_t *self = rc ? NULL : calloc(1, sizeof *self);
    if (!rc && (!self || (n && !(self->families = calloc(n, sizeof *self->families)))))
        rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
    if (!rc && n)
        qsort(names, n, sizeof *names, s_name_cmp);
    for (size_t i = 0; !rc && i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) {
            rc = rv_fail(RV_ENOMEM, S_DOMAIN, "out of memory");
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        rm_family_t *f = rm_family_load(path); /* its message names the file */
        free(path);
        if (!f) {
            rc = rm_family_load_status() ? rm_family_load_status() : RV_EFORMAT;
            break;
        }
        for (size_t j = 0; j < self->count; j++)
            if (strcmp(rm_family_id(self->families[j]), rm_family_id(f)) == 0) {
                rc = rv_fail(RV_EFORMAT, S_DOMAIN, "%s/%s: family id \"%s\" is also %s", dir,
                             names[i], rm_family_id(f), rm_family_origin(self->families[j]));
                break;
            }
        if (rc)
            rm_family_destroy(&f);
        else
            self->families[self->count++] = f;
    }
    s_free_names(names, n);
    if (rc)
        rm_registry_destroy(&self);
    return self;
}

void rm_registry_destroy(rm_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rm_registry_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        rm_family_destroy(&self->families[i]);
    free(self->families);
    free(self);
    *self_p = NULL;
}

size_t rm_registry_count(const rm_registry_t *self)
{
    return self ? self->count : 0;
}

const rm_family_t *rm_registry_at(const rm_registry_t *self, size_t i)
{
    return self && i < self->count ? self->families[i] : NULL;
}

const rm_family_t *rm_registry_get(const rm_registry_t *self, const char *id)
{
    for (size_t i = 0; self && id && i < self->count; i++)
        if (strcmp(rm_family_id(self->families[i]), id) == 0)
            return self->families[i];
    return NULL;
}

int rm_registry_find(const rm_registry_t *self, const char *part_number,
                     rm_family_t **family_p)
{
    if (family_p)
        *family_p = NULL;
    if (!self || !part_number || !family_p)
        return rv_fail(RV_EINVAL, S_DOMAIN, "no registry, part number or output");
    rm_family_t *hit = NULL;
    for (size_t i = 0; i < self->count; i++) {
        if (!rm_family_matches(self->families[i], part_number))
            continue;
        if (hit)
            return rv_fail(RV_EFORMAT, S_DOMAIN, "part number \"%.63s\" is ambiguous: %s, %s",
                           part_number, rm_family_id(hit), rm_family_id(self->families[i]));
        hit = self->families[i];
    }
    if (!hit)
        return rv_fail(RV_EINVAL, S_DOMAIN, "no family for part number \"%.63s\"", part_number);
    *family_p = rm_family_ref(hit);
    return RV_OK;
}
