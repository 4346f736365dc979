/*
 * diag.h - diagnostics on stderr, in one format for every program:
 *
 *     crm-import: orders.csv:12: invalid amount "12,3.4"
 *
 * Messages are lowercase, without a trailing period, with the subject in
 * double quotes. The *_errno variants append ": strerror(errno)". The
 * program name is the only global of the library.
 */
#ifndef CRM_DIAG_H
#define CRM_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdnoreturn.h>

extern const char *crm_progname;

/* Verbosity: 0 quiet (errors only), 1 normal, 2 verbose (-v), 3 debug. */
extern int crm_verbosity;

#define CRM_FMT(a, b) __attribute__((format(printf, a, b)))

void crm_error(const char *fmt, ...) CRM_FMT(1, 2);
void crm_error_errno(const char *fmt, ...) CRM_FMT(1, 2);
/* "prog: FILE:LINE: msg"; line 0 omits the line. */
void crm_error_at(const char *file, long line, const char *fmt, ...) CRM_FMT(3, 4);
void crm_warn(const char *fmt, ...) CRM_FMT(1, 2);
void crm_warn_at(const char *file, long line, const char *fmt, ...) CRM_FMT(3, 4);
/* "prog: msg" for a summary a person wants to see; not with -q. */
void crm_note(const char *fmt, ...) CRM_FMT(1, 2);
/* Printed only with -v. */
void crm_info(const char *fmt, ...) CRM_FMT(1, 2);
noreturn void crm_die(int status, const char *fmt, ...) CRM_FMT(2, 3);
noreturn void crm_die_errno(int status, const char *fmt, ...) CRM_FMT(2, 3);
void crm_vreport(const char *file, long line, const char *kind,
		 const char *fmt, va_list ap, int errnum);

/* Called by crm_die() and crm_die_errno() after their message and before
 * exit(), when set: a program in the middle of a write transaction says
 * there what the failure leaves stored (exit rolls the transaction back).
 * Set it when the transaction begins, clear it once it is committed. */
extern void (*crm_die_hook)(void);

/*
 * Values from the input in diagnostics. A diagnostic about a bad value
 * names the file, the line, the column and the reason, and shows at most a
 * safe rendering of the value, never the value itself when it may be
 * personal data:
 *
 * - personal (the value of a column of personal data: e-mail, phone,
 *   names, birthday, address, attributes): only its length,
 *   "(12 characters)";
 * - any other value that looks like an e-mail address (it has an '@') is
 *   masked, "\"j***@e***.com\"", and one that looks like a phone number
 *   (7 digits or more) is only its length;
 * - everything else in double quotes, at most DIAG_VALUE_MAX characters
 *   (then "..."), with control characters (C0, DEL, C1) escaped as \r,
 *   \n, \t or \xNN, a backslash or quote as \\ and \", and bytes
 *   that are not UTF-8 as \xNN.
 *
 * diag_name() is the same for a column name, without the quotes (and
 * without escaping backslashes and quotes), up to DIAG_NAME_MAX
 * characters. Whatever a message holds, crm_vreport()
 * escapes the control characters left in it (a file name, say): no
 * diagnostic ever writes a raw ESC, CR or LF to the terminal.
 */
struct sb;
#define DIAG_VALUE_MAX 32
#define DIAG_NAME_MAX 64
void diag_value(struct sb *sb, const char *v, size_t n, int personal);
void diag_name(struct sb *sb, const char *v, size_t n);

/* Exit statuses shared by every program. */
enum {
	CRM_EXIT_OK = 0,
	CRM_EXIT_FAIL = 1,
	CRM_EXIT_USAGE = 2,
	CRM_EXIT_PARTIAL = 3, /* done, but some input rows were rejected */
};

#endif
