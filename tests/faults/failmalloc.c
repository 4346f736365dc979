/*
 * failmalloc.so - an LD_PRELOAD allocator that fails one chosen
 * allocation, for the allocation-failure test (tests/cli/t0965).
 *
 *     CRM_FAILMALLOC=N    the Nth malloc, calloc, realloc, aligned_alloc,
 *                         posix_memalign or memalign counted from the
 *                         start of main() returns NULL (ENOMEM); 0 or
 *                         unset fails none
 *     CRM_FAILMALLOC_LOG=FILE   at exit, "COUNT FAILED" is appended to
 *                         FILE: how many allocations main() made and
 *                         whether the Nth was failed (1) or never came (0)
 *
 * Counting starts when main() does (the shim wraps __libc_start_main), so
 * the dynamic loader and library constructors are never failed: what is
 * tested is the program, with the libraries it calls (SQLite, libcsv,
 * cJSON, libcurl, OpenSSL, glibc's stdio), as they are installed.
 * glibc routes its own internal allocations through the interposed
 * malloc, so a failed fopen() or strdup() is tested too. The real
 * allocator is glibc's __libc_* entry points (no dlsym, which itself
 * allocates).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static int armed;
static unsigned long count, fail_at;
static int failed;

static int should_fail(void)
{
	unsigned long n;

	if (!armed)
		return 0;
	n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
	if (fail_at && n == fail_at) {
		failed = 1;
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *malloc(size_t n)
{
	return should_fail() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: not an allocation that can fail */
	if (p && !n)
		return __libc_realloc(p, n);
	return should_fail() ? NULL : __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
	return should_fail() ? NULL : __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return should_fail() ? NULL : __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (should_fail())
		return ENOMEM;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void report(void)
{
	const char *log = getenv("CRM_FAILMALLOC_LOG");
	char line[64];
	int fd, len;

	armed = 0;
	if (!log || !*log)
		return;
	len = snprintf(line, sizeof(line), "%lu %d\n", count, failed);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, line, (size_t)len) < 0) {
			/* nothing to do: the test sees no line */
		}
		close(fd);
	}
}

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int hooked_main(int argc, char **argv, char **envp)
{
	const char *n = getenv("CRM_FAILMALLOC");

	fail_at = n ? strtoul(n, NULL, 10) : 0;
	atexit(report);
	armed = 1;
	return real_main(argc, argv, envp);
}

typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void),
			void (*)(void), void *);

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
		      void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");

	real_main = main;
	return real(hooked_main, argc, argv, init, fini, rtld_fini, stack_end);
}
