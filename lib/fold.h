/*
 * fold.h - the key a name is compared by, so that the spellings of one
 * name in exports meet: "Côte d'Ivoire", "COTE D IVOIRE" and
 * "Cote-d’Ivoire" all give "cotedivoire".
 *
 * Folding lower-cases ASCII, Latin (Latin-1, Latin Extended-A, the
 * Romanian and Vietnamese letters), Greek and Cyrillic, removes their
 * accents (é is e, ß is ss, æ is ae, Greek tonos and dialytika go; the
 * Cyrillic letters ё and й stay letters of their own, ё as е), and drops
 * white space, punctuation and combining marks. Other scripts are kept
 * as they are. It needs no locale and no tables beyond its own.
 */
#ifndef CRM_FOLD_H
#define CRM_FOLD_H

#include <stddef.h>

/* The longest key fold_name writes (country names are far shorter). */
#define FOLD_MAX 255

/* Folds s[0..n) into out (FOLD_MAX + 1 bytes) as a NUL-terminated key
 * and returns its length, or (size_t)-1 when the key would be longer
 * than FOLD_MAX bytes. Malformed UTF-8 bytes are kept as they are. */
size_t fold_name(const char *s, size_t n, char out[FOLD_MAX + 1]);

#endif
