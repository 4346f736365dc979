/*
 * conf.h - the configuration file (INI, read with libinih): SMTP server,
 * provider credentials, the unsubscribe link.
 *
 * Which file: --config FILE, else $CRM_CONFIG, else ./crm.conf, else
 * $XDG_CONFIG_HOME/crm/crm.conf (~/.config/crm/crm.conf). A file named
 * by --config or $CRM_CONFIG must exist; the others are optional.
 *
 *     [smtp]
 *     url = smtps://mail.example.com:465
 *     user = crm@example.com
 *     password_env = CRM_SMTP_PASSWORD
 *
 * Secrets: a key K may be given as K_env = NAME, the name of an
 * environment variable that holds it (the way to keep secrets out of
 * files and argv), or as K = VALUE in the file itself, which is refused
 * when the file can be read by anyone but its owner. Section and key
 * names are case-insensitive; values are trimmed; a repeated key keeps its
 * last value. Errors name the file and line:
 *
 *     crm-send: crm.conf:7: expected "key = value"
 *
 * Every section and key a program reads is in one registry (conf_keys.c);
 * a name it does not know is a warning with the closest known one, an
 * error with --strict (conf_strict):
 *
 *     crm-send: crm.conf:12: warning: unknown key "form" in [email]; did you mean "from"?
 */
#ifndef CRM_CONF_H
#define CRM_CONF_H

#include <stddef.h>

#include "crm.h"

struct conf;

/* Loads the file for crm (see above): an empty configuration when no file
 * exists and none was asked for. Dies on a syntax error or an unreadable
 * file, and on an unknown name when conf_strict (checked on the first load
 * of a run only). crm->config_path is set to the file read (NULL when
 * none). */
struct conf *conf_load(struct crm *crm);
/* Parses text as if read from a file called name, with the given mode
 * bits (for tests). Returns NULL after reporting a syntax error. */
struct conf *conf_parse(const char *text, const char *name, unsigned mode);
void conf_free(struct conf *c);

/* The value of [section] key, or NULL. */
const char *conf_get(const struct conf *c, const char *section, const char *key);

/*
 * A secret: the environment variable named by "key_env" (which must be
 * set and not empty), else "key" from the file when the file is private
 * (mode 0600 or stricter), else NULL. Dies with a clear message when
 * key_env names an unset variable or when the secret sits in a file that
 * others can read. The returned value must never be printed.
 */
const char *conf_secret(const struct conf *c, const char *section, const char *key);

/* Every entry in file order: for (size_t i = 0; conf_next(c, &i, &s, &k,
 * &v);) ... (sections and keys as written; compare without case). */
int conf_next(const struct conf *c, size_t *i, const char **section, const char **key,
	      const char **value);

/* The line of the file where [section] key was (last) set, or 0. */
int conf_line(const struct conf *c, const char *section, const char *key);

/* The name of the file read, for messages ("crm.conf"), or "(no file)". */
const char *conf_name(const struct conf *c);

/* The line of the first [section] header of that name, or 0. */
int conf_section_line(const struct conf *c, const char *section);

/* --strict (opt.c): unknown sections and keys are errors, not warnings. */
extern int conf_strict;

/* Checks every section and key of c against the registry, reporting each
 * unknown one with file, line and the closest known name (warnings, or
 * errors when strict). Returns how many were unknown. */
int conf_check(const struct conf *c, int strict);

/* Is [section] key in the registry? ("event.*" patterns included) */
int conf_key_known(const char *section, const char *key);

/* The known key of section closest to key, written in buf, or NULL. */
const char *conf_key_suggest(const char *section, const char *key, char *buf, size_t size);

#endif
