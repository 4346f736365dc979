/*
 * suggest.h - "did you mean" among files: the data files of share/ that
 * a name could have meant (a preset "sendgird" for sendgrid.json).
 */
#ifndef CRM_SUGGEST_H
#define CRM_SUGGEST_H

#include <stddef.h>

/* The name (without ext) of a file NAME EXT in one of dirs (", "-separated,
 * as share_find() lists the directories it tried) closest to word, written
 * in buf; NULL when none is close enough (util.h's str_suggest). */
const char *suggest_file(const char *word, const char *dirs, const char *ext, char *buf,
			 size_t size);

#endif
