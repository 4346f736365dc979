/*
 * share.h - finding crmkit's data files (share/: provider presets,
 * callback presets, machine lists) in the data directory, which
 * share_dir() resolves at run time, first match wins:
 *
 *   1. $CRM_DATADIR when set (and nothing else, so that a wrong value is
 *      an error rather than a silent fallback);
 *   2. BIN/../share/crmkit, BIN being the directory of the running program
 *      (/proc/self/exe), when it is a directory: wherever make install
 *      put the programs (PREFIX, DESTDIR), their data is beside them;
 *   3. BIN/../../share when BIN is the bin directory of a build directory
 *      (build, build-asan, ...) of a source tree that has share/providers:
 *      a program run from the tree it was built in finds the tree's share/;
 *   4. DATADIR as compiled in (make's DATADIR, PREFIX/share/crmkit).
 */
#ifndef CRM_SHARE_H
#define CRM_SHARE_H

#include "util.h"

/* The data directory (malloc'd), resolved as above on every call: cheap,
 * and the environment may change between calls in the tests. */
char *share_dir(void);

/* A name that may be looked up: letters, digits, - _ . and not starting
 * with a dot. */
int share_name_ok(const char *name);

/* The readable file SUBDIR/NAME EXT of the data directory (malloc'd), or
 * NULL with the directory tried appended to tried (", "-separated). */
char *share_find(const char *subdir, const char *name, const char *ext, struct sb *tried);

#endif
