/* ra_version.h - the software version that goes into every decision and --version. */
#ifndef RA_VERSION_H
#define RA_VERSION_H

/* "reman-station X.Y.Z" */
const char *ra_version(void);

#endif
