/*
 * bounce_text.c - bounces that carry no message/delivery-status part:
 * the texts of Exim ("This message was created automatically by mail
 * delivery software"), Postfix without DSN, Exchange and Outlook NDRs,
 * Gmail, qmail, Yandex and Mail.ru. Only an SMTP reply code in the text
 * makes a verdict; without one the text is BOUNCE_UNKNOWN, never hard.
 */
#include <string.h>

#include "bounce_int.h"

static const char *const bounce_phrases[] = {
	"This message was created automatically by mail delivery software",
	"This is the mail system at host",                 /* Postfix */
	"I'm afraid I wasn't able to deliver",              /* Postfix (old) */
	"could not be delivered to one or more",
	"Delivery has failed to these recipients",          /* Exchange */
	"Your message wasn't delivered",                    /* Exchange Online */
	"Your message couldn't be delivered",
	"Delivery to the following recipient failed",       /* Gmail */
	"Delivery to the following recipients failed",
	"Delivery Status Notification",
	"wasn't delivered to",                              /* Gmail */
	"I'm sorry to have to inform you that your message could not", /* qmail */
	"Hi. This is the qmail-send program",
	"The following message to <",                       /* Sendmail */
	"The original message was received at",             /* Sendmail */
	"Unable to deliver message to",
	"Message delivery to",
	"Undelivered Mail Returned to Sender",
	"Mail delivery failed",
	"Не удалось доставить",                             /* Yandex */
	"Сообщение не удалось доставить",
	"не может быть доставлено",
	"Ваше сообщение не доставлено",                     /* Mail.ru */
	"не было доставлено",
};

int bounce_text_is_bounce(const char *text, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(bounce_phrases); i++)
		if (bounce_memcasemem(text, len, bounce_phrases[i]))
			return 1;
	return 0;
}

size_t bounce_text_copy_start(const char *text, size_t len)
{
	static const char *const markers[] = {
		"------ This is a copy of the message",   /* Exim */
		"------ This is a copy of your message",
		"--- Below this line is a copy of the message", /* qmail */
		"----- Original message -----",
		"-----Original Message-----",
		"------ Original message",
		"Original message headers:",               /* Exchange */
		"----- Transcript of session follows",     /* Sendmail: not a copy, but the codes */
	};
	size_t best = len;

	for (size_t i = 0; i < ARRAY_SIZE(markers); i++) {
		if (i == ARRAY_SIZE(markers) - 1)
			break; /* Sendmail's transcript holds the codes */
		const char *m = bounce_memcasemem(text, len, markers[i]);
		if (m && (size_t)(m - text) < best)
			best = (size_t)(m - text);
	}
	/* a quoted original's header lines at the start of a line */
	for (size_t i = 0; i < best; i++) {
		if (i && text[i - 1] != '\n')
			continue;
		if (!ascii_ncasecmp(text + i, "Return-Path:", 12) ||
		    !ascii_ncasecmp(text + i, "Received: from", 14)) {
			best = i;
			break;
		}
	}
	return best;
}

/* a basic reply code at s[i] ("550 " or "550-", not inside a number) */
static int reply_code_at(const char *s, size_t len, size_t i)
{
	if (i + 4 > len || (s[i] != '4' && s[i] != '5'))
		return 0;
	if (!ascii_isdigit((unsigned char)s[i + 1]) || !ascii_isdigit((unsigned char)s[i + 2]))
		return 0;
	if (s[i + 1] > '5' || (s[i + 3] != ' ' && s[i + 3] != '-'))
		return 0;
	if (i > 0) {
		char b = s[i - 1];
		if (b != ' ' && b != '\t' && b != '\n' && b != '#' && b != ';' && b != ':' &&
		    b != '>' && b != '(' && b != '"' && b != '\'')
			return 0;
	}
	return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
}

/* the line of s[0..len) around offset at */
static void line_of(const char *s, size_t len, size_t at, size_t *b, size_t *e)
{
	*b = at;
	while (*b > 0 && s[*b - 1] != '\n')
		(*b)--;
	*e = at;
	while (*e < len && s[*e] != '\n' && s[*e] != '\r')
		(*e)++;
}

/* an address in s[0..len): "<a@b>" or a bare a@b; its span, or 0 */
static int find_addr(const char *s, size_t len, size_t *ab, size_t *alen)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '@')
			continue;
		size_t b = i, e = i + 1;
		while (b > 0 && s[b - 1] > ' ' && s[b - 1] != '<' && s[b - 1] != '(' &&
		       s[b - 1] != '"' && s[b - 1] != ':' && s[b - 1] != ',' && s[b - 1] != ';' &&
		       (unsigned char)s[b - 1] < 0x7f)
			b--;
		while (e < len && s[e] > ' ' && s[e] != '>' && s[e] != ')' && s[e] != '"' &&
		       s[e] != ',' && s[e] != ';' && (unsigned char)s[e] < 0x7f)
			e++;
		while (e > i + 1 && (s[e - 1] == '.' || s[e - 1] == ':'))
			e--;
		if (b < i && e > i + 1 && memchr(s + i + 1, '.', e - i - 1)) {
			*ab = b;
			*alen = e - b;
			return 1;
		}
	}
	return 0;
}

int bounce_text_parse(const char *text, size_t len, const char *failed, struct bounce_result *r)
{
	size_t end = bounce_text_copy_start(text, len);
	char st[16] = "";
	long at = -1;
	int code = 0;
	size_t lb, le;
	enum bounce_kind k;

	/* the first reply, preferring one with an enhanced status */
	at = bounce_find_status(text, end, st);
	if (at < 0)
		for (size_t i = 0; i < end; i++)
			if ((code = reply_code_at(text, end, i))) {
				at = (long)i;
				break;
			}
	if (at < 0) {
		r->kind = BOUNCE_UNKNOWN;
		snprintf(r->reason, sizeof r->reason,
			 "a bounce text without an SMTP reply code");
		if (failed && *failed) {
			size_t n = strlen(failed);
			const char *f = trim(failed, &n);
			size_t ab, alen;
			if (find_addr(f, n, &ab, &alen))
				bounce_add_rcpt(r, f + ab, alen, NULL, BOUNCE_UNKNOWN, NULL, 0);
		}
		return 0;
	}
	if (st[0]) {
		k = bounce_status_kind(st);
		if (k == BOUNCE_NONE)
			k = BOUNCE_UNKNOWN;
	} else {
		/* a reply code without an enhanced status */
		st[0] = (char)('0' + code / 100);
		memcpy(st + 1, ".0.0", 5);
		k = code / 100 == 4 ? BOUNCE_SOFT : code == 552 ? BOUNCE_SOFT : BOUNCE_UNKNOWN;
	}
	line_of(text, end, (size_t)at, &lb, &le);
	k = bounce_policy_refine(k, st, text + lb, le - lb);
	if (k == BOUNCE_UNKNOWN && st[0] == '5') {
		k = bounce_words_kind(text + lb, le - lb);
		if (k == BOUNCE_UNKNOWN)
			snprintf(r->reason, sizeof r->reason,
				 "a bounce text with a permanent failure of no known kind (%s)", st);
	}
	r->kind = k;

	/* the failed address: X-Failed-Recipients (Exim), the reply's line,
	 * or the nearest line above it with an address */
	int added = 0;
	if (failed && *failed) {
		const char *f = failed;
		size_t n = strlen(failed);
		while (n) {
			size_t ab, alen;
			if (!find_addr(f, n, &ab, &alen))
				break;
			bounce_add_rcpt(r, f + ab, alen, st, k, text + lb, le - lb);
			added++;
			f += ab + alen;
			n -= ab + alen;
		}
	}
	if (!added) {
		size_t ab, alen, b = lb, e = le;
		for (int tries = 0; tries < 8; tries++) {
			if (find_addr(text + b, e - b, &ab, &alen)) {
				bounce_add_rcpt(r, text + b + ab, alen, st, k, text + lb, le - lb);
				added++;
				break;
			}
			if (b == 0)
				break;
			line_of(text, end, b - 1, &b, &e);
		}
	}
	if (!added)
		bounce_add_rcpt(r, "", 0, st, k, text + lb, le - lb);
	if (!r->reason[0])
		snprintf(r->reason, sizeof r->reason, "a bounce text with %s", st);
	return 1;
}
