#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error_private.h"

/* One record per thread. Fixed-size buffers: recording an error must never allocate, since
 * it often reports that an allocation failed. Long texts are truncated, not lost silently:
 * the message keeps its start, which names the call and the problem. */
typedef struct reco__error_state {
    uint64_t generation; /* errors recorded on this thread so far */
    int code;
    uint32_t line;
    uint32_t column;
    char message[1024];
    char source[512];
    char field[256];
} reco__error_state;

static _Thread_local reco__error_state tls_error;

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static int error_vset(int code, const char *source, uint32_t line, uint32_t column,
                      const char *field, const char *fmt, va_list ap)
{
    reco__error_state *e = &tls_error;
    e->generation++;
    e->code = code;
    e->line = line;
    e->column = column;
    copy_trunc(e->source, sizeof e->source, source);
    copy_trunc(e->field, sizeof e->field, field);

    size_t used = 0;
    int n = 0;
    if (e->source[0] != '\0') {
        if (line > 0 && column > 0)
            n = snprintf(e->message, sizeof e->message, "%s:%u:%u: ", e->source, line, column);
        else if (line > 0)
            n = snprintf(e->message, sizeof e->message, "%s:%u: ", e->source, line);
        else
            n = snprintf(e->message, sizeof e->message, "%s: ", e->source);
    }
    if (n > 0)
        used = (size_t)n < sizeof e->message ? (size_t)n : sizeof e->message - 1;
    if (e->field[0] != '\0' && used < sizeof e->message) {
        n = snprintf(e->message + used, sizeof e->message - used, "%s: ", e->field);
        if (n > 0)
            used += (size_t)n < sizeof e->message - used ? (size_t)n : sizeof e->message - used - 1;
    }
    if (used < sizeof e->message)
        vsnprintf(e->message + used, sizeof e->message - used, fmt, ap);
    return code;
}

int reco__error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, NULL, 0, 0, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int reco__error_set_at(int code, const char *source, uint32_t line, uint32_t column,
                       const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, source, line, column, field, fmt, ap);
    va_end(ap);
    return code;
}

int reco__check_version(unsigned int version, unsigned int current, const char *what)
{
    if (version < 1 || version > current)
        return reco__error_set(RECO_EVERSION,
                               "%s: version %u is not supported by this libreco "
                               "(accepted: 1..%u)", what, version, current);
    return RECO_OK;
}

int reco_error_get(reco_error_info *out)
{
    /* Does not record its own failures: that would overwrite the error being asked for. */
    if (out == NULL)
        return RECO_EINVAL;
    if (out->version < 1 || out->version > RECO_ERROR_INFO_VERSION)
        return RECO_EVERSION;
    const reco__error_state *e = &tls_error;
    out->code = e->code;
    out->message = e->message;
    out->source = e->source;
    out->line = e->line;
    out->column = e->column;
    out->field = e->field;
    return RECO_OK;
}

const char *reco_error_message(void)
{
    return tls_error.message;
}

int reco_error_code(void)
{
    return tls_error.code;
}

void reco_error_clear(void)
{
    reco__error_state *e = &tls_error;
    e->code = 0;
    e->line = 0;
    e->column = 0;
    e->message[0] = '\0';
    e->source[0] = '\0';
    e->field[0] = '\0';
}

const char *reco_status_name(int code)
{
    switch (code) {
    case RECO_OK: return "RECO_OK";
    case RECO_ERROR: return "RECO_ERROR";
    case RECO_EINVAL: return "RECO_EINVAL";
    case RECO_ENOMEM: return "RECO_ENOMEM";
    case RECO_EIO: return "RECO_EIO";
    case RECO_EFORMAT: return "RECO_EFORMAT";
    case RECO_ECONFIG: return "RECO_ECONFIG";
    case RECO_EVERSION: return "RECO_EVERSION";
    case RECO_ESTATE: return "RECO_ESTATE";
    default: return "RECO_UNKNOWN";
    }
}

const char *reco_status_string(int code)
{
    switch (code) {
    case RECO_OK: return "success";
    case RECO_ERROR: return "error";
    case RECO_EINVAL: return "invalid argument";
    case RECO_ENOMEM: return "out of memory";
    case RECO_EIO: return "input/output error";
    case RECO_EFORMAT: return "malformed input";
    case RECO_ECONFIG: return "invalid configuration";
    case RECO_EVERSION: return "unsupported version";
    case RECO_ESTATE: return "invalid state for this call";
    default: return "unknown status";
    }
}

uint64_t reco__error_generation(void)
{
    return tls_error.generation;
}

int reco__callback_failed(int rc, uint64_t generation, const char *what)
{
    if (tls_error.generation == generation) /* the callback recorded nothing */
        reco__error_set(rc, "%s failed with %s and recorded no message (call reco_error_set() "
                        "before returning an error)", what, reco_status_name(rc));
    return rc;
}

int reco_error_set(int code, const char *message)
{
    if (code >= 0)
        code = RECO_ERROR;
    return reco__error_set(code, "%s", message != NULL ? message : reco_status_string(code));
}
