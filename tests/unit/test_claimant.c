/*
 * test_claimant.c - unit tests of lib/claimant.c: who holds a transmitting
 * row, and when it is certainly dead (issue 22).
 *
 * Some answers depend on where the test runs: with /proc of another PID
 * namespace (unshare --pid without --mount-proc) nothing can be looked
 * up, and format 1 is judged only in the initial PID namespace. The test
 * says which case it is in and checks the answer for that case; the
 * child in a PID namespace of its own needs root (skipped otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "claimant.h"
#include "tap.h"

static char self[CLAIMANT_MAX];
static char host[64], boot[40], pidns[24], timens[24], start[24];
static long pid;
static int proc_ours, init_ns;

/* self's fields, parsed from the right (the host may hold ':') */
static void split_self(void)
{
	char buf[CLAIMANT_MAX], *f[5];

	snprintf(buf, sizeof(buf), "%s", self);
	for (int k = 0; k < 5; k++) {
		char *c = strrchr(buf, ':');
		if (!c) {
			printf("Bail out! cannot split \"%s\"\n", self);
			exit(1);
		}
		*c = 0;
		f[k] = c + 1;
	}
	snprintf(start, sizeof(start), "%s", f[0]);
	pid = strtol(f[1], NULL, 10);
	snprintf(timens, sizeof(timens), "%s", f[2]);
	snprintf(pidns, sizeof(pidns), "%s", f[3]);
	snprintf(boot, sizeof(boot), "%s", f[4]);
	snprintf(host, sizeof(host), "%.63s", buf);
}

static void environment(void)
{
	char buf[256];
	FILE *fp = fopen("/proc/self/stat", "r");
	ssize_t n = readlink("/proc/self/ns/pid", buf, sizeof(buf) - 1);

	proc_ours = 0;
	if (fp) {
		long shown;
		proc_ours = fscanf(fp, "%ld", &shown) == 1 && shown == (long)getpid();
		fclose(fp);
	}
	init_ns = n > 0 && (buf[n] = 0, !strcmp(buf, "pid:[4026531836]")) && proc_ours;
	printf("# %s; /proc %s; %s PID namespace\n", self,
	       proc_ours ? "is ours" : "is another namespace's",
	       init_ns ? "the initial" : "not the initial");
}

static const char *fmt2(const char *h, const char *b, const char *pn, const char *tn,
			long p, const char *s)
{
	static char buf[4][CLAIMANT_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s:%s:%s:%s:%ld:%s", h, b, pn, tn, p, s);
	return buf[i];
}

static const char *fmt1(const char *h, long p, const char *s)
{
	static char buf[4][CLAIMANT_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s:%ld:%s", h, p, s);
	return buf[i];
}

#define NOW ((int64_t)1795000000)
#define EXP ((int64_t)CLAIMANT_EXPIRY)

/* dead only after the expiry: alive at the expiry, dead a second later */
static void expires(const char *c, const char *what)
{
	is_int(claimant_state(c), CLAIMANT_UNKNOWN, "%s: unknown", what);
	is_int(claimant_dead(c, NOW, NOW, EXP), 0, "%s: a fresh claim is not dead", what);
	is_int(claimant_dead(c, NOW - EXP, NOW, EXP), 0, "%s: not dead at the expiry", what);
	is_int(claimant_dead(c, NOW - EXP - 1, NOW, EXP), 1, "%s: dead after the expiry", what);
	is_int(claimant_dead(c, NOW - 10 * EXP, NOW, 0), 0, "%s: expiry 0 never expires", what);
}

static void test_self(void)
{
	char again[CLAIMANT_MAX], small[8];

	claimant_self(again, sizeof(again));
	is_str(again, self, "claimant_self is stable");
	ok(strlen(self) < CLAIMANT_MAX - 1, "fits CLAIMANT_MAX");
	is_int(pid, getpid(), "the pid is getpid()");
	ok(strcmp(boot, "?") && strlen(boot) == 36, "a boot id: %s", boot);
	ok(strcmp(pidns, "?"), "a PID namespace: %s", pidns);
	ok(strcmp(start, "?"), "a start time: %s", start);
	claimant_self(small, sizeof(small));
	is_int(strlen(small), sizeof(small) - 1, "truncated, NUL-terminated in a small buffer");

	is_int(claimant_state(self), proc_ours ? CLAIMANT_ALIVE : CLAIMANT_UNKNOWN,
	       "this process is alive (or cannot be looked up)");
	is_int(claimant_dead(self, NOW, NOW, EXP), 0, "self is not dead");
	if (proc_ours)
		is_int(claimant_dead(self, NOW - 100 * EXP, NOW, EXP), 0,
		       "a live claimant is never dead by age");
}

static void test_wrong_start(void)
{
	const char *c = fmt2(host, boot, pidns, timens, pid, "999999999999");

	if (proc_ours) {
		is_int(claimant_state(c), CLAIMANT_DEAD, "our pid, another start time: reused pid, dead");
		is_int(claimant_dead(c, NOW, NOW, EXP), 1, "dead at once, not after the expiry");
	} else
		expires(c, "our pid, another start, /proc not ours");
}

/* a child that tells its claimant, exits, and is reaped: dead */
static void test_dead_child(void)
{
	int fd[2];
	char c[CLAIMANT_MAX] = "";
	pid_t p;
	ssize_t n;

	if (pipe(fd) < 0 || (p = fork()) < 0) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	if (p == 0) {
		char me[CLAIMANT_MAX];
		claimant_self(me, sizeof(me));
		if (write(fd[1], me, strlen(me) + 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	n = read(fd[0], c, sizeof(c) - 1);
	close(fd[0]);
	waitpid(p, NULL, 0);
	ok(n > 0, "the child told its claimant: %s", c);
	is_int(claimant_state(c), CLAIMANT_DEAD, "a reaped child is dead (no such pid)");
	is_int(claimant_dead(c, NOW, NOW, EXP), 1, "a reaped child's fresh claim is dead");
}

/* a live child: alive; killed and reaped: dead */
static void test_live_child(void)
{
	int fd[2];
	char c[CLAIMANT_MAX] = "";
	pid_t p;

	if (pipe(fd) < 0 || (p = fork()) < 0) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	if (p == 0) {
		char me[CLAIMANT_MAX];
		claimant_self(me, sizeof(me));
		if (write(fd[1], me, strlen(me) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], c, sizeof(c) - 1) <= 0)
		c[0] = 0;
	close(fd[0]);
	is_int(claimant_state(c), proc_ours ? CLAIMANT_ALIVE : CLAIMANT_UNKNOWN,
	       "a running child is alive");
	is_int(claimant_dead(c, NOW - 100 * EXP, NOW, EXP), proc_ours ? 0 : 1,
	       "a running child with an old claim: dead only when it cannot be looked up");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	is_int(claimant_state(c), CLAIMANT_DEAD, "killed and reaped: dead");
}

static void test_other(void)
{
	char other_boot[40];

	snprintf(other_boot, sizeof(other_boot), "%s", boot);
	other_boot[0] = other_boot[0] == '0' ? '1' : '0';
	is_int(claimant_state(fmt2(host, other_boot, pidns, timens, pid, start)), CLAIMANT_DEAD,
	       "same host, another boot id: the machine rebooted, dead");
	is_int(claimant_dead(fmt2(host, other_boot, "1", "2", 1, "5"), NOW, NOW, EXP), 1,
	       "another boot: dead whatever the namespace");

	/* issue 22: a sender in a container with the host's name */
	expires(fmt2(host, boot, "4026599999", timens, pid, start), "another PID namespace, our pid");
	expires(fmt2(host, boot, "4026599999", timens, 1, "12345"), "another PID namespace, pid 1");
	expires(fmt2(host, boot, "?", timens, pid, start), "PID namespace unknown");
	expires(fmt2(host, boot, pidns, "4026599998", pid, start), "another time namespace");
	expires(fmt2(host, boot, pidns, timens, pid, "?"), "start time unknown");
	expires(fmt2(host, "?", pidns, timens, pid, start), "boot id unknown");

	expires(fmt2("another-host.example", boot, pidns, timens, pid, start), "another host");
	expires(fmt2("another-host.example", other_boot, pidns, timens, pid, "1"),
		"another host, another boot");
	expires(fmt2("a:b:c", boot, pidns, timens, pid, "1"), "a host name with ':'");
	{
		char longer[80];
		snprintf(longer, sizeof(longer), "%sx", host);
		expires(fmt2(longer, other_boot, pidns, timens, pid, start), "a host name one longer");
		if (strlen(host) > 1) {
			snprintf(longer, sizeof(longer), "%.*s", (int)strlen(host) - 1, host);
			expires(fmt2(longer, other_boot, pidns, timens, pid, start),
				"a host name one shorter");
		}
	}
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", ":", "::::::", "garbage", "localhost", "localhost:", "localhost:12",
		":12:34", "x:0:0", "x:-1:5", "x:+5:5", "x: 5:5", "x:5:5 ", "x:99999999999:5",
		"x:0123456789abcdef0123456789abcdef0123:1:2:3:4",
		"x:abc:def", "x:1:2:3:4:5:6:7:8:9",
		"x:zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz:1:2:3:4",
		"x:00000000-0000-0000-0000-000000000000:1:2:0:4",
		"x:00000000-0000-0000-0000-000000000000:1:2:-3:4",
	};
	char buf[CLAIMANT_MAX], huge[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expires(bad[i], bad[i]);
	/* the same with our host name, where a misparse would look things up */
	snprintf(buf, sizeof(buf), "%s:0:0", host);
	expires(buf, "our host, pid 0 (kill(0) would be our process group)");
	snprintf(buf, sizeof(buf), "%s:-1:0", host);
	expires(buf, "our host, pid -1");
	expires(fmt2(host, boot, pidns, timens, 0, start), "format 2, pid 0");
	snprintf(buf, sizeof(buf), "%s:%s", host, boot);
	expires(buf, "our host and boot id only");
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	memcpy(huge + 2000, ":1:2", 4);
	expires(huge, "4095 bytes");
	is_int(claimant_state(NULL), CLAIMANT_UNKNOWN, "NULL: unknown");
	is_int(claimant_dead(NULL, NOW, NOW, EXP), 0, "NULL, fresh: not dead");
	is_int(claimant_dead(NULL, NOW - EXP - 1, NOW, EXP), 1, "NULL, expired: dead");
}

/* format 1, written before issue 22: HOST:PID:START */
static void test_old(void)
{
	const char *me = fmt1(host, pid, start), *reused = fmt1(host, pid, "999999999999");

	if (init_ns) {
		is_int(claimant_state(me), CLAIMANT_ALIVE, "format 1: this process is alive");
		is_int(claimant_state(reused), CLAIMANT_DEAD,
		       "format 1, initial namespace: nobody started then with that pid: dead");
	} else {
		expires(me, "format 1 outside the initial namespace (self)");
		expires(reused, "format 1 outside the initial namespace (reused)");
	}
	expires(fmt1(host, pid, "?"), "format 1, start unknown");
	expires(fmt1("another-host.example", pid, start), "format 1, another host");
}

/*
 * Issue 22 itself: a child in a PID namespace of its own (pid 1 there, the
 * host's /proc). Its format 2 claimant is unknown to us (until the
 * expiry); its format 1 claimant "HOST:1:START" was taken for dead by the
 * old rule (our /proc/1 is init) and is alive now while it runs.
 */
static void test_pidns_child(void)
{
	int fd[2];
	char c[2 * CLAIMANT_MAX] = "", *old;
	pid_t p;

	if (unshare(CLONE_NEWPID) < 0) {
		printf("ok %d # skip a PID namespace of our own: %s\n", ++tap_n, strerror(errno));
		return;
	}
	if (pipe(fd) < 0 || (p = fork()) < 0) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	if (p == 0) {
		char me[CLAIMANT_MAX], out[2 * CLAIMANT_MAX];
		char st[1024], *q;
		FILE *fp = fopen("/proc/self/stat", "r");
		size_t n = fp ? fread(st, 1, sizeof(st) - 1, fp) : 0;
		if (fp)
			fclose(fp);
		st[n] = 0;
		/* what crm-send before issue 22 wrote: getpid() (1) and the
		 * start of /proc/self */
		q = strrchr(st, ')');
		for (int field = 2; q && field < 22; field++)
			q = strchr(q + 1, ' ');
		claimant_self(me, sizeof(me));
		snprintf(out, sizeof(out), "%s|%s:%ld:%.*s", me, host, (long)getpid(),
			 q ? (int)strcspn(q + 1, " ") : 1, q ? q + 1 : "?");
		if (write(fd[1], out, strlen(out) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], c, sizeof(c) - 1) <= 0)
		c[0] = 0;
	close(fd[0]);
	if (!(old = strchr(c, '|'))) {
		ok(0, "the child in its namespace said \"%s\"", c);
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return;
	}
	*old++ = 0;
	printf("# child in a new PID namespace: %s and %s\n", c, old);
	ok(strstr(c, pidns) == NULL, "the child's claimant names another PID namespace");
	expires(c, "a live child in another PID namespace");
	is_int(claimant_state(old), init_ns ? CLAIMANT_ALIVE : CLAIMANT_UNKNOWN,
	       "its format 1 claimant (pid 1 there) is alive, not our init's");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	expires(c, "that child killed: still only by age (its namespace is not ours)");
	is_int(claimant_state(old), init_ns ? CLAIMANT_DEAD : CLAIMANT_UNKNOWN,
	       "its format 1 claimant once killed: dead (initial namespace)");
}

int main(void)
{
	claimant_self(self, sizeof(self));
	split_self();
	environment();
	test_self();
	test_wrong_start();
	test_dead_child();
	test_live_child();
	test_other();
	test_malformed();
	test_old();
	/* in a child of its own: unshare(CLONE_NEWPID) moves the children
	 * of its caller into a new namespace for good, after which this
	 * process could start none (LeakSanitizer's at exit neither); the
	 * child goes on counting from tap_n and tells its counts back */
	{
		int fd[2], counts[2] = { 0, 0 };
		pid_t p;

		fflush(stdout);
		if (pipe(fd) < 0 || (p = fork()) < 0) {
			ok(0, "fork: %s", strerror(errno));
			return tap_done();
		}
		if (p == 0) {
			int before = tap_n, failed = tap_failed;
			test_pidns_child();
			fflush(stdout);
			counts[0] = tap_n - before;
			counts[1] = tap_failed - failed;
			if (write(fd[1], counts, sizeof(counts)) < 0)
				_exit(1);
			_exit(0);
		}
		close(fd[1]);
		if (read(fd[0], counts, sizeof(counts)) != (ssize_t)sizeof(counts))
			ok(0, "the PID namespace checks ran to the end");
		close(fd[0]);
		waitpid(p, NULL, 0);
		tap_n += counts[0];
		tap_failed += counts[1];
	}
	return tap_done();
}
