/*
 * mo.h - a reader of GNU gettext message catalogues (.mo files), as
 * described in the gettext manual, "The Format of GNU MO Files": a 28-byte
 * header (magic 0x950412de in either byte order, revision, number of
 * strings N, offset of the table of original strings, offset of the table
 * of translations), then two tables of N (length, offset) pairs of 32-bit
 * words, each pointing at a NUL-terminated string.
 *
 * crmkit reads iso-codes' catalogues with it at build time (the country
 * names of share/gen_countries.c). The reader works on a buffer the caller
 * owns, allocates nothing and checks every offset and length against the
 * buffer, so any bytes are safe to give it (tests/fuzz/fuzz_mo.c).
 */
#ifndef CRM_MO_H
#define CRM_MO_H

#include <stddef.h>
#include <stdint.h>

struct mo {
	const unsigned char *p;
	size_t n;
	uint32_t count;   /* number of string pairs */
	uint32_t otab;    /* offset of the table of original strings */
	uint32_t ttab;    /* offset of the table of translations */
	int swap;         /* the file's byte order is not little-endian */
};

/* Reads the header of buf[0..n) (which must outlive m). Returns 0, or -1
 * when it is not a .mo file of major revision 0 or its tables do not fit
 * in the buffer. */
int mo_open(struct mo *m, const void *buf, size_t n);

/*
 * The i-th pair (0 <= i < m->count): the original string id[0..*idlen)
 * and its translation str[0..*strlen), both NUL-terminated in the buffer
 * (a plural entry holds NUL-separated forms within its length, a
 * context is "CONTEXT\4ID"). Returns 0, or -1 when the entry points
 * outside the buffer or its string is not NUL-terminated.
 */
int mo_get(const struct mo *m, uint32_t i, const char **id, size_t *idlen,
	   const char **str, size_t *strlen);

#endif
