#include "share.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CRM_DATADIR
#define CRM_DATADIR "/usr/local/share/crmkit"
#endif

static char *exe_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = 0;
	if (!(slash = strrchr(buf, '/')))
		return NULL;
	*slash = 0;
	return xstrdup(buf);
}

int share_name_ok(const char *name)
{
	if (!*name || name[0] == '.')
		return 0;
	for (const char *c = name; *c; c++)
		if (!(ascii_isalpha((unsigned char)*c) || ascii_isdigit((unsigned char)*c) ||
		      *c == '-' || *c == '_' || *c == '.'))
			return 0;
	return 1;
}

char *share_find(const char *subdir, const char *name, const char *ext, struct sb *tried)
{
	const char *env = getenv("CRM_DATADIR");
	struct sb path = SB_INIT;
	char *dirs[2] = { NULL, NULL }, *exe;
	int nd = 0;

	if (env && *env) {
		sb_addf(&path, "%s/%s", env, subdir);
		dirs[nd++] = sb_detach(&path);
	} else {
		sb_addf(&path, "%s/%s", CRM_DATADIR, subdir);
		dirs[nd++] = sb_detach(&path);
		if ((exe = exe_dir())) {
			sb_addf(&path, "%s/../../share/%s", exe, subdir);
			dirs[nd++] = sb_detach(&path);
			free(exe);
		}
	}
	for (int i = 0; i < nd; i++) {
		sb_reset(&path);
		sb_addf(&path, "%s/%s%s", dirs[i], name, ext);
		if (access(path.buf, R_OK) == 0)
			break;
		sb_addf(tried, "%s%s", tried->len ? ", " : "", dirs[i]);
		sb_reset(&path);
	}
	for (int i = 0; i < nd; i++)
		free(dirs[i]);
	if (!path.len) {
		sb_free(&path);
		return NULL;
	}
	return sb_detach(&path);
}
