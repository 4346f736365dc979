/*
 * progress.h - a one-line progress bar on stderr for long work, shown
 * only when stderr is a terminal and -q was not given; otherwise every
 * call is a cheap no-op. Redraws at most ten times a second.
 */
#ifndef CRM_PROGRESS_H
#define CRM_PROGRESS_H

#include <stdint.h>
#include <sys/types.h>

struct progress;

/* total: bytes (or items) expected, -1 when unknown. NULL when no bar is
 * to be shown (all functions accept NULL). */
struct progress *progress_new(const char *label, int64_t total);
/* done: bytes (items) so far; rows: records so far. */
void progress_update(struct progress *p, int64_t done, uint64_t rows);
/* Erases the bar and frees p. */
void progress_end(struct progress *p);

#endif
