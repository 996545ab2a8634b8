/* ra_files.c - collecting image files from the command line. */
#include "ra/ra_files.h"
#include "rv/rv_error.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int s_is_jpeg(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int s_push(char ***list, size_t *n, char *item)
{
    char **grown = realloc(*list, (*n + 1) * sizeof **list);
    if (!grown || !item) {
        free(item);
        return rv_fail(RV_ENOMEM, "ra_files", "out of memory");
    }
    *list = grown;
    (*list)[(*n)++] = item;
    return RV_OK;
}

int ra_files_collect(const char *path, char ***list, size_t *n)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rv_fail(RV_EIO, "ra_files", "%s: no such file or folder", path);
    if (!S_ISDIR(st.st_mode))
        return s_push(list, n, strdup(path));
    struct dirent **names = NULL;
    int k = scandir(path, &names, NULL, alphasort);
    if (k < 0)
        return rv_fail(RV_EIO, "ra_files", "%s: cannot read the folder", path);
    int rc = RV_OK;
    for (int i = 0; i < k; i++) {
        const char *name = names[i]->d_name;
        if (rc == RV_OK && name[0] != '.' && s_is_jpeg(name) && !strstr(name, ".overlay.")) {
            size_t len = strlen(path) + strlen(name) + 2;
            char *p = malloc(len);
            if (p)
                snprintf(p, len, "%s/%s", path, name);
            rc = s_push(list, n, p);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

void ra_files_free(char ***list, size_t *n)
{
    for (size_t i = 0; *list && i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}
