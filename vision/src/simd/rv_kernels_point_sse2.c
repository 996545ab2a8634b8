/* placeholder: replaced by the real point kernels for sse2 */
#include "rv_kernels.h"
void rv__point_fill_sse2(rv_point_kernels_t *k)
{
    (void) k;
}
