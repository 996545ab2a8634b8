/* ra_version.c - the software version string. */
#include "ra/ra_version.h"

#ifndef RS_VERSION
#define RS_VERSION "0.0.0"
#endif

const char *ra_version(void)
{
    return "reman-station " RS_VERSION;
}
