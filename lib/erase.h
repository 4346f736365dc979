/*
 * erase.h - the right to erasure: removing a person's personal data from
 * the base and remembering only a keyed hash of their identifiers.
 *
 * The hash is HMAC-SHA256 keyed with the database's random secret
 * (meta.secret) over "KIND:VALUE", KIND being external_id, email or phone
 * and VALUE the normalised identifier. Importing a row that carries such
 * an identifier is refused ("belongs to an erased person") instead of
 * bringing the person back.
 */
#ifndef CRM_ERASE_H
#define CRM_ERASE_H

#include "crm.h"
#include "imp.h"

void erase_hash(const char *secret, const char *kind, const char *value, char out[65]);

/* Erases the people listed in files (CSV with id/email/phone columns, or a
 * plain list: one identifier per line, '@' means e-mail, a leading '+'
 * a phone, anything else an external id). Returns the exit status. */
int erase_run(struct crm *crm, const struct imp_opts *o, char **files);

#endif
