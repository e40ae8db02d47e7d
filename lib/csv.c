/* CSV machinery shared by logs and item tables; the contract is in csv_private.h.
 *
 * Floats. Reading: the digits are gathered into a 64-bit integer w and a decimal exponent q
 * (value = w * 10^q). When w < 2^53 and |q| <= 22 both w and 10^|q| are exact doubles, so
 * one multiplication or division gives the double nearest the value (Clinger's fast path);
 * rounding that double to float is then the float nearest the value unless the double lies
 * exactly halfway between two floats (double rounding), which is checked. Everything else
 * (more than 19 significant digits, large exponents, subnormals, halfway cases) goes to
 * strtof() under the "C" locale (uselocale, thread-local), which rounds correctly. Writing:
 * for 1..9 significant digits, the nearest decimal of that many digits is formed in double
 * arithmetic and read back with the reader; the first that gives the same float is written,
 * so whatever the formatting arithmetic rounds, the text always reads back exactly (nine
 * digits always do; if even they fail, snprintf's correctly rounded "%.8e" is used). */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_private.h"
#include "csv_private.h"

#define READ_BUF_MIN (256u << 10)
#define EXCERPT 40

int reco__csv_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RECO__CSV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

size_t reco__csv_max_line(size_t n_columns)
{
    const size_t per = n_columns > SIZE_MAX / 128 ? SIZE_MAX / 2 : 64 * n_columns;
    return per > RECO__CSV_MIN_MAX_LINE ? per : RECO__CSV_MIN_MAX_LINE;
}

static uint32_t line32(uint64_t line)
{
    return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

const char *reco__csv_excerpt(char *out, const char *s, size_t n)
{
    const size_t cap = RECO__CSV_EXCERPT_CAP;
    size_t w = 0;
    out[w++] = '"';
    for (size_t i = 0; i < n && i < EXCERPT && w + 6 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            out[w++] = (char)ch;
        } else {
            int k = snprintf(out + w, cap - w, "\\x%02x", ch);
            w += k > 0 ? (size_t)k : 0;
        }
    }
    if (n > EXCERPT && w + 4 < cap) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w++] = '"';
    out[w] = '\0';
    return out;
}

const char *reco__csv_space_hint(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f')
            return " (whitespace is not allowed)";
    return "";
}

static int io_error(const char *path, const char *what, int err)
{
    char msg[256];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "%s: %s", what, msg);
}

/* ---- reading lines --------------------------------------------------------------------- */

int reco__csv_open(reco__csv_reader *r, const reco_allocator *a, const char *path,
                   size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->path = path;
    r->a = a;
    r->max_line = max_line;
    r->cap = max_line <= READ_BUF_MIN / 2 ? READ_BUF_MIN : 2 * max_line + 2;
    r->buf = reco__alloc(a, r->cap, 0);
    if (r->buf == NULL)
        return RECO_ENOMEM;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int rc = io_error(path, "cannot open", errno);
        reco__csv_close(r);
        return rc;
    }
    struct stat st;
    if (fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        reco__csv_close(r);
        return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "is a directory");
    }
    return RECO_OK;
}

void reco__csv_close(reco__csv_reader *r)
{
    if (r->buf != NULL)
        reco__free(r->a, r->buf);
    r->buf = NULL;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

static int fill(reco__csv_reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    while (r->len < r->cap) {
        ssize_t got = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return io_error(r->path, "cannot read", errno);
        if (got == 0)
            r->eof = 1;
        r->len += (size_t)got;
        return RECO_OK;
    }
    return RECO_OK;
}

int reco__csv_next_line(reco__csv_reader *r, const char **line, size_t *len, int *too_long)
{
    *too_long = 0;
    for (;;) {
        char *start = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        char *nl = memchr(start, '\n', avail);
        if (nl != NULL || (r->eof && avail > 0)) {
            size_t n = nl != NULL ? (size_t)(nl - start) : avail;
            r->pos += nl != NULL ? n + 1 : n;
            r->line++;
            if (n > r->max_line)
                *too_long = 1;
            if (*too_long) {
                *line = start;
                *len = 0;
                return 1;
            }
            if (n > 0 && start[n - 1] == '\r')
                n--;
            *line = start;
            *len = n;
            return 1;
        }
        if (r->eof) {
            if (*too_long) {
                r->line++;
                *line = start;
                *len = 0;
                return 1;
            }
            return 0;
        }
        if (avail >= r->max_line) {
            *too_long = 1;
            r->pos = r->len; /* drop what we have of it; keep reading to its end */
        }
        int rc = fill(r);
        if (rc < 0)
            return rc;
    }
}

/* ---- the header ------------------------------------------------------------------------ */

static int header_error(const reco__csv_reader *r, uint32_t col, const char *field,
                        const char *fmt, ...) RECO__PRINTF(4, 5);

static int header_error(const reco__csv_reader *r, uint32_t col, const char *field,
                        const char *fmt, ...)
{
    char expected[1200];
    size_t w = 0;
    expected[0] = '\0';
    for (uint32_t i = 0; i < r->n_columns && w < sizeof expected; i++) {
        int k = snprintf(expected + w, sizeof expected - w, "%s%s", i ? "," : "", r->names[i]);
        w += k > 0 ? (size_t)k : 0;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reco__error_set_at(RECO_EFORMAT, r->path, 1, col, field, "%s (the header must be "
                              "\"%.600s\")", msg, expected);
}

static int find_name(const reco__csv_reader *r, const char *s, size_t n)
{
    for (uint32_t i = 0; i < r->n_columns; i++)
        if (strlen(r->names[i]) == n && memcmp(r->names[i], s, n) == 0)
            return (int)i;
    return -1;
}

/* 1 if the header's fields from byte `from` on include `name`. */
static int later_has(const char *line, size_t len, size_t from, const char *name)
{
    const size_t n = strlen(name);
    while (from <= len) {
        const char *comma = memchr(line + from, ',', len - from);
        size_t end = comma != NULL ? (size_t)(comma - line) : len;
        if (end - from == n && memcmp(line + from, name, n) == 0)
            return 1;
        if (comma == NULL)
            break;
        from = end + 1;
    }
    return 0;
}

static int check_header(const reco__csv_reader *r, const char *line, size_t len, uint32_t col0)
{
    const char *q = memchr(line, '"', len);
    if (q != NULL) {
        uint32_t k = 0;
        for (const char *p = line; p < q; p++)
            k += *p == ',';
        return header_error(r, col0 + (uint32_t)(q - line), k < r->n_columns ? r->names[k] : "",
                            "quoted column names are not supported");
    }
    size_t start = 0;
    uint32_t i = 0;
    char ex[RECO__CSV_EXCERPT_CAP];
    for (;; i++) {
        const char *comma = memchr(line + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - line) : len;
        const char *s = line + start;
        size_t n = end - start;
        uint32_t col = col0 + (uint32_t)start;
        if (i >= r->n_columns)
            return header_error(r, col, "", "unexpected column %s after \"%s\"",
                                reco__csv_excerpt(ex, s, n), r->names[r->n_columns - 1]);
        const char *want = r->names[i];
        if (!(strlen(want) == n && memcmp(want, s, n) == 0)) {
            if (n == 0)
                return header_error(r, col, want, "empty column name where \"%s\" belongs",
                                    want);
            if (later_has(line, len, end + 1, want) && find_name(r, s, n) >= 0)
                return header_error(r, col, want, "columns out of order: expected \"%s\" here, "
                                    "found %s", want, reco__csv_excerpt(ex, s, n));
            if (find_name(r, s, n) >= 0)
                return header_error(r, col, want, "missing column \"%s\" (found %s in its "
                                    "place)", want, reco__csv_excerpt(ex, s, n));
            return header_error(r, col, want, "unknown column %s where \"%s\" belongs",
                                reco__csv_excerpt(ex, s, n), want);
        }
        if (comma == NULL)
            break;
        start = end + 1;
    }
    if (i + 1 < r->n_columns)
        return header_error(r, col0 + (uint32_t)len, r->names[i + 1],
                            "missing column \"%s\" at the end of the header", r->names[i + 1]);
    return RECO_OK;
}

int reco__csv_read_header(reco__csv_reader *r, const char *const *names, uint32_t n)
{
    r->names = names;
    r->n_columns = n;
    const char *line;
    size_t len;
    int too_long;
    int rc = reco__csv_next_line(r, &line, &len, &too_long);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return header_error(r, 1, "", "the file is empty");
    if (too_long)
        return header_error(r, 1, "", "the header line is longer than %zu bytes", r->max_line);
    uint32_t col0 = 1;
    if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
        line += 3;
        len -= 3;
        col0 = 4;
    }
    return check_header(r, line, len, col0);
}

/* ---- rows ------------------------------------------------------------------------------ */

int reco__csv_error(const reco__csv_reader *r, uint32_t col, const char *field,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reco__error_set_at(RECO_EFORMAT, r->path, line32(r->line), col, field, "%s", msg);
}

int reco__csv_split(const reco__csv_reader *r, const char *line, size_t len, size_t *starts,
                    size_t *lens)
{
    const uint32_t E = r->n_columns;
    if (len == 0)
        return reco__csv_error(r, 1, "", "empty line (every line after the header must be a "
                               "row)");
    const char *q = memchr(line, '"', len);
    uint32_t nf = 0;
    size_t start = 0;
    for (;;) {
        const char *comma = memchr(line + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - line) : len;
        if (nf <= E) {
            starts[nf] = start;
            lens[nf] = end - start;
        }
        nf++;
        if (comma == NULL)
            break;
        start = end + 1;
    }
    if (q != NULL) {
        size_t at = (size_t)(q - line);
        uint32_t k = 0;
        while (k + 1 < nf && k + 1 <= E && starts[k + 1] <= at)
            k++;
        return reco__csv_error(r, (uint32_t)at + 1, k < E ? r->names[k] : "",
                               "quoted fields are not supported (values are plain numbers)");
    }
    if (nf < E)
        return reco__csv_error(r, (uint32_t)len + 1, r->names[nf], "expected %u fields, found "
                               "%u", E, nf);
    if (nf > E)
        return reco__csv_error(r, (uint32_t)starts[E] + 1, "", "expected %u fields, found %u "
                               "(an extra field after \"%s\")", E, nf, r->names[E - 1]);
    return RECO_OK;
}

/* ---- numbers --------------------------------------------------------------------------- */

int reco__csv_parse_u64(uint64_t *out, const char *s, size_t n, uint64_t max)
{
    if (n == 0)
        return 1;
    uint64_t v = 0;
    int over = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return 1;
        if (v > (max - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    if (over)
        return 2;
    *out = v;
    return 0;
}

int reco__csv_parse_i64(int64_t *out, const char *s, size_t n)
{
    int neg = n > 0 && s[0] == '-';
    uint64_t v;
    int r = reco__csv_parse_u64(&v, s + neg, n - (size_t)neg,
                                neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX);
    if (r != 0)
        return r;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 0;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* w * 10^q to the nearest float when that is certain from one double operation; returns 1
 * with `*out` set, else 0. */
static int fast_f32(float *out, uint64_t w, int q)
{
    if (w > (UINT64_C(1) << 53) || q < -22 || q > 22)
        return 0;
    double d = (double)w;
    d = q < 0 ? d / pow10_exact[-q] : d * pow10_exact[q];
    if (!(d >= (double)FLT_MIN && d <= (double)FLT_MAX))
        return 0;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    /* Halfway between two floats: the low 29 of the double's 52 fraction bits are 100...0. */
    if ((bits & ((UINT64_C(1) << 29) - 1)) == (UINT64_C(1) << 28))
        return 0;
    *out = (float)d;
    return 1;
}

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* strtof of a NUL-terminated text in our grammar, independent of the caller's locale. */
static float c_strtof(const char *text, int *erange)
{
    pthread_once(&c_locale_once, make_c_locale);
    char buf[RECO__CSV_FLOAT_TEXT_MAX + 1];
    const char *src = text;
    locale_t old = (locale_t)0;
    if (c_locale != (locale_t)0) {
        old = uselocale(c_locale);
    } else {
        /* No locale object (out of memory): spell the point as the current locale does. */
        const struct lconv *lc = localeconv();
        char point = lc != NULL && lc->decimal_point != NULL && lc->decimal_point[0] != '\0' &&
                             lc->decimal_point[1] == '\0'
                         ? lc->decimal_point[0]
                         : '.';
        size_t n = strlen(text);
        if (n > RECO__CSV_FLOAT_TEXT_MAX)
            n = RECO__CSV_FLOAT_TEXT_MAX;
        for (size_t i = 0; i < n; i++)
            buf[i] = text[i] == '.' ? point : text[i];
        buf[n] = '\0';
        src = buf;
    }
    errno = 0;
    float f = strtof(src, NULL);
    *erange = errno == ERANGE;
    if (c_locale != (locale_t)0)
        uselocale(old);
    return f;
}

int reco__csv_parse_f32(float *out, const char *s, size_t n)
{
    if (n > RECO__CSV_FLOAT_TEXT_MAX)
        return 4;
    size_t i = 0;
    const int neg = n > 0 && s[0] == '-';
    i += (size_t)neg;
    uint64_t w = 0;
    int q = 0, sig = 0, digits = 0, inexact = 0, point = 0;
    for (; i < n; i++) {
        const char ch = s[i];
        if (ch == '.') {
            if (point)
                return 1;
            point = 1;
            continue;
        }
        const unsigned d = (unsigned char)ch - (unsigned)'0';
        if (d > 9)
            break;
        digits++;
        if (sig < 19) {
            w = w * 10 + d;
            sig += w != 0;
            q -= point;
        } else {
            q += !point;
            inexact |= d != 0;
        }
    }
    if (digits == 0) {
        /* nan, inf, infinity: recognised to say why they are refused */
        const char *t = s + neg;
        const size_t m = n - (size_t)neg;
        if ((m == 3 && (strncasecmp(t, "nan", 3) == 0 || strncasecmp(t, "inf", 3) == 0)) ||
            (m == 8 && strncasecmp(t, "infinity", 8) == 0))
            return 3;
        return 1;
    }
    if (i < n) {
        if (s[i] != 'e' && s[i] != 'E')
            return 1;
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '-' || s[i] == '+')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i == n)
            return 1;
        int e = 0;
        for (; i < n; i++) {
            const unsigned d = (unsigned char)s[i] - (unsigned)'0';
            if (d > 9)
                return 1;
            if (e < 100000)
                e = e * 10 + (int)d;
        }
        q += eneg ? -e : e;
    }
    float f;
    if (w == 0) {
        f = 0.0f;
    } else if (inexact || !fast_f32(&f, w, q)) {
        char buf[RECO__CSV_FLOAT_TEXT_MAX + 1];
        memcpy(buf, s, n);
        buf[n] = '\0';
        int erange;
        f = c_strtof(buf, &erange);
        if (isinf(f))
            return 2;
        (void)erange; /* underflow: the nearest float (subnormal or zero) is the value */
        *out = f;
        return 0;
    }
    *out = neg ? -f : f;
    return 0;
}

const char *reco__csv_f32_problem(int r)
{
    switch (r) {
    case 2: return "is out of the float range";
    case 3: return "is not a finite number";
    case 4: return "is not a number (longer than 127 characters)";
    default: return "is not a number";
    }
}

/* ---- formatting ------------------------------------------------------------------------ */

size_t reco__csv_format_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

size_t reco__csv_format_i64(char *p, int64_t v)
{
    if (v < 0) {
        p[0] = '-';
        return 1 + reco__csv_format_u64(p + 1, (uint64_t)0 - (uint64_t)v);
    }
    return reco__csv_format_u64(p, (uint64_t)v);
}

static const uint64_t pow10_u64[10] = {1u,      10u,      100u,      1000u,      10000u,
                                       100000u, 1000000u, 10000000u, 100000000u, 1000000000u};

/* d * 10^j, in at most two roundings. */
static double scale10(double d, int j)
{
    while (j > 22) {
        d *= 1e22;
        j -= 22;
    }
    while (j < -22) {
        d /= 1e22;
        j += 22;
    }
    return j >= 0 ? d * pow10_exact[j] : d / pow10_exact[-j];
}

/* The value of D * 10^e as a float, as the reader would read its text. */
static float read_back(uint64_t D, int e)
{
    float f;
    if (fast_f32(&f, D, e))
        return f;
    char buf[48];
    snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)D, e);
    int erange;
    return c_strtof(buf, &erange);
}

/* Text of D (nd digits, no trailing zeros) * 10^e. */
static size_t emit(char *p, uint64_t D, int e)
{
    char dig[20];
    size_t nd = reco__csv_format_u64(dig, D);
    const int X = e + (int)nd - 1; /* exponent of the first digit */
    size_t w = 0;
    if (X < -5 || X > 8) {
        p[w++] = dig[0];
        if (nd > 1) {
            p[w++] = '.';
            memcpy(p + w, dig + 1, nd - 1);
            w += nd - 1;
        }
        p[w++] = 'e';
        w += reco__csv_format_i64(p + w, X);
    } else if (e >= 0) {
        memcpy(p, dig, nd);
        w = nd;
        for (int k = 0; k < e; k++)
            p[w++] = '0';
    } else if (X >= 0) {
        memcpy(p, dig, (size_t)X + 1);
        w = (size_t)X + 1;
        p[w++] = '.';
        memcpy(p + w, dig + X + 1, nd - (size_t)X - 1);
        w += nd - (size_t)X - 1;
    } else {
        p[w++] = '0';
        p[w++] = '.';
        for (int k = 0; k < -X - 1; k++)
            p[w++] = '0';
        memcpy(p + w, dig, nd);
        w += nd;
    }
    return w;
}

size_t reco__csv_format_f32(char *p, float v)
{
    size_t w = 0;
    if (signbit(v)) {
        p[w++] = '-';
        v = -v;
    }
    if (v == 0.0f) {
        p[w++] = '0';
        return w;
    }
    const double d = (double)v;
    int k = (int)floor(log10(d)); /* 10^k <= d < 10^(k+1), give or take one */
    uint64_t D = 0;
    int e = 0, found = 0;
    for (int prec = 1; prec <= 9 && !found; prec++) {
        for (int tries = 0; tries < 3; tries++) {
            e = k - prec + 1;
            D = (uint64_t)llround(scale10(d, -e));
            if (D >= pow10_u64[prec]) {
                k++;
                continue;
            }
            if (D < pow10_u64[prec - 1]) {
                k--;
                continue;
            }
            break;
        }
        found = D > 0 && read_back(D, e) == v;
    }
    if (!found) {
        /* snprintf rounds correctly, and nine significant digits identify any float. */
        char buf[48];
        pthread_once(&c_locale_once, make_c_locale);
        locale_t old = (locale_t)0;
        if (c_locale != (locale_t)0)
            old = uselocale(c_locale);
        snprintf(buf, sizeof buf, "%.8e", d);
        if (c_locale != (locale_t)0)
            uselocale(old);
        D = 0;
        const char *t = buf;
        for (; *t != 'e' && *t != '\0'; t++)
            if (*t >= '0' && *t <= '9')
                D = D * 10 + (uint64_t)(*t - '0');
        e = (*t == 'e' ? atoi(t + 1) : 0) - 8;
    }
    while (D % 10 == 0) {
        D /= 10;
        e++;
    }
    return w + emit(p + w, D, e);
}

/* ---- writing --------------------------------------------------------------------------- */

#define WRITE_BUF (64u << 10)

int reco__csv_writer_open(reco__csv_writer *w, const reco_allocator *a, const char *path)
{
    memset(w, 0, sizeof *w);
    w->a = a;
    w->cap = WRITE_BUF;
    w->buf = reco__alloc(a, w->cap, 0);
    if (w->buf == NULL)
        return RECO_ENOMEM;
    int rc = reco__atomic_open(&w->f, a, path);
    if (rc < 0) {
        reco__free(a, w->buf);
        w->buf = NULL;
    }
    return rc;
}

void reco__csv_flush(reco__csv_writer *w)
{
    if (w->n > 0 && w->err == 0)
        w->err = reco__write_all(w->f.fd, w->buf, w->n);
    w->n = 0;
}

void reco__csv_put(reco__csv_writer *w, const char *s, size_t n)
{
    if (w->cap - w->n < n)
        reco__csv_flush(w);
    if (n > w->cap) {
        if (w->err == 0)
            w->err = reco__write_all(w->f.fd, s, n);
        return;
    }
    memcpy(w->buf + w->n, s, n);
    w->n += n;
}

int reco__csv_writer_commit(reco__csv_writer *w, const char *what)
{
    reco__csv_flush(w);
    int rc = reco__atomic_commit(&w->f, w->err, what);
    reco__free(w->a, w->buf);
    w->buf = NULL;
    return rc;
}

/* ---- rejections ------------------------------------------------------------------------ */

int reco__csv_reject(const reco_allocator *a, reco__csv_rejects *r, uint64_t rows)
{
    r->n_rows += rows;
    if (r->n >= r->cap)
        return RECO_OK;
    if (r->entries == NULL) {
        r->entries = reco__calloc(a, r->cap, sizeof *r->entries);
        if (r->entries == NULL)
            return RECO_ENOMEM;
    }
    reco_error_info info = RECO_ERROR_INFO_INIT;
    reco_error_get(&info);
    reco__csv_rejection *e = &r->entries[r->n];
    e->code = info.code;
    e->line = info.line;
    e->column = info.column;
    snprintf(e->field, sizeof e->field, "%s", info.field);
    e->message = reco__strdup(a, info.message);
    if (e->message == NULL)
        return RECO_ENOMEM;
    r->n++;
    return RECO_OK;
}

void reco__csv_rejects_free(const reco_allocator *a, reco__csv_rejects *r)
{
    for (size_t i = 0; i < r->n; i++)
        reco__free(a, r->entries[i].message);
    reco__free(a, r->entries);
    memset(r, 0, sizeof *r);
}

int reco__csv_rejection_get(reco_error_info *out, const reco__csv_rejects *r,
                            const char *source, size_t i, const char *fn)
{
    int rc = reco__check_version(out->version, RECO_ERROR_INFO_VERSION, "reco_error_info");
    if (rc < 0)
        return rc;
    if (i >= r->n)
        return reco__error_set(RECO_EINVAL, "%s: rejection %zu is out of range (%zu kept)", fn,
                               i, r->n);
    const reco__csv_rejection *e = &r->entries[i];
    out->code = e->code;
    out->message = e->message;
    out->source = source != NULL ? source : "";
    out->line = e->line;
    out->column = e->column;
    out->field = e->field;
    return RECO_OK;
}
