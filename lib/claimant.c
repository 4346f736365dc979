/*
 * claimant.c - the identity of a sending process, and whether it is dead.
 * See claimant.h for the format and the rules.
 */
#include "claimant.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* The inode of the initial PID namespace (PROC_PID_INIT_INO, Linux >= 3.8) */
#define INIT_PIDNS "4026531836"

/* A parsed claimant; every field is a NUL-terminated copy, "?" when
 * unknown. */
struct who {
	int format;		/* 1 or 2; 0: does not parse */
	char host[64];
	char boot[40];
	char pidns[40];
	char timens[40];
	long pid;
	char start[40];
};

static void host_name(char *out, size_t n)
{
	snprintf(out, n, "localhost");
	if (gethostname(out, n - 1) < 0)
		snprintf(out, n, "localhost");
	out[n - 1] = 0;
}

/* The first line of path, without its newline, in out; 0 or -1. */
static int read_line(const char *path, char *out, size_t n)
{
	FILE *fp = fopen(path, "r");
	int ok;

	if (!fp)
		return -1;
	ok = fgets(out, (int)n, fp) != NULL;
	fclose(fp);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int is_boot_id(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-'
		    : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static void boot_id(char *out, size_t n)
{
	char buf[64];

	if (read_line("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) < 0 || !is_boot_id(buf))
		snprintf(out, n, "?");
	else
		snprintf(out, n, "%s", buf);
}

/* The inode of namespace kind ("pid", "time") of this process: readlink
 * gives "pid:[4026531836]". */
static void ns_inode(const char *kind, char *out, size_t n)
{
	char path[64], buf[64], *b, *e;
	ssize_t len;

	snprintf(out, n, "?");
	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if ((len = readlink(path, buf, sizeof(buf) - 1)) < 0)
		return;
	buf[len] = 0;
	if (!(b = strchr(buf, '[')) || !(e = strchr(b, ']')))
		return;
	*e = 0;
	if (all_digits(b + 1))
		snprintf(out, n, "%s", b + 1);
}

/*
 * Reads /proc/PID/stat (or /proc/self/stat for pid 0): the pid it shows,
 * its state and start time (field 22, in a buffer). Returns 0, or -1 with
 * errno (ENOENT: no such process in this /proc).
 */
static int read_stat(long pid, long *shown, char *state, char *start, size_t n)
{
	char path[64], buf[1024], *p;
	FILE *fp;
	size_t len;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	if (!(fp = fopen(path, "r")))
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[len] = 0;
	/* "PID (COMM) S ...": the command may hold spaces and ")" */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || !p[2]) {
		errno = EINVAL;
		return -1;
	}
	if (shown)
		*shown = strtol(buf, NULL, 10);
	if (state)
		*state = p[2];
	/* field 22, counted from field 2 (the command) */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || !isdigit((unsigned char)p[1])) {
		errno = EINVAL;
		return -1;
	}
	snprintf(start, n, "%.*s", (int)strcspn(p + 1, " \n"), p + 1);
	return 0;
}

/* Is /proc the proc of our PID namespace (else /proc/PID is not our PID)? */
static int proc_is_ours(void)
{
	char start[24];
	long shown = -1;

	return read_stat(0, &shown, NULL, start, sizeof(start)) == 0 && shown == (long)getpid();
}

void claimant_self(char *out, size_t n)
{
	char host[64], boot[40], pidns[24], timens[24], start[24];

	if (!n)
		return;
	host_name(host, sizeof(host));
	boot_id(boot, sizeof(boot));
	ns_inode("pid", pidns, sizeof(pidns));
	ns_inode("time", timens, sizeof(timens));
	if (read_stat(0, NULL, NULL, start, sizeof(start)) < 0)
		snprintf(start, sizeof(start), "?");
	snprintf(out, n, "%s:%s:%s:%s:%ld:%s", host, boot, pidns, timens, (long)getpid(), start);
}

/* Splits s at its last ':' into *head (a length) and the field after it
 * (copied to field, which must fit it). Returns -1 when there is none or
 * the field is too long. */
static int last_field(const char *s, size_t *len, char *field, size_t n)
{
	size_t i = *len;

	while (i > 0 && s[i - 1] != ':')
		i--;
	if (i == 0 || *len - i >= n)
		return -1;
	memcpy(field, s + i, *len - i);
	field[*len - i] = 0;
	*len = i - 1;
	return 0;
}

static int num_or_unknown(const char *s)
{
	return !strcmp(s, "?") || (all_digits(s) && strlen(s) <= 20);
}

static long parse_pid(const char *s)
{
	long v;

	if (!all_digits(s) || strlen(s) > 9)
		return -1;
	v = strtol(s, NULL, 10);
	return v >= 1 ? v : -1;
}

static void parse(const char *c, struct who *w)
{
	char f[5][40];
	size_t len = strlen(c);
	int k = 0;

	memset(w, 0, sizeof(*w));
	/* up to five fields from the right, the rest is the host */
	while (k < 5 && last_field(c, &len, f[k], sizeof(f[k])) == 0)
		k++;
	/* format 2: f[0] START, f[1] PID, f[2] TIMENS, f[3] PIDNS, f[4] BOOTID */
	if (k == 5 && len > 0 && len < sizeof(w->host) && num_or_unknown(f[0]) &&
	    parse_pid(f[1]) > 0 && num_or_unknown(f[2]) && num_or_unknown(f[3]) &&
	    (is_boot_id(f[4]) || !strcmp(f[4], "?"))) {
		w->format = 2;
		memcpy(w->host, c, len);
		w->host[len] = 0;
		snprintf(w->boot, sizeof(w->boot), "%s", f[4]);
		snprintf(w->pidns, sizeof(w->pidns), "%s", f[3]);
		snprintf(w->timens, sizeof(w->timens), "%s", f[2]);
		w->pid = parse_pid(f[1]);
		snprintf(w->start, sizeof(w->start), "%s", f[0]);
		return;
	}
	/* format 1: HOST:PID:START (START "?" when it could not be read) */
	len = strlen(c);
	if (last_field(c, &len, f[0], sizeof(f[0])) == 0 &&
	    last_field(c, &len, f[1], sizeof(f[1])) == 0 &&
	    len > 0 && len < sizeof(w->host) && num_or_unknown(f[0]) && parse_pid(f[1]) > 0) {
		w->format = 1;
		memcpy(w->host, c, len);
		w->host[len] = 0;
		w->pid = parse_pid(f[1]);
		snprintf(w->start, sizeof(w->start), "%s", f[0]);
	}
}

/* Format 2, our PID namespace: the process with that pid and start. */
static enum claimant_state look_up(long pid, const char *start)
{
	char got[24], state = 0;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return CLAIMANT_DEAD;	/* no such pid in our namespace */
	if (!proc_is_ours())
		return CLAIMANT_UNKNOWN;
	if (read_stat(pid, NULL, &state, got, sizeof(got)) < 0)
		/* gone since kill(), or hidden (hidepid): ask kill() again */
		return kill((pid_t)pid, 0) < 0 && errno == ESRCH ? CLAIMANT_DEAD : CLAIMANT_UNKNOWN;
	/* a zombie counts as alive, as before: its parent has yet to reap it */
	return strcmp(got, start) ? CLAIMANT_DEAD : CLAIMANT_ALIVE;
}

/* Does the NSpid line of /proc/P/status name pid? 1, 0, or -1 when it
 * cannot be read (gone: 0). */
static int nspid_has(const char *p, long pid)
{
	char path[300], line[512];
	FILE *fp;
	int found = 0, seen = 0;

	snprintf(path, sizeof(path), "/proc/%s/status", p);
	if (!(fp = fopen(path, "r")))
		return errno == ENOENT || errno == ESRCH ? 0 : -1;
	while (fgets(line, sizeof(line), fp)) {
		char *s, *e;
		if (strncmp(line, "NSpid:", 6))
			continue;
		seen = 1;
		for (s = line + 6;; s = e) {
			long v = strtol(s, &e, 10);
			if (e == s)
				break;
			if (v == pid)
				found = 1;
		}
		break;
	}
	fclose(fp);
	return found ? 1 : seen ? 0 : -1;
}

/* Format 1 in the initial PID namespace: any process started at start
 * whose pid in some namespace is pid. */
static enum claimant_state scan_old(long pid, const char *start)
{
	DIR *d;
	struct dirent *e;
	enum claimant_state r = CLAIMANT_DEAD;
	char got[24];

	/* hidepid=2 hides other users' processes, init's among them */
	if (access("/proc/1/stat", R_OK) < 0 || !(d = opendir("/proc")))
		return CLAIMANT_UNKNOWN;
	while ((e = readdir(d))) {
		long p;
		if (!all_digits(e->d_name) || (p = parse_pid(e->d_name)) < 0)
			continue;
		if (read_stat(p, NULL, NULL, got, sizeof(got)) < 0) {
			if (errno != ENOENT && errno != ESRCH)
				r = CLAIMANT_UNKNOWN;	/* there but unreadable */
			continue;
		}
		if (strcmp(got, start))
			continue;
		switch (nspid_has(e->d_name, pid)) {
		case 1:
			closedir(d);
			return CLAIMANT_ALIVE;
		case -1:
			r = CLAIMANT_UNKNOWN;
			break;
		}
	}
	closedir(d);
	return r;
}

enum claimant_state claimant_state(const char *claimant)
{
	struct who w;
	char host[64], mine[40];

	if (!claimant)
		return CLAIMANT_UNKNOWN;
	parse(claimant, &w);
	if (!w.format)
		return CLAIMANT_UNKNOWN;
	host_name(host, sizeof(host));
	if (strcmp(w.host, host))
		return CLAIMANT_UNKNOWN;	/* another machine: cannot look */
	if (w.format == 1) {
		ns_inode("pid", mine, sizeof(mine));
		if (!strcmp(w.start, "?") || strcmp(mine, INIT_PIDNS) || !proc_is_ours())
			return CLAIMANT_UNKNOWN;
		return scan_old(w.pid, w.start);
	}
	boot_id(mine, sizeof(mine));
	if (!strcmp(w.boot, "?") || !strcmp(mine, "?"))
		return CLAIMANT_UNKNOWN;
	if (strcmp(w.boot, mine))
		return CLAIMANT_DEAD;		/* this machine rebooted since */
	ns_inode("pid", mine, sizeof(mine));
	if (!strcmp(w.pidns, "?") || strcmp(w.pidns, mine))
		return CLAIMANT_UNKNOWN;	/* another PID namespace */
	ns_inode("time", mine, sizeof(mine));
	if (strcmp(w.timens, mine) || !strcmp(w.start, "?"))
		return CLAIMANT_UNKNOWN;	/* START would read otherwise */
	return look_up(w.pid, w.start);
}

int claimant_dead(const char *claimant, int64_t claimed_at, int64_t now, int64_t expiry)
{
	enum claimant_state st = claimant && *claimant ? claimant_state(claimant)
		: CLAIMANT_UNKNOWN;

	if (st != CLAIMANT_UNKNOWN)
		return st == CLAIMANT_DEAD;
	return expiry > 0 && now - claimed_at > expiry;
}
