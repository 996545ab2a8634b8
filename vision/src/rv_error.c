/* rv_error.c - thread-local "domain: detail" messages behind rv_status codes. */
#include "rv/rv_error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char s_errbuf[512];

const char *rv_strerror(int status)
{
    switch (status) {
    case RV_OK: return "ok";
    case RV_EINVAL: return "invalid argument";
    case RV_ENOMEM: return "out of memory";
    case RV_EIO: return "input/output error";
    case RV_EFORMAT: return "corrupt or unsupported data";
    case RV_EBACKEND: return "backend library failure";
    case RV_ELIMIT: return "limit exceeded";
    case RV_ECANCELED: return "canceled";
    default: return "unknown status";
    }
}

const char *rv_last_error(void)
{
    return s_errbuf;
}

void rv_clear_error(void)
{
    s_errbuf[0] = '\0';
}

int rv_fail(int code, const char *domain, const char *fmt, ...)
{
    int n = snprintf(s_errbuf, sizeof s_errbuf, "%s: ", domain ? domain : "reman");
    if (n < 0 || (size_t) n >= sizeof s_errbuf)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_errbuf + n, sizeof s_errbuf - (size_t) n, fmt, ap);
    va_end(ap);
    return code;
}
