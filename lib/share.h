/*
 * share.h - finding crmkit's data files (share/: provider presets,
 * callback presets, machine lists): $CRM_DATADIR if set, else the
 * installed DATADIR, then share/ beside the build (../../share from the
 * program), so that a program run from build/bin finds the tree's data.
 */
#ifndef CRM_SHARE_H
#define CRM_SHARE_H

#include "util.h"

/* A name that may be looked up: letters, digits, - _ . and not starting
 * with a dot. */
int share_name_ok(const char *name);

/* The readable file SUBDIR/NAME EXT of the first directory that has it
 * (malloc'd), or NULL with the directories tried appended to tried
 * (", "-separated). */
char *share_find(const char *subdir, const char *name, const char *ext, struct sb *tried);

#endif
