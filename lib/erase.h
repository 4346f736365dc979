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

#include <stddef.h>

#include "crm.h"
#include "imp.h"
#include "util.h"

void erase_hash(const char *secret, const char *kind, const char *value, char out[65]);

/* Erases the people listed in files (CSV with id/email/phone columns, or a
 * plain list: one identifier per line, '@' means e-mail, a leading '+'
 * a phone, anything else an external id). Returns the exit status. */
int erase_run(struct crm *crm, const struct imp_opts *o, char **files);

/*
 * Saved segments name people too: `email = "ann@example.com"` is the
 * person's address, kept in the segment, its description and every
 * tracked run's expression. erase_run() replaces each literal that names
 * an erased person with "<erased>" (a string no one's identifier equals,
 * so the clause selects no one) and sets scrubbed_at of the segment and
 * of the runs it changed; crm-segment warns when it loads such a segment.
 *
 * A person is their identifiers as stored (any may be NULL): the e-mail
 * address normalised, the phone in E.164, the external id as it is. A
 * string literal of an expression names them
 *   - when it holds the e-mail address, in any case, also with a regular
 *     expression's backslashes ("^ann@example\.com$"), or
 *   - when a run of digits and phone separators in it (" -.()/+" and
 *     backslashes), or a number literal, holds the phone's digits with
 *     or without its country code ("+7 (916) 123-45-67", "8 916 123 45
 *     67", "00491511234567", "%1234567%" does not: 7 digits are not the
 *     national number), or
 *   - when it is the external id, whole (ids are often short words or
 *     numbers: "C1" inside another literal or a comment is left alone).
 * The whole literal is replaced, quotes and all, with "<erased>";
 * a comment ("# for ann@example.com") and a description have only the
 * e-mail address or the phone number itself replaced.
 */
struct erase_person {
	const char *external_id;
	const char *email;
	const char *phone;
};

/* Scrubs expression text for the people p[0..np) into out (reset
 * first); returns the number of replacements. */
size_t erase_scrub_expr(const char *text, const struct erase_person *p, size_t np, struct sb *out);

/* Scrubs free text (a description, a comment): the e-mail addresses and
 * phone numbers of the people replaced by <erased>. */
size_t erase_scrub_text(const char *text, size_t len, const struct erase_person *p, size_t np,
			struct sb *out);

#endif
