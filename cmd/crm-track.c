/*
 * crm-track - the HTTP server of the return path: one-click unsubscribe
 * and preferences, click redirects, the open pixel and the JSON-lines
 * collector, written into the base. The work is in lib/track*.c.
 */
#include <stdio.h>

#include "crm.h"
#include "diag.h"
#include "opt.h"
#include "track.h"

static const char *listen_addr;
static long threads, max_connections = 1000, timeout = 10, max_body = 1 << 20;
static int quiet_log;

static const struct opt options[] = {
	OPT_STRING_('l', "listen", &listen_addr, "ADDR:PORT",
		    "address to listen on (default [tracking] listen, else 127.0.0.1:8080)"),
	OPT_INT_(0, "threads", &threads, "N", "threads answering requests (default: one per CPU)"),
	OPT_INT_(0, "max-connections", &max_connections, "N",
		 "open connections at most (default 1000)"),
	OPT_INT_(0, "timeout", &timeout, "SECS",
		 "close a connection idle this long (default 10)"),
	OPT_INT_(0, "max-body", &max_body, "BYTES",
		 "largest request body (default 1048576); larger: 413"),
	OPT_FLAG_(0, "no-log", &quiet_log, "no line per request on stderr"),
	OPT_END_(),
};

static const struct opt_cmd cmd = {
	.usage = "[--listen ADDR:PORT] [options]",
	.summary = "Serve unsubscribes, click redirects, the open pixel and the event\n"
		   "collector over HTTP, recording what comes back in the base.",
	.opts = options,
	.common = OPT_COMMON_DB | OPT_COMMON_CONFIG | OPT_COMMON_NOW,
	.more = "Put it behind a TLS reverse proxy and set [tracking] url in crm.conf to\n"
		"its public address: crm-send then points links, the pixel and the\n"
		"unsubscribe URL at it. Port 0 takes a free port (the log says which).\n"
		"With --now the clock starts at that time and runs on (demos, back-fills).\n"
		"Stops on SIGINT or SIGTERM after answering what it has committed.\n",
};

int cmd_main(int argc, char **argv)
{
	struct crm crm = { 0 };
	struct track_opts o = { 0 };
	int first = opt_parse(&crm, &cmd, argc, argv);

	if (first < argc)
		opt_usage_error(&cmd, "unexpected argument \"%s\"", argv[first]);
	if (threads < 0 || threads > 256)
		opt_usage_error(&cmd, "--threads: from 1 to 256");
	if (max_connections < 1 || max_connections > 100000)
		opt_usage_error(&cmd, "--max-connections: from 1 to 100000");
	if (timeout < 1 || timeout > 3600)
		opt_usage_error(&cmd, "--timeout: from 1 to 3600 seconds");
	if (max_body < 1024 || max_body > (1L << 30))
		opt_usage_error(&cmd, "--max-body: from 1024 to 1073741824");
	o.listen = listen_addr;
	o.threads = threads;
	o.max_connections = max_connections;
	o.timeout = timeout;
	o.max_body = max_body;
	o.quiet = quiet_log;
	return track_serve(&crm, &o);
}
