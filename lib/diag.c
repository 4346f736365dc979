#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	msg[n++] = '\n';
	fwrite(msg, 1, n, stderr);
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
