/*
 * util.h - allocation that cannot fail silently, and a growable string.
 *
 * The x* allocators print "PROGNAME: out of memory" and exit 1 instead of
 * returning NULL, so callers never test for it.
 *
 * struct sb is a byte buffer that is always NUL-terminated (buf is never
 * NULL once sb_init or SB_INIT has run) and may hold embedded NUL bytes;
 * len does not count the terminator.
 */
#ifndef CRM_UTIL_H
#define CRM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows *p (holding *cap elements of size) so that it can hold need. */
void *xgrow(void *p, size_t size, size_t need, size_t *cap);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

struct sb {
	char *buf;
	size_t len, cap;
};

extern char sb_empty[];
#define SB_INIT { sb_empty, 0, 0 }

void sb_init(struct sb *sb);
void sb_free(struct sb *sb);
/* Empties the buffer, keeping its memory. */
void sb_reset(struct sb *sb);
void sb_grow(struct sb *sb, size_t extra);
void sb_add(struct sb *sb, const void *data, size_t n);
void sb_adds(struct sb *sb, const char *s);
void sb_addc(struct sb *sb, int c);
void sb_addf(struct sb *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_vaddf(struct sb *sb, const char *fmt, va_list ap);
/* Appends s escaped for HTML and XML text and attributes (< > & " '). */
void sb_add_html(struct sb *sb, const char *s);
/* Detaches and returns the string; the buffer is left empty. */
char *sb_detach(struct sb *sb);

/* ASCII-only helpers: locale independent. */
int ascii_casecmp(const char *a, const char *b);
int ascii_ncasecmp(const char *a, const char *b, size_t n);
static inline int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static inline int ascii_upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }
static inline int ascii_isdigit(int c) { return c >= '0' && c <= '9'; }
static inline int ascii_isalpha(int c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static inline int ascii_isspace(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Removes leading and trailing ASCII white space (and UTF-8 no-break
 * space U+00A0) from s[0..*len); returns the new start. */
const char *trim(const char *s, size_t *len);

/* Returns 1 when s[0..len) is valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF); otherwise 0 and *bad is the offset of the first
 * invalid byte. */
int utf8_valid(const char *s, size_t len, size_t *bad);
/* Number of code points in valid UTF-8 text (display width estimate). */
size_t utf8_width(const char *s, size_t len);

/* Parses a whole decimal integer; 0 on success. */
int parse_int64(const char *s, int64_t *out);
/* Sets bit i of the bitmap *map of *bytes bytes, grown (zeroed) to hold
 * it; returns whether the bit was clear. */
int bitmap_set(unsigned char **map, size_t *bytes, uint64_t i);

/* Monotonic clock in seconds. */
double now_monotonic(void);
/* Sleeps s seconds (fractions allowed), resuming after signals. */
void sleep_seconds(double s);

/* Opens path for writing (appending when append, else truncated) as a file
 * only its owner can read: created 0600, and an existing regular file set
 * to 0600 too (it may hold personal data); a device or a FIFO keeps its
 * mode. NULL with errno on failure. */
FILE *fopen_private(const char *path, int append);

/* Did you mean: the optimal string alignment distance (edits and
 * transpositions; 99 past 32 bytes), whether a distance is close enough
 * for a word (one edit for short words, two for longer, none for one or
 * two letters), and the closest of names (NULL-terminated) or NULL. */
size_t str_distance(const char *a, const char *b);
int str_close_enough(const char *word, size_t dist);
const char *str_suggest(const char *word, const char *const *names);

#endif
