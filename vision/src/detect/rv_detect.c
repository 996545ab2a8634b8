/* rv_detect.c - the table of detectors: every class the station knows, by name. */
#include <string.h>

#include "rv/rv_detect.h"
#include "rv_detect_util.h"

static const rv_detector_class_t *const s_detectors[] = {
    &rv_det_crack, &rv_det_corrosion, &rv_det_pit, &rv_det_missing,
    &rv_det_wear,  &rv_det_dimension, NULL};

const rv_detector_class_t *rv_detector_find(const char *name)
{
    for (int i = 0; name && s_detectors[i]; i++)
        if (strcmp(s_detectors[i]->name, name) == 0)
            return s_detectors[i];
    return NULL;
}

const rv_detector_class_t *const *rv_detectors(void)
{
    return s_detectors;
}
