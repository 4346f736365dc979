/*
 * sink - a fast SMTP or HTTP sink on 127.0.0.1 for crm-send's benchmark.
 *
 *   sink smtp|http --port-file FILE [--log FILE]
 *
 * Listens on 127.0.0.1 on a port chosen by the system, written to FILE
 * (through a temporary file and rename(), so a reader never sees half of
 * it), and serves each connection in its own thread:
 *
 *   smtp  enough ESMTP for libcurl and Python's smtplib: a greeting,
 *         EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffing, the final "."),
 *         RSET, NOOP, VRFY, QUIT; every message is accepted (250 "queued
 *         as N"). With --log, the Message-ID header of each message
 *         (unfolded, as it came) is appended to FILE, one a line, before
 *         the reply to the final ".", so the log of a finished run holds
 *         exactly one line per accepted message.
 *   http  HTTP/1.1 with keep-alive: any method; bodies by Content-Length
 *         or chunked; "Expect: 100-continue" answered; every request gets
 *         200 with {"id":"N"}. With --log, each request's Idempotency-Key
 *         header ("-" when it has none) is appended to FILE.
 *
 * N counts messages (requests) from 1 across connections. On SIGTERM,
 * SIGINT or SIGHUP, or when the process that started it is gone, it
 * flushes the log and prints one line of counts on stdout:
 *
 *   sink smtp: connections=1 messages=100000 recipients=100000 bytes=154000000
 *
 * then exits 0. Bytes are those of the messages after dot-unstuffing
 * (smtp) or of the request bodies (http). The sink does no delivery and
 * no checks beyond the protocol: it exists to be faster than its clients.
 *
 * Standalone C11 with POSIX threads and sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ (64 * 1024)

static int http_mode;
static atomic_ullong n_conns, n_msgs, n_rcpts, n_bytes;
static FILE *msg_log;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- buffered reading of one connection --------------------------------- */

struct conn {
	int fd;
	size_t start, end; /* unread bytes are buf[start..end) */
	char buf[BUFSZ];
};

/* Reads more bytes after moving the unread ones to the front: 1, or 0 at
 * the end of the stream or on an error. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->start) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return 1; /* full: the caller takes a partial piece */
	do
		n = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	c->end += (size_t)n;
	return 1;
}

/* The next piece of a line: *p and *len, with *whole set when it ends in
 * LF (included); a line longer than the buffer comes in several pieces.
 * 0 at the end of the stream. */
static int piece(struct conn *c, const char **p, size_t *len, int *whole)
{
	for (;;) {
		char *s = c->buf + c->start;
		size_t n = c->end - c->start;
		char *nl = memchr(s, '\n', n);
		if (nl) {
			*p = s;
			*len = (size_t)(nl - s) + 1;
			*whole = 1;
			c->start += *len;
			return 1;
		}
		if (c->start == 0 && c->end == sizeof(c->buf)) {
			*p = s;
			*len = n;
			*whole = 0;
			c->start = c->end;
			return 1;
		}
		if (!fill(c))
			return 0;
	}
}

static int put(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int puts_fd(int fd, const char *s)
{
	return put(fd, s, strlen(s));
}

/* the length of a line without its CR LF (or LF) */
static size_t chomp(const char *p, size_t n)
{
	if (n && p[n - 1] == '\n')
		n--;
	if (n && p[n - 1] == '\r')
		n--;
	return n;
}

static int starts_ci(const char *p, size_t n, const char *word)
{
	size_t k = strlen(word);
	return n >= k && !strncasecmp(p, word, k);
}

/* whether word occurs in p[0..n), ignoring case */
static int has_ci(const char *p, size_t n, const char *word)
{
	size_t k = strlen(word);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(p + i, word, k))
			return 1;
	return 0;
}

static void log_line(const char *s, size_t n)
{
	if (!msg_log)
		return;
	pthread_mutex_lock(&log_lock);
	fwrite(s, 1, n, msg_log);
	fputc('\n', msg_log);
	pthread_mutex_unlock(&log_lock);
}

/* ---- SMTP ----------------------------------------------------------------- */

/* Reads one message after DATA's 354 up to the final ".": 0, or -1 when
 * the connection ended first. Keeps the Message-ID header in mid. */
static int smtp_data(struct conn *c, char *mid, size_t midsz, unsigned long long *bytes)
{
	const char *p;
	size_t n, midn = 0;
	int whole, bol = 1, in_head = 1, in_mid = 0;

	mid[0] = '\0';
	*bytes = 0;
	while (piece(c, &p, &n, &whole)) {
		int was_bol = bol;
		bol = whole;
		if (was_bol && p[0] == '.') {
			if (whole && chomp(p, n) == 1)
				return 0;
			p++;
			n--;
		}
		*bytes += n;
		if (!in_head || !was_bol)
			continue;
		size_t k = chomp(p, n);
		if (k == 0) {
			in_head = 0;
		} else if (p[0] == ' ' || p[0] == '\t') {
			if (in_mid && !midn) /* the value starts on the next line */
				while (k && (*p == ' ' || *p == '\t'))
					p++, k--;
			if (in_mid && midn + k < midsz) { /* a folded Message-ID */
				memcpy(mid + midn, p, k);
				midn += k;
				mid[midn] = '\0';
			}
		} else {
			in_mid = !midn && starts_ci(p, k, "message-id:");
			if (in_mid) {
				p += 11;
				k -= 11;
				while (k && (*p == ' ' || *p == '\t'))
					p++, k--;
				if (k >= midsz)
					k = midsz - 1;
				memcpy(mid, p, k);
				midn = k;
				mid[midn] = '\0';
			}
		}
	}
	return -1;
}

static void smtp_serve(struct conn *c)
{
	const char *p;
	size_t n;
	int whole, mail = 0, rcpts = 0;
	char mid[1024], reply[128];

	if (puts_fd(c->fd, "220 127.0.0.1 ESMTP crmkit bench sink\r\n") < 0)
		return;
	while (piece(c, &p, &n, &whole)) {
		const char *r;
		if (!whole) { /* an overlong command: drop it to its end */
			while (piece(c, &p, &n, &whole) && !whole)
				;
			r = "500 5.5.2 line too long\r\n";
		} else if (n = chomp(p, n), starts_ci(p, n, "EHLO")) {
			mail = rcpts = 0;
			r = "250-127.0.0.1\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n";
		} else if (starts_ci(p, n, "HELO")) {
			mail = rcpts = 0;
			r = "250 127.0.0.1\r\n";
		} else if (starts_ci(p, n, "MAIL")) {
			mail = 1;
			rcpts = 0;
			r = "250 2.1.0 Ok\r\n";
		} else if (starts_ci(p, n, "RCPT")) {
			if (mail) {
				rcpts++;
				atomic_fetch_add(&n_rcpts, 1);
				r = "250 2.1.5 Ok\r\n";
			} else {
				r = "503 5.5.1 MAIL first\r\n";
			}
		} else if (starts_ci(p, n, "DATA")) {
			unsigned long long bytes, num;
			if (!rcpts) {
				r = "503 5.5.1 RCPT first\r\n";
			} else {
				if (puts_fd(c->fd, "354 End data with <CR><LF>.<CR><LF>\r\n") < 0 ||
				    smtp_data(c, mid, sizeof(mid), &bytes) < 0)
					return;
				if (mid[0])
					log_line(mid, strlen(mid));
				atomic_fetch_add(&n_bytes, bytes);
				num = atomic_fetch_add(&n_msgs, 1) + 1;
				snprintf(reply, sizeof(reply), "250 2.0.0 Ok: queued as %llu\r\n", num);
				r = reply;
				mail = rcpts = 0;
			}
		} else if (starts_ci(p, n, "RSET")) {
			mail = rcpts = 0;
			r = "250 2.0.0 Ok\r\n";
		} else if (starts_ci(p, n, "NOOP")) {
			r = "250 2.0.0 Ok\r\n";
		} else if (starts_ci(p, n, "VRFY")) {
			r = "252 2.0.0 cannot verify\r\n";
		} else if (starts_ci(p, n, "QUIT")) {
			puts_fd(c->fd, "221 2.0.0 Bye\r\n");
			return;
		} else {
			r = "502 5.5.2 command not implemented\r\n";
		}
		if (puts_fd(c->fd, r) < 0)
			return;
	}
}

/* ---- HTTP ----------------------------------------------------------------- */

/* Skips (counts) n body bytes: 0, or -1 when the connection ended. */
static int skip_bytes(struct conn *c, unsigned long long n, unsigned long long *bytes)
{
	while (n) {
		size_t have = c->end - c->start;
		if (!have) {
			if (!fill(c))
				return -1;
			continue;
		}
		size_t k = have < n ? have : (size_t)n;
		c->start += k;
		n -= k;
		*bytes += k;
	}
	return 0;
}

/* A chunked body up to and with its trailers: 0, or -1. */
static int skip_chunked(struct conn *c, unsigned long long *bytes)
{
	const char *p;
	size_t n;
	int whole;

	for (;;) {
		char hex[32];
		unsigned long long size;
		if (!piece(c, &p, &n, &whole) || !whole)
			return -1;
		n = chomp(p, n);
		if (n >= sizeof(hex))
			n = sizeof(hex) - 1;
		memcpy(hex, p, n);
		hex[n] = '\0';
		size = strtoull(hex, NULL, 16); /* stops at ';' extensions */
		if (size == 0)
			break;
		if (skip_bytes(c, size, bytes) < 0)
			return -1;
		if (!piece(c, &p, &n, &whole) || !whole || chomp(p, n))
			return -1; /* the CRLF after the data */
	}
	do /* trailers, up to an empty line */
		if (!piece(c, &p, &n, &whole))
			return -1;
	while (!whole || chomp(p, n));
	return 0;
}

static void http_serve(struct conn *c)
{
	const char *p;
	size_t n;
	int whole;

	for (;;) {
		unsigned long long len = 0, bytes = 0, num;
		int chunked = 0, expect = 0, close_after = 0, first = 1;
		char key[512] = "-", reply[256], body[64];

		/* the request line and the headers */
		for (;;) {
			if (!piece(c, &p, &n, &whole))
				return;
			if (!whole) {
				puts_fd(c->fd, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
					       "Content-Length: 0\r\nConnection: close\r\n\r\n");
				return;
			}
			n = chomp(p, n);
			if (first) {
				if (!n)
					continue; /* a stray CRLF between requests */
				first = 0;
				if (n >= 8 && !memcmp(p + n - 8, "HTTP/1.0", 8))
					close_after = 1;
				continue;
			}
			if (!n)
				break;
			if (starts_ci(p, n, "content-length:")) {
				len = strtoull(p + 15, NULL, 10);
			} else if (starts_ci(p, n, "transfer-encoding:")) {
				chunked = has_ci(p, n, "chunked");
			} else if (starts_ci(p, n, "expect:")) {
				expect = has_ci(p, n, "100-continue");
			} else if (starts_ci(p, n, "connection:")) {
				if (has_ci(p, n, "close"))
					close_after = 1;
				else if (has_ci(p, n, "keep-alive"))
					close_after = 0;
			} else if (starts_ci(p, n, "idempotency-key:")) {
				size_t k = n - 16;
				p += 16;
				while (k && (*p == ' ' || *p == '\t'))
					p++, k--;
				if (k >= sizeof(key))
					k = sizeof(key) - 1;
				memcpy(key, p, k);
				key[k] = '\0';
			}
		}
		if (expect && (chunked || len) &&
		    puts_fd(c->fd, "HTTP/1.1 100 Continue\r\n\r\n") < 0)
			return;
		if (chunked ? skip_chunked(c, &bytes) : skip_bytes(c, len, &bytes))
			return;
		log_line(key, strlen(key));
		atomic_fetch_add(&n_bytes, bytes);
		num = atomic_fetch_add(&n_msgs, 1) + 1;
		snprintf(body, sizeof(body), "{\"id\":\"%llu\"}", num);
		snprintf(reply, sizeof(reply),
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n%s\r\n%s",
			 strlen(body), close_after ? "Connection: close\r\n" : "", body);
		if (puts_fd(c->fd, reply) < 0 || close_after)
			return;
	}
}

/* ---- the server ------------------------------------------------------------ */

static void *serve(void *arg)
{
	struct conn *c = arg;
	int one = 1;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (http_mode)
		http_serve(c);
	else
		smtp_serve(c);
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_loop(void *arg)
{
	int ls = *(int *)arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		pthread_t t;
		struct conn *c;
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (errno != EINTR && errno != ECONNABORTED)
					usleep(10000);
				continue;
			}
			perror("sink: accept");
			exit(1);
		}
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->start = c->end = 0;
		atomic_fetch_add(&n_conns, 1);
		if (pthread_create(&t, &attr, serve, c)) {
			close(fd);
			free(c);
		}
	}
	return NULL;
}

static void usage(void)
{
	fputs("usage: sink smtp|http --port-file FILE [--log FILE]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_file = NULL;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	sigset_t sigs;
	pthread_t t;
	pid_t parent = getppid();
	char tmp[4096];
	FILE *f;
	int ls, one = 1;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "http"))
		http_mode = 1;
	else if (strcmp(argv[1], "smtp"))
		usage();
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
			port_file = argv[++i];
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_file = argv[++i];
		else
			usage();
	}
	if (!port_file)
		usage();
	if (log_file) {
		if (!(msg_log = fopen(log_file, "w"))) {
			perror(log_file);
			return 1;
		}
		setvbuf(msg_log, NULL, _IOFBF, 1 << 20);
	}

	/* the signals are taken by sigtimedwait() below, in this thread only */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		perror("sink: socket");
		return 1;
	}
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1024) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &salen) < 0) {
		perror("sink: bind");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%u\n", ntohs(sa.sin_port)) < 0 ||
	    fclose(f) != 0 || rename(tmp, port_file) < 0) {
		perror(port_file);
		return 1;
	}
	if (pthread_create(&t, NULL, accept_loop, &ls)) {
		fputs("sink: cannot start a thread\n", stderr);
		return 1;
	}

	for (;;) {
		struct timespec ts = { 1, 0 };
		if (sigtimedwait(&sigs, NULL, &ts) >= 0 || getppid() != parent)
			break;
	}
	if (msg_log) {
		pthread_mutex_lock(&log_lock);
		fflush(msg_log);
	}
	printf("sink %s: connections=%llu messages=%llu recipients=%llu bytes=%llu\n",
	       http_mode ? "http" : "smtp", (unsigned long long)atomic_load(&n_conns),
	       (unsigned long long)atomic_load(&n_msgs), (unsigned long long)atomic_load(&n_rcpts),
	       (unsigned long long)atomic_load(&n_bytes));
	fflush(stdout);
	_exit(0);
}
