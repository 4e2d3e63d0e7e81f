// The one place forgetlens touches OpenBLAS's C interface.
// cblas.h comes from libopenblas-dev. LAPACK has no C header in that package that we can rely on
// (lapacke is a separate package), so the few Fortran entry points we call are declared here.
// Debian's libopenblas exports the reference LAPACK symbols with a trailing underscore.
#ifndef FORGETLENS_COPENBLAS_SHIM_H
#define FORGETLENS_COPENBLAS_SHIM_H
#include <cblas.h>

typedef int lapack_int;

void sgesdd_(const char *jobz, const lapack_int *m, const lapack_int *n, float *a, const lapack_int *lda,
             float *s, float *u, const lapack_int *ldu, float *vt, const lapack_int *ldvt,
             float *work, const lapack_int *lwork, lapack_int *iwork, lapack_int *info);
void dgesdd_(const char *jobz, const lapack_int *m, const lapack_int *n, double *a, const lapack_int *lda,
             double *s, double *u, const lapack_int *ldu, double *vt, const lapack_int *ldvt,
             double *work, const lapack_int *lwork, lapack_int *iwork, lapack_int *info);
void sgesvd_(const char *jobu, const char *jobvt, const lapack_int *m, const lapack_int *n, float *a,
             const lapack_int *lda, float *s, float *u, const lapack_int *ldu, float *vt,
             const lapack_int *ldvt, float *work, const lapack_int *lwork, lapack_int *info);
void dgeqrf_(const lapack_int *m, const lapack_int *n, double *a, const lapack_int *lda, double *tau,
             double *work, const lapack_int *lwork, lapack_int *info);
void dorgqr_(const lapack_int *m, const lapack_int *n, const lapack_int *k, double *a, const lapack_int *lda,
             const double *tau, double *work, const lapack_int *lwork, lapack_int *info);
void dsyevd_(const char *jobz, const char *uplo, const lapack_int *n, double *a, const lapack_int *lda,
             double *w, double *work, const lapack_int *lwork, lapack_int *iwork, const lapack_int *liwork,
             lapack_int *info);
void dsyevd_2stage_(const char *jobz, const char *uplo, const lapack_int *n, double *a, const lapack_int *lda,
                    double *w, double *work, const lapack_int *lwork, lapack_int *iwork,
                    const lapack_int *liwork, lapack_int *info);
void dsyev_2stage_(const char *jobz, const char *uplo, const lapack_int *n, double *a, const lapack_int *lda,
                   double *w, double *work, const lapack_int *lwork, lapack_int *info);
void ssyevd_(const char *jobz, const char *uplo, const lapack_int *n, float *a, const lapack_int *lda,
             float *w, float *work, const lapack_int *lwork, lapack_int *iwork, const lapack_int *liwork,
             lapack_int *info);

#endif
