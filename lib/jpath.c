#include "jpath.h"

#include <stdlib.h>
#include <string.h>

const cJSON *jpath(const cJSON *v, const char *path)
{
	char seg[128];
	const char *s = path;

	while (v && *s) {
		size_t n = strcspn(s, ".");
		if (n >= sizeof(seg) || !n)
			return NULL;
		memcpy(seg, s, n);
		seg[n] = 0;
		if (cJSON_IsArray(v)) {
			char *end;
			long i = strtol(seg, &end, 10);
			v = *end || end == seg || i < 0 || i > 1000000 ? NULL
								      : cJSON_GetArrayItem(v, (int)i);
		} else if (cJSON_IsObject(v)) {
			v = cJSON_GetObjectItemCaseSensitive(v, seg);
		} else {
			v = NULL;
		}
		s += n;
		if (*s == '.')
			s++;
	}
	return v;
}
