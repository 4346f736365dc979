/*
 * replay.c - main() for replaying fuzz inputs without libFuzzer: linked
 * with one tests/fuzz/fuzz_NAME.c by the normal compiler (make tests), it
 * runs LLVMFuzzerTestOneInput on every file named on the command line and
 * on every file in the directories named (not recursively, in name
 * order); a path that does not exist is skipped (a target without
 * crashers has no regress directory). A failed property aborts, as under
 * libFuzzer.
 *
 * Files whose names end in ".disabled" are skipped and counted apart:
 * crashers in code this project cannot fix right now (see the README in
 * their directory). Prints "replayed N inputs (M disabled)".
 *
 *     replay_NAME tests/fuzz/corpus/NAME tests/fuzz/regress/NAME
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "fuzz.h"

static long ran, disabled;

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		exit(1);
	}
	fclose(f);
	if (getenv("REPLAY_VERBOSE"))
		fprintf(stderr, "replay: %s\n", path);
	/* libFuzzer hands the target a buffer of exactly len bytes: so
	 * does this (ASan then catches reads past the end) */
	{
		unsigned char *exact = malloc(len ? len : 1);
		if (!exact)
			abort();
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	ran++;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[n])
			abort();
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		if (ends_with(names[i], ".disabled"))
			disabled++;
		else
			run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	struct stat st;

	crm_progname = "replay";
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0 && errno == ENOENT)
			continue; /* a target without crashers yet */
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	printf("replayed %ld inputs (%ld disabled)\n", ran, disabled);
	return 0;
}
