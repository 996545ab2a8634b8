/* rv_linalg.c - see rv_linalg.h. */
#include "rv_linalg.h"

#include <math.h>
#include <string.h>

#include "rv/rv_error.h"

int rv_linalg_whiten(const double *cov, int d, double *L, double *W, const char *domain)
{
    memset(L, 0, (size_t) d * (size_t) d * sizeof *L);
    memset(W, 0, (size_t) d * (size_t) d * sizeof *W);
    for (int i = 0; i < d; i++) {
        for (int j = 0; j <= i; j++) {
            double s = cov[(size_t) i * d + j];
            for (int k = 0; k < j; k++)
                s -= L[(size_t) i * d + k] * L[(size_t) j * d + k];
            if (i == j) {
                if (!(s > 1e-12) || !isfinite(s))
                    return rv_fail(RV_EFORMAT, domain,
                                   "covariance is not positive definite (pivot %d = %g)", i, s);
                L[(size_t) i * d + i] = sqrt(s);
            } else {
                L[(size_t) i * d + j] = s / L[(size_t) j * d + j];
            }
        }
    }
    /* W = L^-1 by forward substitution, column by column */
    for (int c = 0; c < d; c++) {
        for (int i = c; i < d; i++) {
            double s = i == c ? 1.0 : 0.0;
            for (int k = c; k < i; k++)
                s -= L[(size_t) i * d + k] * W[(size_t) k * d + c];
            W[(size_t) i * d + c] = s / L[(size_t) i * d + i];
        }
    }
    return RV_OK;
}
