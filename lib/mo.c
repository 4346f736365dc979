/*
 * mo.c - GNU gettext .mo catalogues (see mo.h).
 */
#include "mo.h"

#define MO_MAGIC 0x950412deu

static uint32_t word(const struct mo *m, size_t off)
{
	const unsigned char *b = m->p + off;

	if (m->swap)
		return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		       (uint32_t)b[2] << 8 | b[3];
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[1] << 8 | b[0];
}

int mo_open(struct mo *m, const void *buf, size_t n)
{
	uint64_t need;

	m->p = buf;
	m->n = n;
	m->swap = 0;
	if (n < 28)
		return -1;
	if (word(m, 0) != MO_MAGIC) {
		m->swap = 1;
		if (word(m, 0) != MO_MAGIC)
			return -1;
	}
	if (word(m, 4) >> 16)	/* major revision: only 0 exists */
		return -1;
	m->count = word(m, 8);
	m->otab = word(m, 12);
	m->ttab = word(m, 16);
	need = (uint64_t)m->count * 8;
	if ((uint64_t)m->otab + need > n || (uint64_t)m->ttab + need > n)
		return -1;
	return 0;
}

/* The string of the table entry at off: length, offset, and a NUL after. */
static int entry(const struct mo *m, size_t off, const char **s, size_t *len)
{
	uint32_t l = word(m, off), o = word(m, off + 4);

	if ((uint64_t)o + l >= m->n || m->p[(size_t)o + l] != 0)
		return -1;
	*s = (const char *)m->p + o;
	*len = l;
	return 0;
}

int mo_get(const struct mo *m, uint32_t i, const char **id, size_t *idlen,
	   const char **str, size_t *strlen)
{
	if (i >= m->count)
		return -1;
	if (entry(m, (size_t)m->otab + (size_t)i * 8, id, idlen) ||
	    entry(m, (size_t)m->ttab + (size_t)i * 8, str, strlen))
		return -1;
	return 0;
}
