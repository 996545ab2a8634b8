/* rv_linalg.h - small dense linear algebra shared inside vision (not installed). */
#ifndef RV_LINALG_H
#define RV_LINALG_H

/* The whitening matrix of a d x d covariance (row-major): its Cholesky factor L, then
 * W = L^-1 (lower triangular, row-major into W; L is scratch of d x d). RV_EFORMAT, the
 * message naming the pivot, when the covariance is not positive definite. */
int rv_linalg_whiten(const double *cov, int d, double *L, double *W, const char *domain);

#endif
