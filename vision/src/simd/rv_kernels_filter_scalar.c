/* placeholder: replaced by the real filter kernels for scalar */
#include "rv_kernels.h"
void rv__filter_fill_scalar(rv_filter_kernels_t *k)
{
    (void) k;
}
