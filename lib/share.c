#include "share.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CRM_DATADIR
#define CRM_DATADIR "/usr/local/share/crmkit"
#endif

/* The directory of the running program (malloc'd), or NULL. The kernel's
 * path has its symlinks resolved, so its parent is a plain prefix. */
static char *exe_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = 0;
	if (!(slash = strrchr(buf, '/')) || slash == buf)
		return NULL;
	*slash = 0;
	return xstrdup(buf);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *share_dir(void)
{
	const char *env = getenv("CRM_DATADIR");
	struct sb path = SB_INIT;
	char *bin, *slash, *top;

	if (env && *env)
		return xstrdup(env);
	if ((bin = exe_dir())) {
		/* PREFIX/bin -> PREFIX; no "..", so that messages name it plainly */
		slash = strrchr(bin, '/');
		*slash = 0;
		sb_addf(&path, "%s/share/crmkit", bin);
		if (is_dir(path.buf)) {
			free(bin);
			return sb_detach(&path);
		}
		sb_reset(&path);
		/* TOP/build-something/bin (tests, fuzz: the test programs): the
		 * source tree's share/ */
		if ((!strcmp(slash + 1, "bin") || !strcmp(slash + 1, "tests") ||
		     !strcmp(slash + 1, "fuzz")) && (top = strrchr(bin, '/')) &&
		    !strncmp(top + 1, "build", 5)) {
			*top = 0;
			sb_addf(&path, "%s/share/providers", bin);
			if (is_dir(path.buf)) {
				sb_reset(&path);
				sb_addf(&path, "%s/share", bin);
				free(bin);
				return sb_detach(&path);
			}
			sb_reset(&path);
		}
		free(bin);
	}
	sb_free(&path);
	return xstrdup(CRM_DATADIR);
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
	char *dir = share_dir();
	struct sb path = SB_INIT;

	sb_addf(&path, "%s/%s/%s%s", dir, subdir, name, ext);
	if (access(path.buf, R_OK) == 0) {
		free(dir);
		return sb_detach(&path);
	}
	sb_addf(tried, "%s%s/%s", tried->len ? ", " : "", dir, subdir);
	free(dir);
	sb_free(&path);
	return NULL;
}
