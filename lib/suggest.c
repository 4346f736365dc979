#include "suggest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *suggest_file(const char *word, const char *dirs, const char *ext, char *buf,
			 size_t size)
{
	size_t el = strlen(ext), bd = 99;
	const char *p = dirs;
	int found = 0;

	while (*p) {
		size_t n = strcspn(p, ",");
		char *dir = xstrndup(p, n);
		DIR *d = opendir(dir);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			size_t l = strlen(e->d_name), dd;
			char name[256];
			if (l <= el || strcmp(e->d_name + l - el, ext) || e->d_name[0] == '.' ||
			    l - el >= sizeof(name))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(l - el), e->d_name);
			if ((dd = str_distance(word, name)) < bd && str_close_enough(word, dd)) {
				bd = dd;
				snprintf(buf, size, "%s", name);
				found = 1;
			}
		}
		if (d)
			closedir(d);
		free(dir);
		p += n;
		p += strspn(p, ", ");
	}
	return found ? buf : NULL;
}
