/*
 * track.h - crm-track, the toolkit's HTTP face (GNU libmicrohttpd): the
 * one-click unsubscribe and preference page, signed click redirects, the
 * open pixel, provider callbacks and the JSON-lines collector, all
 * writing into the base.
 *
 * Requests are parsed and checked (tokens, signatures, bearer tokens) in
 * libmicrohttpd's threads; everything that reads or writes the base goes
 * to one writer thread, which applies what has queued up in one
 * transaction (group commit) and only then lets the requests answer: an
 * answered hit is committed.
 *
 *   track.c       the server: options, libmicrohttpd, routing, logging
 *   track_wr.c    the writer: queue, group commit, applying each request
 *   track_page.c  the unsubscribe and preference pages
 *   track_bot.c   machine activity: user-agent and address lists
 *   track_url.c   the URL layout crm-send makes and crm-track reads
 */
#ifndef CRM_TRACK_H
#define CRM_TRACK_H

#include "crm.h"

struct track_opts {
	const char *listen;      /* ADDR:PORT */
	long threads;            /* libmicrohttpd threads, 0: one per CPU */
	long max_connections;
	long timeout;            /* seconds a connection may idle */
	long max_body;           /* bytes */
	int quiet;               /* no request log */
};

/* Serves until SIGINT or SIGTERM; returns the exit status. */
int track_serve(struct crm *crm, const struct track_opts *o);

#endif
