/* rm.h - the models library in one include: part families, the grader, the registry. */
#ifndef RM_H
#define RM_H

#include "rm/rm_family.h"
#include "rm/rm_grade.h"
#include "rm/rm_registry.h"

#endif
