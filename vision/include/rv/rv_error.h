/* rv_error.h - status codes and the per-thread error message of the vision library.
 *
 * Every fallible function returns 0 (RV_OK) or a negative rv_status, or NULL for
 * constructors; rv_last_error() then says "domain: detail" for the last failure in
 * the calling thread. The other libraries (models, app) reuse this module.
 * Thread-safety: the message is thread-local; the functions are reentrant. */
#ifndef RV_ERROR_H
#define RV_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_status {
    RV_OK = 0,
    RV_EINVAL = -1,   /* bad argument: size, format, range */
    RV_ENOMEM = -2,   /* allocation failed */
    RV_EIO = -3,      /* file or device I/O */
    RV_EFORMAT = -4,  /* corrupt or unsupported data (image, model, message) */
    RV_EBACKEND = -5, /* OpenCV, TurboJPEG or another library reported a failure */
    RV_ELIMIT = -6,   /* input exceeds a configured limit (pixels, bytes) */
    RV_ECANCELED = -7 /* the caller asked to stop */
} rv_status;

/* Static text for a status code. */
const char *rv_strerror(int status);

/* "domain: detail" of the last failure in this thread ("" when none). Borrowed,
 * valid until the next failing call in this thread. */
const char *rv_last_error(void);

void rv_clear_error(void);

/* Record a failure and return code, so call sites read
 *   return rv_fail(RV_EFORMAT, "rv_jpeg_decode", "truncated at byte %zu", n); */
int rv_fail(int code, const char *domain, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
