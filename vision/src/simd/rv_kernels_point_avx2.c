/* placeholder: replaced by the real point kernels for avx2 */
#include "rv_kernels.h"
void rv__point_fill_avx2(rv_point_kernels_t *k)
{
    (void) k;
}
