/* placeholder: replaced by the real point kernels for scalar */
#include "rv_kernels.h"
void rv__point_fill_scalar(rv_point_kernels_t *k)
{
    (void) k;
}
