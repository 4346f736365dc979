#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"

char sb_empty[1];

static void oom(void)
{
	crm_die(1, "out of memory");
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xgrow(void *p, size_t size, size_t need, size_t *cap)
{
	size_t c = *cap;
	if (need <= c)
		return p;
	if (c < 8)
		c = 8;
	while (c < need) {
		if (c > SIZE_MAX / 2 / size)
			oom();
		c *= 2;
	}
	*cap = c;
	return xrealloc(p, c * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void sb_init(struct sb *sb)
{
	sb->buf = sb_empty;
	sb->len = sb->cap = 0;
}

void sb_free(struct sb *sb)
{
	if (sb->cap)
		free(sb->buf);
	sb_init(sb);
}

void sb_reset(struct sb *sb)
{
	sb->len = 0;
	if (sb->cap)
		sb->buf[0] = 0;
}

void sb_grow(struct sb *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	if (need < sb->len)
		oom();
	if (!sb->cap) {
		sb->buf = NULL;
	}
	sb->buf = xgrow(sb->buf, 1, need, &sb->cap);
	sb->buf[sb->len] = 0;	/* buf is always a string, even before any sb_add */
}

void sb_add(struct sb *sb, const void *data, size_t n)
{
	sb_grow(sb, n);
	if (n)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

void sb_adds(struct sb *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_addc(struct sb *sb, int c)
{
	sb_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = 0;
}

void sb_vaddf(struct sb *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	sb_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		crm_die(1, "formatting error");
	if ((size_t)n >= sb->cap - sb->len) {
		sb_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sb_addf(struct sb *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

char *sb_detach(struct sb *sb)
{
	char *s = sb->cap ? sb->buf : xstrdup("");
	sb_init(sb);
	return s;
}

int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);
		if (ca != cb || !ca)
			return ca - cb;
	}
}

int ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);
		if (ca != cb || !ca)
			return ca - cb;
	}
	return 0;
}

const char *trim(const char *s, size_t *len)
{
	size_t n = *len;
	for (;;) {
		if (n && ascii_isspace((unsigned char)*s)) {
			s++, n--;
		} else if (n >= 2 && (unsigned char)s[0] == 0xc2 &&
			   (unsigned char)s[1] == 0xa0) {
			s += 2, n -= 2;
		} else {
			break;
		}
	}
	for (;;) {
		if (n && ascii_isspace((unsigned char)s[n - 1])) {
			n--;
		} else if (n >= 2 && (unsigned char)s[n - 2] == 0xc2 &&
			   (unsigned char)s[n - 1] == 0xa0) {
			n -= 2;
		} else {
			break;
		}
	}
	*len = n;
	return s;
}

int utf8_valid(const char *str, size_t len, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			goto fail;
		if (len - i <= n)
			goto fail;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += n + 1;
	}
	return 1;
fail:
	if (bad)
		*bad = i;
	return 0;
}

size_t utf8_width(const char *s, size_t len)
{
	size_t w = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

int parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || ascii_isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

double now_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

FILE *fopen_private(const char *path, int append)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
	struct stat sb;
	FILE *fp;
	int e;

	if (fd < 0)
		return NULL;
	/* only a file of its own: /dev/null, a pipe or a terminal keep their
	 * mode (as root, fchmod would make /dev/null unusable to others) */
	if (fstat(fd, &sb) == 0 && (!S_ISREG(sb.st_mode) || fchmod(fd, 0600) == 0) &&
	    (fp = fdopen(fd, append ? "a" : "w")))
		return fp;
	e = errno;
	close(fd);
	errno = e;
	return NULL;
}

void sb_add_html(struct sb *sb, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': sb_adds(sb, "&lt;"); break;
		case '>': sb_adds(sb, "&gt;"); break;
		case '&': sb_adds(sb, "&amp;"); break;
		case '"': sb_adds(sb, "&quot;"); break;
		case '\'': sb_adds(sb, "&#39;"); break;
		default: sb_addc(sb, *s);
		}
	}
}

int bitmap_set(unsigned char **map, size_t *bytes, uint64_t i)
{
	size_t byte = (size_t)(i / 8);
	unsigned bit = 1u << (i % 8);

	if (byte >= *bytes) {
		size_t n = *bytes ? *bytes : 4096;
		while (n <= byte)
			n *= 2;
		*map = xrealloc(*map, n);
		memset(*map + *bytes, 0, n - *bytes);
		*bytes = n;
	}
	if ((*map)[byte] & bit)
		return 0;
	(*map)[byte] |= (unsigned char)bit;
	return 1;
}

/* Optimal string alignment distance (edits and transpositions). */
size_t str_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[34][34];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* One edit for short words, two for longer ones; none for one or two
 * letters, where everything is one edit away. */
int str_close_enough(const char *word, size_t dist)
{
	size_t n = strlen(word);

	return n > 2 && dist <= (n <= 4 ? 1u : 2u);
}

/* The closest of names (NULL-terminated) to word, when close enough. */
const char *str_suggest(const char *word, const char *const *names)
{
	const char *best = NULL;
	size_t bd = 99;

	for (size_t i = 0; names[i]; i++) {
		size_t dd = str_distance(word, names[i]);

		if (dd < bd) {
			bd = dd;
			best = names[i];
		}
	}
	return best && str_close_enough(word, bd) ? best : NULL;
}
