#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "uwidth.h"

const char *crm_progname = "crm";
int crm_verbosity = 1;
void (*crm_die_hook)(void);

static void die_hook(void)
{
	void (*fn)(void) = crm_die_hook;

	crm_die_hook = NULL; /* once, even when it dies itself */
	if (fn)
		fn();
}

/* ---- values in diagnostics (diag.h) ---- */

/* Length of the UTF-8 sequence at s[0..n), 0 when it is not one. */
static size_t u8_len(const unsigned char *s, size_t n)
{
	uint32_t c;

	return uwidth_decode(s, n, &c);
}

/* Characters (UTF-8 sequences, or bytes that are not one) in s[0..n). */
static size_t u8_count(const char *s, size_t n)
{
	size_t i = 0, k = 0, l;

	while (i < n) {
		l = u8_len((const unsigned char *)s + i, n - i);
		i += l ? l : 1;
		k++;
	}
	return k;
}

/* s[0..n) escaped, at most max characters (then "..."); in quotes, a
 * backslash and a quote too. */
static void escaped(struct sb *sb, const char *s, size_t n, size_t max, int quote)
{
	size_t i = 0, k = 0, l;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (k++ == max) {
			sb_adds(sb, "...");
			return;
		}
		l = u8_len((const unsigned char *)s + i, n - i);
		if (quote && (c == '\\' || c == '"')) {
			sb_addc(sb, '\\');
			sb_addc(sb, (char)c);
		} else if (c == '\r') {
			sb_adds(sb, "\\r");
		} else if (c == '\n') {
			sb_adds(sb, "\\n");
		} else if (c == '\t') {
			sb_adds(sb, "\\t");
		} else if (c < 0x20 || c == 0x7f || !l ||
			   (c == 0xc2 && (unsigned char)s[i + 1] <= 0x9f)) {
			/* a control character, or not UTF-8: byte by byte */
			size_t m = l ? l : 1;
			for (size_t j = 0; j < m; j++)
				sb_addf(sb, "\\x%02x", (unsigned char)s[i + j]);
			i += m;
			continue;
		} else {
			sb_add(sb, s + i, l);
			i += l;
			continue;
		}
		i++;
	}
}

static int looks_like_phone(const char *s, size_t n)
{
	size_t digits = 0;

	for (size_t i = 0; i < n; i++)
		digits += s[i] >= '0' && s[i] <= '9';
	return digits >= 7;
}

static int alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "john.doe@example.com" -> "j***@e***.com" */
static void masked_email(struct sb *sb, const char *s, size_t n, const char *at)
{
	const char *d = at + 1, *e = s + n, *dot = NULL;

	sb_addc(sb, n && alnum((unsigned char)s[0]) && s != at ? s[0] : '*');
	sb_adds(sb, "***@");
	sb_addc(sb, d < e && alnum((unsigned char)*d) ? *d : '*');
	sb_adds(sb, "***");
	for (const char *p = d; p < e; p++)
		if (*p == '.')
			dot = p;
	if (dot) {
		size_t tl = (size_t)(e - dot - 1), i;
		for (i = 0; i < tl && ((dot[1 + i] >= 'a' && dot[1 + i] <= 'z') ||
				       (dot[1 + i] >= 'A' && dot[1 + i] <= 'Z')); i++)
			;
		if (tl >= 2 && tl <= 6 && i == tl) {
			sb_add(sb, dot, tl + 1);
		} else {
			sb_adds(sb, ".***");
		}
	}
}

static void safe(struct sb *sb, const char *v, size_t n, size_t max, int quote)
{
	const char *at = memchr(v, '@', n);

	if (at) {
		if (quote)
			sb_addc(sb, '"');
		masked_email(sb, v, n, at);
		if (quote)
			sb_addc(sb, '"');
	} else if (looks_like_phone(v, n)) {
		sb_addf(sb, "(%zu characters)", u8_count(v, n));
	} else {
		if (quote)
			sb_addc(sb, '"');
		escaped(sb, v, n, max, quote);
		if (quote)
			sb_addc(sb, '"');
	}
}

void diag_value(struct sb *sb, const char *v, size_t n, int personal)
{
	if (personal)
		sb_addf(sb, "(%zu characters)", u8_count(v, n));
	else
		safe(sb, v, n, DIAG_VALUE_MAX, 1);
}

void diag_name(struct sb *sb, const char *v, size_t n)
{
	safe(sb, v, n, DIAG_NAME_MAX, 0);
}

/* ---- reports ---- */

/* Writes msg[0..n) to stderr with its control characters escaped. */
static void write_escaped(const char *msg, size_t n)
{
	char out[4 * 4096 + 8];
	size_t k = 0;

	for (size_t i = 0; i < n && k + 8 < sizeof(out); i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < n && (unsigned char)msg[i + 1] >= 0x80 &&
		     (unsigned char)msg[i + 1] <= 0x9f)) {
			k += (size_t)snprintf(out + k, sizeof(out) - k, "\\x%02x", c);
			if (c == 0xc2)
				k += (size_t)snprintf(out + k, sizeof(out) - k, "\\x%02x",
						      (unsigned char)msg[++i]);
		} else {
			out[k++] = (char)c;
		}
	}
	out[k++] = '\n';
	fwrite(out, 1, k, stderr);
}

void crm_vreport(const char *file, long line, const char *kind,
		 const char *fmt, va_list ap, int errnum)
{
	char msg[4096];
	int n = 0;

	fflush(stdout);
	n += snprintf(msg + n, sizeof(msg) - n, "%s: ", crm_progname);
	if (file && line > 0)
		n += snprintf(msg + n, sizeof(msg) - n, "%s:%ld: ", file, line);
	else if (file)
		n += snprintf(msg + n, sizeof(msg) - n, "%s: ", file);
	if (kind && (size_t)n < sizeof(msg))
		n += snprintf(msg + n, sizeof(msg) - n, "%s: ", kind);
	if ((size_t)n < sizeof(msg))
		n += vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	if (errnum && (size_t)n < sizeof(msg))
		n += snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	if ((size_t)n >= sizeof(msg) - 1)
		n = sizeof(msg) - 2;
	write_escaped(msg, (size_t)n);
}

#define REPORT(file, line, kind, err)                          \
	do {                                                    \
		va_list ap;                                     \
		va_start(ap, fmt);                              \
		crm_vreport(file, line, kind, fmt, ap, err);    \
		va_end(ap);                                     \
	} while (0)

void crm_error(const char *fmt, ...)
{
	REPORT(NULL, 0, NULL, 0);
}

void crm_error_errno(const char *fmt, ...)
{
	int e = errno;
	REPORT(NULL, 0, NULL, e);
}

void crm_error_at(const char *file, long line, const char *fmt, ...)
{
	REPORT(file, line, NULL, 0);
}

void crm_warn(const char *fmt, ...)
{
	if (crm_verbosity >= 1)
		REPORT(NULL, 0, "warning", 0);
}

void crm_warn_at(const char *file, long line, const char *fmt, ...)
{
	if (crm_verbosity >= 1)
		REPORT(file, line, "warning", 0);
}

void crm_note(const char *fmt, ...)
{
	if (crm_verbosity >= 1)
		REPORT(NULL, 0, NULL, 0);
}

void crm_info(const char *fmt, ...)
{
	if (crm_verbosity >= 2)
		REPORT(NULL, 0, NULL, 0);
}

void crm_die(int status, const char *fmt, ...)
{
	REPORT(NULL, 0, NULL, 0);
	die_hook();
	exit(status);
}

void crm_die_errno(int status, const char *fmt, ...)
{
	int e = errno;
	REPORT(NULL, 0, NULL, e);
	die_hook();
	exit(status);
}
