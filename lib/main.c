/*
 * main.c - the one main() every program shares (git's common-main.c):
 * makes sure fds 0, 1 and 2 are open, sets the program name, the SIGPIPE
 * policy and UTC-independent defaults, runs the program's cmd_main() and
 * checks that stdout was written completely.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "crm.h"
#include "diag.h"
#include "out.h"
#include "util.h"

static void sanitize_fds(void)
{
	/* A program started with a closed fd 1 must not write its output
	 * into the database it opens next. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) < 0)
			_exit(127);
}

int main(int argc, char **argv)
{
	const char *slash;
	int rc;

	sanitize_fds();
	if (argc > 0 && argv[0]) {
		slash = strrchr(argv[0], '/');
		crm_progname = slash ? slash + 1 : argv[0];
	}
	/* Writes to a closed pipe fail with EPIPE; the output layer then ends
	 * the program quietly (see out_write_failed). */
	signal(SIGPIPE, SIG_IGN);
	/* Past a file size limit (ulimit -f) a write fails with EFBIG, which
	 * SQLite and the output layer report as an error and roll back,
	 * instead of the default SIGXFSZ killing the program mid-write. */
	signal(SIGXFSZ, SIG_IGN);
	/* cJSON returns NULL when an allocation fails, and callers took
	 * that for "no value" or "not JSON": an attribute silently dropped,
	 * stored attributes replaced by the new ones alone, a valid JSON
	 * line rejected. With xmalloc it ends the program instead, like
	 * every other allocation (found by t0960). */
	cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = xmalloc, .free_fn = free });
	rc = cmd_main(argc, argv);
	if (out_close_stdout() && rc == 0)
		rc = 1;
	return rc;
}
