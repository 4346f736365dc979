/*
 * claimant.h - who holds a transmitting outbox row, and whether that
 * process is certainly gone.
 *
 * crm-send marks the rows it is about to transmit 'transmitting' with
 * claimed_by = claimant_self(). A later run turns such a row in_doubt
 * (and --resend-in-doubt sends it again) only when claimant_dead() says
 * its claimant is dead: a claimant that is alive, or that nobody can tell
 * about, keeps its rows until the claim is older than the expiry.
 *
 * The identity (format 2, written since issue 22):
 *
 *     HOST:BOOTID:PIDNS:TIMENS:PID:START
 *
 *   HOST    gethostname() (at most 63 bytes; may itself hold ':', so the
 *           string is parsed from the right)
 *   BOOTID  /proc/sys/kernel/random/boot_id (36 characters), new at every
 *           boot of the kernel, the same in every container on it
 *   PIDNS   the inode of the PID namespace (/proc/self/ns/pid)
 *   TIMENS  the inode of the time namespace (/proc/self/ns/time): START
 *           as /proc shows it is shifted by the reader's time namespace
 *   PID     getpid(), the pid in PIDNS
 *   START   the start time of the process in clock ticks since boot
 *           (field 22 of /proc/self/stat: /proc/self, not /proc/PID, which
 *           inside `unshare --pid --fork` without a /proc of its own is
 *           another process of the host)
 *
 * Any field but HOST and PID may be "?" (not readable): such a claimant
 * can only expire. Format 1, written before, is HOST:PID:START.
 *
 * Neither function is thread-safe with respect to the other threads
 * changing the host name; both only read /proc and call kill(PID, 0).
 */
#ifndef CRM_CLAIMANT_H
#define CRM_CLAIMANT_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any claimant_self() (63 + 1 + 36 + 4 * 21 + 1). */
#define CLAIMANT_MAX 192

/*
 * The default of the expiry (seconds): a claim this old is taken for dead
 * whoever holds it. It must be longer than any batch can take to transmit
 * and record: 10 rows (BATCH) x 60 s (the SMTP and HTTP timeout) is 10
 * minutes, plus connecting and rate waits; an hour leaves room for that
 * and for clocks of two machines that disagree by minutes.
 */
#define CLAIMANT_EXPIRY 3600

/* This process's identity, as above, in out (n >= CLAIMANT_MAX to hold
 * any; always NUL-terminated when n > 0). */
void claimant_self(char *out, size_t n);

/* What a look at this machine says about a claimant. */
enum claimant_state {
	CLAIMANT_UNKNOWN,	/* another host, namespace, or cannot tell */
	CLAIMANT_ALIVE,		/* that very process is running */
	CLAIMANT_DEAD,		/* certainly not running any more */
};

/*
 * CLAIMANT_DEAD only when certain:
 *  - format 2, same host and another boot id: the machine rebooted since
 *    (a host name is taken to name one machine: two machines of one name
 *    sharing a database file are not supported);
 *  - format 2, same host, boot, PID and time namespace: kill(PID, 0) says
 *    there is no such process, or /proc/PID/stat (when our /proc is our
 *    PID namespace's: the pid /proc/self/stat shows is getpid()) has
 *    another start time (the pid was reused);
 *  - format 1 (HOST:PID:START, no namespace recorded), same host, and we
 *    are in the initial PID namespace with its /proc, so that we see every
 *    process of the machine: no process has start time START with PID
 *    among its pids in any namespace (NSpid of /proc/P/status). A writer
 *    in a container recorded its pid there; the old rule (the host's
 *    /proc/PID only) took such a live writer for dead. Its START may be
 *    "?" or another process's (read from the host's /proc): then it is
 *    unknown, or alive while that process lives.
 * CLAIMANT_ALIVE when the process is found; CLAIMANT_UNKNOWN otherwise,
 * including any string that does not parse.
 */
enum claimant_state claimant_state(const char *claimant);

/*
 * 1 when the claimant is certainly dead: claimant_state() says
 * CLAIMANT_DEAD, or it says CLAIMANT_UNKNOWN and the claim is older than
 * expiry seconds (now - claimed_at > expiry; expiry <= 0: never by age).
 * claimed_at is when the row was claimed (its updated_at, set by the
 * claim) and now the caller's clock, both in seconds since the epoch:
 * pass CLAIMANT_EXPIRY unless configured otherwise. A live claimant is
 * never dead, however old its claim. A NULL or empty claimant has no
 * process to look at: only the age counts.
 */
int claimant_dead(const char *claimant, int64_t claimed_at, int64_t now, int64_t expiry);

#endif
