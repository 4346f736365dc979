/*
 * bounce.c - one returned message to a verdict (see bounce.h): GMime
 * parses it, this file walks its MIME structure (never into a quoted
 * original), finds the VERP token, tells auto-replies from bounces and
 * hands the report parts to bounce_dsn.c and bounce_text.c.
 */
#include <pthread.h>
#include <string.h>

#include <gmime/gmime.h>

#include "bounce_int.h"
#include "token.h"

#define WALK_DEPTH_MAX 8
#define WALK_PARTS_MAX 256
/* a message with more Content-Type fields than this in what is read is
 * not parsed at all: GMime's parser recurses once per nested multipart or
 * message/rfc822, and no report has that many parts */
#define CONTENT_TYPES_MAX 512

const char *bounce_kind_name(enum bounce_kind k)
{
	static const char *const names[] = {
		[BOUNCE_NONE] = "none", [BOUNCE_AUTOREPLY] = "autoreply",
		[BOUNCE_HARD] = "hard", [BOUNCE_SOFT] = "soft", [BOUNCE_POLICY] = "policy",
		[BOUNCE_COMPLAINT] = "complaint", [BOUNCE_DELAYED] = "delayed",
		[BOUNCE_UNKNOWN] = "unknown",
	};
	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "?";
}

void bounce_result_free(struct bounce_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrcpts; i++) {
		free(r->rcpts[i].address);
		free(r->rcpts[i].diagnostic);
	}
	free(r->rcpts);
	free(r->message_id);
	free(r->feedback_type);
	free(r->reporting_mta);
	memset(r, 0, sizeof *r);
}

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
	g_mime_init();
}

/* What the walk over the MIME tree found. */
struct walk {
	int nparts;
	int report;          /* multipart/report: 1 delivery-status, 2 feedback-report, 3 other */
	int have_dsn, have_arf, have_text, have_html, have_orig;
	struct sb dsn, arf, text, html;
	char *orig_msgid;
	struct sb orig_rpath; /* the quoted original's Return-Path */
};

/* "<id@host>" from a Message-ID value (angle brackets added when
 * missing), or NULL when it is not one */
static char *msgid_norm(const char *v, size_t n)
{
	const char *lt, *gt;

	v = trim(v, &n);
	if ((lt = memchr(v, '<', n)) && (gt = memchr(lt, '>', n - (size_t)(lt - v)))) {
		v = lt + 1;
		n = (size_t)(gt - lt - 1);
	}
	if (!n || n > 250 || !memchr(v, '@', n))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f || v[i] == '<' ||
		    v[i] == '>')
			return NULL;
	struct sb o = SB_INIT;
	sb_addc(&o, '<');
	sb_add(&o, v, n);
	sb_addc(&o, '>');
	return sb_detach(&o);
}

/* Message-ID and Return-Path from a block of header lines (a
 * text/rfc822-headers part, the copy in a bounce text) */
static void orig_headers(struct walk *w, const char *s, size_t len)
{
	struct sb name = SB_INIT, val = SB_INIT;
	const char *p = s, *end = s + len;
	int rc, seen = 0;

	while ((rc = bf_next(&p, end, &name, &val)) >= 0) {
		if (rc == 0) {
			if (seen)
				break; /* the end of the header */
			continue;
		}
		if (!name.len)
			continue;
		seen = 1;
		if (!ascii_casecmp(name.buf, "Message-ID") && !w->orig_msgid)
			w->orig_msgid = msgid_norm(val.buf, val.len);
		else if (!ascii_casecmp(name.buf, "Return-Path") && !w->orig_rpath.len)
			sb_add(&w->orig_rpath, val.buf, val.len);
	}
	sb_free(&name);
	sb_free(&val);
}

/* the decoded text of a leaf part, at most BOUNCE_PART_MAX bytes, in
 * UTF-8 when its charset is known */
static void part_text(GMimePart *part, struct sb *out)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *src, *f;
	GMimeContentEncoding enc;
	const char *cs;
	char buf[4096];

	if (!w || !(src = g_mime_data_wrapper_get_stream(w)))
		return;
	enc = g_mime_data_wrapper_get_encoding(w);
	g_mime_stream_reset(src);
	f = g_mime_stream_filter_new(src);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *d = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), d);
		g_object_unref(d);
	}
	cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (cs && ascii_casecmp(cs, "utf-8") && ascii_casecmp(cs, "us-ascii")) {
		GMimeFilter *c = g_mime_filter_charset_new(cs, "UTF-8");
		if (c) {
			g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), c);
			g_object_unref(c);
		}
	}
	while (out->len < BOUNCE_PART_MAX) {
		size_t want = BOUNCE_PART_MAX - out->len;
		ssize_t n = g_mime_stream_read(f, buf, want < sizeof buf ? want : sizeof buf);
		if (n <= 0)
			break;
		sb_add(out, buf, (size_t)n);
	}
	g_object_unref(f);
}

static void walk(struct walk *w, GMimeObject *o, int depth)
{
	GMimeContentType *ct;

	if (!o || depth > WALK_DEPTH_MAX || ++w->nparts > WALK_PARTS_MAX)
		return;
	ct = g_mime_object_get_content_type(o);
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		if (ct && g_mime_content_type_is_type(ct, "multipart", "report") && !w->report) {
			const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
			w->report = !rt ? 3 : !ascii_casecmp(rt, "delivery-status") ||
						       !ascii_casecmp(rt, "global-delivery-status") ? 1 :
					   !ascii_casecmp(rt, "feedback-report") ? 2 : 3;
		}
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		/* the original (or another report: never walked into) */
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m && !w->have_orig) {
			const char *id = g_mime_message_get_message_id(m);
			const char *rp = g_mime_object_get_header(GMIME_OBJECT(m), "Return-Path");
			w->have_orig = 1;
			if (id && !w->orig_msgid)
				w->orig_msgid = msgid_norm(id, strlen(id));
			if (rp && !w->orig_rpath.len)
				sb_adds(&w->orig_rpath, rp);
		}
		return;
	}
	if (!GMIME_IS_PART(o) || !ct)
		return;
	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message", "global-delivery-status")) {
		if (!w->have_dsn) {
			w->have_dsn = 1;
			part_text(GMIME_PART(o), &w->dsn);
		}
	} else if (g_mime_content_type_is_type(ct, "message", "feedback-report")) {
		if (!w->have_arf) {
			w->have_arf = 1;
			part_text(GMIME_PART(o), &w->arf);
		}
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
		   g_mime_content_type_is_type(ct, "message", "global-headers") ||
		   g_mime_content_type_is_type(ct, "message", "rfc822") ||
		   g_mime_content_type_is_type(ct, "message", "global")) {
		/* (message/rfc822 is a leaf here when GMime could not parse it) */
		if (!w->have_orig) {
			struct sb t = SB_INIT;
			w->have_orig = 1;
			part_text(GMIME_PART(o), &t);
			orig_headers(w, t.buf, t.len);
			sb_free(&t);
		}
	} else if (g_mime_content_type_is_type(ct, "text", "plain")) {
		if (!w->have_text) {
			w->have_text = 1;
			part_text(GMIME_PART(o), &w->text);
		}
	} else if (g_mime_content_type_is_type(ct, "text", "html")) {
		if (!w->have_html) {
			w->have_html = 1;
			part_text(GMIME_PART(o), &w->html);
		}
	}
}

/* HTML to text, well enough to find a reply code in an NDR */
static void html_text(const char *s, size_t len, struct sb *out)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&nbsp;", ' ' },
		{ "&quot;", '"' }, { "&#39;", '\'' },
	};
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '<') {
			const char *gt = memchr(s + i, '>', len - i);
			if (!gt)
				break;
			size_t n = (size_t)(gt - (s + i));
			const char *tag = s + i + 1 + (i + 1 < len && s[i + 1] == '/');
			if (!ascii_ncasecmp(tag, "br", 2) || !ascii_ncasecmp(tag, "p", 1) ||
			    !ascii_ncasecmp(tag, "div", 3) || !ascii_ncasecmp(tag, "tr", 2) ||
			    !ascii_ncasecmp(tag, "li", 2))
				sb_addc(out, '\n');
			i += n;
			continue;
		}
		if (s[i] == '&') {
			size_t k;
			for (k = 0; k < ARRAY_SIZE(ents); k++) {
				size_t n = strlen(ents[k].ent);
				if (i + n <= len && !ascii_ncasecmp(s + i, ents[k].ent, n)) {
					sb_addc(out, ents[k].c);
					i += n - 1;
					break;
				}
			}
			if (k < ARRAY_SIZE(ents))
				continue;
		}
		sb_addc(out, s[i]);
	}
}

/* The VERP token: the first candidate address that checks wins. */
struct verp {
	const char *secret;
	int64_t id;
	int found, bad;
};

static int local_char(unsigned char c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) || (c > ' ' && c < 0x7f && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

static void verp_scan(struct verp *v, const char *s, size_t len)
{
	if (!s || v->found)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '@')
			continue;
		size_t b = i, plus = (size_t)-1;
		while (b > 0 && local_char((unsigned char)s[b - 1]))
			b--;
		for (size_t j = b; j < i; j++)
			if (s[j] == '+')
				plus = j;
		if (plus == (size_t)-1)
			continue;
		const char *t = s + plus + 1;
		size_t n = i - plus - 1, k = 0;
		/* token-shaped: digits '-' hex digits */
		while (k < n && ascii_isdigit((unsigned char)t[k]))
			k++;
		if (!k || k >= n || t[k] != '-')
			continue;
		size_t h = k + 1;
		while (h < n && (ascii_isdigit((unsigned char)t[h]) ||
				 (ascii_lower((unsigned char)t[h]) >= 'a' &&
				  ascii_lower((unsigned char)t[h]) <= 'f')))
			h++;
		if (h != n || h == k + 1)
			continue;
		int64_t id;
		if (v->secret && token_check(v->secret, "bounce", t, n, &id) == 0 && id > 0) {
			v->id = id;
			v->found = 1;
			return;
		}
		if (v->secret)
			v->bad = 1;
	}
}

/* every value of header name in m */
static void verp_headers(struct verp *v, GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < n && !v->found; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *hn = h ? g_mime_header_get_name(h) : NULL;
		const char *hv = h ? g_mime_header_get_raw_value(h) : NULL;
		if (hn && hv && !ascii_casecmp(hn, name))
			verp_scan(v, hv, strlen(hv));
	}
}

static int has_word(const char *s, const char *const *words, size_t n)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (bounce_memcasemem(s, strlen(s), words[i]))
			return 1;
	return 0;
}

static int vacation_subject(const char *subj)
{
	static const char *const words[] = {
		"out of office", "out of the office", "automatic reply", "auto reply",
		"auto-reply", "autoreply", "auto:", "auto response", "autoresponse",
		"auto-response", "vacation", "on leave", "away from", "abwesenheit",
		"absence", "absent", "automatische antwort", "réponse automatique",
		"respuesta automática", "автоответ", "Автоответ", "автоматический ответ",
		"Автоматический ответ", "отпуск", "Отпуск", "нет на месте", "Нет на месте",
		"вне офиса", "Вне офиса",
	};
	return has_word(subj, words, ARRAY_SIZE(words));
}

static int bounce_subject(const char *subj)
{
	static const char *const words[] = {
		"Undelivered Mail Returned to Sender", "Undeliverable", "Undelivered",
		"Mail delivery failed", "Delivery Status Notification", "Returned mail",
		"failure notice", "Delivery failure", "Delivery failed", "Mail System Error",
		"Mail failure", "Delivery Notification", "Non-delivery", "Nondeliverable",
		"Недоставленное сообщение", "Не доставлено", "Сообщение не доставлено",
		"не доставлено",
	};
	return has_word(subj, words, ARRAY_SIZE(words));
}

static int daemon_sender(const char *from)
{
	static const char *const words[] = {
		"mailer-daemon", "postmaster@", "mail delivery subsystem",
		"mail delivery system", "microsoftexchange", "mdaemon@",
	};
	return has_word(from, words, ARRAY_SIZE(words));
}

/* the message after a leading mbox "From " line */
static const char *skip_from_line(const char *msg, size_t *len)
{
	if (*len >= 5 && !memcmp(msg, "From ", 5)) {
		const char *nl = memchr(msg, '\n', *len);
		if (!nl) {
			*len = 0;
			return msg;
		}
		*len -= (size_t)(nl + 1 - msg);
		return nl + 1;
	}
	return msg;
}

static size_t count_content_types(const char *s, size_t len)
{
	size_t n = 0;

	for (const char *p = s; (p = bounce_memcasemem(p, len - (size_t)(p - s), "content-type"));
	     p += 12)
		if (++n > CONTENT_TYPES_MAX)
			break;
	return n;
}

static void verdict_dsn(struct bounce_result *r, struct walk *w)
{
	if (bounce_dsn_parse(w->dsn.buf, w->dsn.len, r) < 0) {
		r->kind = BOUNCE_UNKNOWN;
		return;
	}
	size_t nfail = 0;
	const struct bounce_rcpt *first = NULL;
	for (size_t i = 0; i < r->nrcpts; i++)
		if (r->rcpts[i].kind == r->kind) {
			nfail++;
			if (!first)
				first = &r->rcpts[i];
		}
	if (r->kind == BOUNCE_NONE)
		snprintf(r->reason, sizeof r->reason, "a DSN of delivery (no failure)");
	else if (first && first->status[0])
		snprintf(r->reason, sizeof r->reason, "DSN: %s %s for %zu of %zu recipient(s)",
			 bounce_kind_name(r->kind), first->status, nfail, r->nrcpts);
	else
		snprintf(r->reason, sizeof r->reason, "DSN: %s without a usable Status for %zu of "
			 "%zu recipient(s)", bounce_kind_name(r->kind), nfail, r->nrcpts);
}

static void classify(struct bounce_result *r, GMimeMessage *m, struct walk *w,
		     const char *text, size_t tlen, struct sb *arf_from)
{
	GMimeObject *o = GMIME_OBJECT(m);
	const char *subj = g_mime_message_get_subject(m);
	const char *from = g_mime_object_get_header(o, "From");
	const char *as = g_mime_object_get_header(o, "Auto-Submitted");
	const char *prec = g_mime_object_get_header(o, "Precedence");
	const char *failed = g_mime_object_get_header(o, "X-Failed-Recipients");
	int auto_replied = 0, auto_other = 0;

	if (as) {
		size_t n = strlen(as);
		const char *v = trim(as, &n);
		if (n >= 12 && !ascii_ncasecmp(v, "auto-replied", 12))
			auto_replied = 1;
		else if (n && !(n >= 2 && !ascii_ncasecmp(v, "no", 2) &&
				(n == 2 || v[2] == ' ' || v[2] == ';' || v[2] == '(')))
			auto_other = 1;
	}

	/* 1. a complaint */
	if (w->have_arf || w->report == 2) {
		if (!w->have_arf) {
			r->kind = BOUNCE_UNKNOWN;
			snprintf(r->reason, sizeof r->reason,
				 "a feedback report without its message/feedback-report part");
			return;
		}
		bounce_arf_parse(w->arf.buf, w->arf.len, r, arf_from);
		if (r->feedback_type && !strcmp(r->feedback_type, "not-spam")) {
			r->kind = BOUNCE_NONE;
			snprintf(r->reason, sizeof r->reason, "ARF feedback of type not-spam");
			for (size_t i = 0; i < r->nrcpts; i++)
				r->rcpts[i].kind = BOUNCE_NONE;
			return;
		}
		r->kind = BOUNCE_COMPLAINT;
		snprintf(r->reason, sizeof r->reason, "ARF complaint (%s)",
			 r->feedback_type ? r->feedback_type : "no Feedback-Type");
		return;
	}
	/* 2. a DSN */
	if (w->have_dsn) {
		verdict_dsn(r, w);
		return;
	}
	/* 3. a bounce text: said so by its sender, subject, headers or words */
	if (w->report == 1 || failed || daemon_sender(from) || bounce_subject(subj) ||
	    bounce_text_is_bounce(text, tlen)) {
		bounce_text_parse(text, tlen, failed, r);
		return;
	}
	/* 4. an auto-reply */
	if (auto_replied) {
		r->kind = BOUNCE_AUTOREPLY;
		snprintf(r->reason, sizeof r->reason, "Auto-Submitted: auto-replied");
		return;
	}
	if (g_mime_object_get_header(o, "X-Autoreply") ||
	    g_mime_object_get_header(o, "X-Autorespond") ||
	    g_mime_object_get_header(o, "X-Autoresponder")) {
		r->kind = BOUNCE_AUTOREPLY;
		snprintf(r->reason, sizeof r->reason, "an X-Autoreply or X-Autorespond header");
		return;
	}
	if (vacation_subject(subj)) {
		r->kind = BOUNCE_AUTOREPLY;
		snprintf(r->reason, sizeof r->reason, "a vacation subject");
		return;
	}
	if (auto_other) {
		r->kind = BOUNCE_AUTOREPLY;
		snprintf(r->reason, sizeof r->reason, "Auto-Submitted without a report");
		return;
	}
	if (prec) {
		size_t n = strlen(prec);
		const char *v = trim(prec, &n);
		if ((n >= 4 && (!ascii_ncasecmp(v, "bulk", 4) || !ascii_ncasecmp(v, "junk", 4) ||
				!ascii_ncasecmp(v, "list", 4))) ||
		    (n >= 10 && !ascii_ncasecmp(v, "auto_reply", 10))) {
			r->kind = BOUNCE_AUTOREPLY;
			snprintf(r->reason, sizeof r->reason, "Precedence: %.*s without a report",
				 (int)(n > 16 ? 16 : n), v);
			return;
		}
	}
	r->kind = BOUNCE_NONE;
	snprintf(r->reason, sizeof r->reason, "not a report: ordinary mail");
}

int bounce_parse(const char *msg, size_t len, const char *secret, const char *envelope_to,
		 struct bounce_result *out)
{
	GMimeStream *st;
	GMimeParser *ps;
	GMimeMessage *m;
	struct walk w = { 0 };
	struct verp v = { .secret = secret };
	struct sb body = SB_INIT, arf_from = SB_INIT;
	const char *text;
	size_t tlen, view;
	int truncated;

	memset(out, 0, sizeof *out);
	out->kind = BOUNCE_UNKNOWN;
	if (msg)
		msg = skip_from_line(msg, &len);
	if (!msg || !len) {
		snprintf(out->reason, sizeof out->reason, "not a message: no bytes");
		return -1;
	}
	view = len < BOUNCE_INPUT_MAX ? len : BOUNCE_INPUT_MAX;
	truncated = view < len;
	if (count_content_types(msg, view) > CONTENT_TYPES_MAX) {
		snprintf(out->reason, sizeof out->reason,
			 "more than %d MIME parts: not parsed", CONTENT_TYPES_MAX);
		verp_scan(&v, envelope_to, envelope_to ? strlen(envelope_to) : 0);
		out->outbox_id = v.found ? v.id : 0;
		out->token_bad = !v.found && v.bad;
		return 0;
	}
	pthread_once(&gmime_once, gmime_start);
	st = g_mime_stream_mem_new_with_buffer(msg, view);
	ps = g_mime_parser_new_with_stream(st);
	g_object_unref(st);
	g_mime_parser_set_format(ps, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(ps, NULL);
	g_object_unref(ps);
	if (!m) {
		snprintf(out->reason, sizeof out->reason, "not a message: no header could be parsed");
		return -1;
	}
	{
		GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
		if (!hl || g_mime_header_list_get_count(hl) == 0) {
			g_object_unref(m);
			snprintf(out->reason, sizeof out->reason, "not a message: no header fields");
			return -1;
		}
	}

	sb_init(&w.dsn);
	sb_init(&w.arf);
	sb_init(&w.text);
	sb_init(&w.html);
	sb_init(&w.orig_rpath);
	walk(&w, g_mime_message_get_mime_part(m), 0);
	if (w.have_text && w.text.len) {
		text = w.text.buf;
		tlen = w.text.len;
	} else {
		html_text(w.html.buf, w.html.len, &body);
		text = body.buf;
		tlen = body.len;
	}
	/* a bounce text's copy of the original */
	if (!w.have_orig && tlen) {
		size_t c = bounce_text_copy_start(text, tlen);
		if (c < tlen)
			orig_headers(&w, text + c, tlen - c);
	}

	classify(out, m, &w, text, tlen, &arf_from);
	if (truncated && (out->kind == BOUNCE_NONE || out->kind == BOUNCE_UNKNOWN)) {
		size_t n = strlen(out->reason);
		snprintf(out->reason + n, sizeof out->reason - n, " (first %u KiB read)",
			 BOUNCE_INPUT_MAX / 1024);
	}

	/* the outbox row */
	verp_scan(&v, envelope_to, envelope_to ? strlen(envelope_to) : 0);
	verp_headers(&v, GMIME_OBJECT(m), "Delivered-To");
	verp_headers(&v, GMIME_OBJECT(m), "X-Original-To");
	verp_headers(&v, GMIME_OBJECT(m), "To");
	verp_scan(&v, arf_from.buf, arf_from.len);
	verp_scan(&v, w.orig_rpath.buf, w.orig_rpath.len);
	out->outbox_id = v.found ? v.id : 0;
	out->token_bad = !v.found && v.bad;
	out->message_id = w.orig_msgid;
	w.orig_msgid = NULL;

	g_object_unref(m);
	sb_free(&w.dsn);
	sb_free(&w.arf);
	sb_free(&w.text);
	sb_free(&w.html);
	sb_free(&w.orig_rpath);
	sb_free(&body);
	sb_free(&arf_from);
	return 0;
}
