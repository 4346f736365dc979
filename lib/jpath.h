/*
 * jpath.h - a value inside a JSON document by a dotted path: "a.b.0.c"
 * (object members by name, array elements by index). The providers'
 * replies (chan_http.c) and callbacks (hook_map.c) are read with it.
 */
#ifndef CRM_JPATH_H
#define CRM_JPATH_H

#include <cJSON.h>

/* The value at path below v, or NULL (a missing member, an index out of
 * range or over 1,000,000, a segment of 128 bytes or more, an empty one). */
const cJSON *jpath(const cJSON *v, const char *path);

#endif
