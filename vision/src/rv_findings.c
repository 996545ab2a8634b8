/* rv_findings.c - the growable list of findings. */
#include "rv/rv_findings.h"
#include "rv/rv_error.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_names[RV_FINDING_NTYPES] = {"crack", "corrosion", "pit",
                                                       "missing", "wear", "dimension"};

int rv_findings_push(rv_findings_t *list, const rv_finding_t *f)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        rv_finding_t *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return rv_fail(RV_ENOMEM, "rv_findings_push", "%zu findings", cap);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = *f;
    return RV_OK;
}

void rv_findings_free(rv_findings_t *list)
{
    if (!list)
        return;
    free(list->items);
    memset(list, 0, sizeof *list);
}

const char *rv_finding_type_name(rv_finding_type_t type)
{
    return (int) type >= 0 && (int) type < RV_FINDING_NTYPES ? s_names[type] : NULL;
}

int rv_finding_type_parse(const char *name)
{
    for (int i = 0; name && i < RV_FINDING_NTYPES; i++)
        if (strcmp(name, s_names[i]) == 0)
            return i;
    return -1;
}
