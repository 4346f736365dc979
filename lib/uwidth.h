/*
 * uwidth.h - how many terminal columns text takes, whatever the locale
 * (tests and cron jobs run with LC_ALL=C, where wcwidth() knows no
 * Cyrillic, let alone CJK): UTF-8 decoded here, and each code point's
 * width from tables written from the Unicode data.
 */
#ifndef CRM_UWIDTH_H
#define CRM_UWIDTH_H

#include <stddef.h>
#include <stdint.h>

/* The columns of code point c: 0 for combining marks (Mn, Me), format
 * characters (Cf, as ZERO WIDTH JOINER; not SOFT HYPHEN) and the Hangul
 * medial and final jamo; 2 for East Asian Wide and Fullwidth (W, F:
 * CJK, kana, Hangul syllables and the emoji shown as pictures); 1 for
 * the rest. */
int uwidth_cp(uint32_t c);

/* The code point *c of the UTF-8 sequence at s[0..n) (n >= 1) and its
 * length; 0 when it is not a valid one (overlong, a surrogate, past
 * U+10FFFF, cut short). */
size_t uwidth_decode(const unsigned char *s, size_t n, uint32_t *c);

/* The columns of s[0..n): each byte that is not valid UTF-8 counts 1. */
size_t uwidth(const char *s, size_t n);

#endif
