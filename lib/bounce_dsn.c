/*
 * bounce_dsn.c - the fields of RFC 3464 delivery status notifications and
 * RFC 5965 feedback reports, and what RFC 3463 status codes mean for the
 * address (see bounce.h). No GMime here: bounce.c hands over the decoded
 * text of the parts.
 */
#include <stdlib.h>
#include <string.h>

#include "bounce_int.h"
#include "norm.h"

const char *bounce_memcasemem(const char *h, size_t hlen, const char *needle)
{
	size_t n = strlen(needle);

	if (!n)
		return h;
	for (size_t i = 0; i + n <= hlen; i++)
		if (ascii_lower((unsigned char)h[i]) == ascii_lower((unsigned char)needle[0]) &&
		    !ascii_ncasecmp(h + i, needle, n))
			return h + i;
	return NULL;
}

int bf_next(const char **pp, const char *end, struct sb *name, struct sb *value)
{
	const char *p = *pp, *eol, *colon;

	sb_reset(name);
	sb_reset(value);
	if (p >= end)
		return -1;
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	{
		size_t n = (size_t)(eol - p);
		const char *t = trim(p, &n);
		if (!n) {
			(void)t;
			*pp = eol < end ? eol + 1 : end;
			return 0;
		}
	}
	colon = memchr(p, ':', (size_t)(eol - p));
	if (colon && colon > p) {
		size_t n = (size_t)(colon - p);
		const char *t = trim(p, &n);
		int okname = n > 0 && n < 64;
		for (size_t i = 0; okname && i < n; i++)
			okname = t[i] > ' ' && t[i] < 127;
		if (okname)
			sb_add(name, t, n);
		else
			colon = NULL;
	} else {
		colon = NULL;
	}
	/* the value: the rest of the line and its continuation lines */
	const char *v = colon ? colon + 1 : p;
	for (;;) {
		size_t n = (size_t)(eol - v);
		const char *t = trim(v, &n);
		if (n && value->len < BF_VALUE_MAX) {
			if (value->len)
				sb_addc(value, ' ');
			if (n > BF_VALUE_MAX - value->len)
				n = BF_VALUE_MAX - value->len;
			sb_add(value, t, n);
		}
		p = eol < end ? eol + 1 : end;
		if (p >= end || (*p != ' ' && *p != '\t'))
			break;
		/* a continuation line, unless it is blank */
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		n = (size_t)(eol - p);
		trim(p, &n);
		if (!n)
			break;
		v = p;
	}
	*pp = p;
	return 1;
}

int bounce_status_ok(const char *s)
{
	int parts = 0, digits = 0;

	if (!s || (*s != '2' && *s != '4' && *s != '5'))
		return 0;
	for (const char *p = s; ; p++) {
		if (ascii_isdigit((unsigned char)*p)) {
			if (++digits > 3)
				return 0;
		} else if (*p == '.' || !*p) {
			if (!digits || (parts == 0 && digits != 1))
				return 0;
			parts++;
			digits = 0;
			if (!*p)
				break;
		} else {
			return 0;
		}
	}
	return parts == 3 && strlen(s) < 16;
}

/* the subject and detail of a well-formed status */
static void status_sd(const char *s, int *subject, int *detail)
{
	const char *p = strchr(s, '.') + 1;

	*subject = 0;
	while (ascii_isdigit((unsigned char)*p))
		*subject = *subject * 10 + (*p++ - '0');
	p++;
	*detail = 0;
	while (ascii_isdigit((unsigned char)*p))
		*detail = *detail * 10 + (*p++ - '0');
}

enum bounce_kind bounce_status_kind(const char *status)
{
	int subject, detail;

	if (!bounce_status_ok(status))
		return BOUNCE_UNKNOWN;
	status_sd(status, &subject, &detail);
	switch (status[0]) {
	case '2':
		return BOUNCE_NONE;
	case '4':
		return BOUNCE_SOFT;
	}
	switch (subject) {
	case 0:
		return BOUNCE_UNKNOWN;
	case 1:
		/* X.1.7 and X.1.8 are the sender's address, not theirs */
		return detail == 7 || detail == 8 ? BOUNCE_POLICY : BOUNCE_HARD;
	case 2:
		return detail == 1 ? BOUNCE_HARD : BOUNCE_SOFT;
	case 7:
		return BOUNCE_POLICY;
	default:
		/* 5.3 mail system, 5.4 routing, 5.5 protocol, 5.6 content:
		 * permanent, but not the mailbox's fault */
		return BOUNCE_SOFT;
	}
}

enum bounce_kind bounce_graver(enum bounce_kind a, enum bounce_kind b)
{
	static const enum bounce_kind order[] = {
		BOUNCE_HARD, BOUNCE_COMPLAINT, BOUNCE_SOFT, BOUNCE_POLICY, BOUNCE_UNKNOWN,
		BOUNCE_DELAYED, BOUNCE_AUTOREPLY, BOUNCE_NONE,
	};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return BOUNCE_UNKNOWN;
}

/* an enhanced status starting at s[i]: its length, or 0 */
static size_t status_at(const char *s, size_t len, size_t i, char status[16])
{
	size_t j = i, parts = 0;

	if (i >= len || (s[i] != '2' && s[i] != '4' && s[i] != '5'))
		return 0;
	if (i > 0 && (ascii_isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.'))
		return 0;
	while (parts < 3) {
		size_t d = 0;
		while (j < len && ascii_isdigit((unsigned char)s[j]) && d < 4)
			j++, d++;
		if (!d || d > 3 || (parts == 0 && d != 1))
			return 0;
		parts++;
		if (parts < 3) {
			if (j >= len || s[j] != '.')
				return 0;
			j++;
		}
	}
	if (j < len && (ascii_isdigit((unsigned char)s[j]) ||
			(s[j] == '.' && j + 1 < len && ascii_isdigit((unsigned char)s[j + 1]))))
		return 0;
	memcpy(status, s + i, j - i);
	status[j - i] = 0;
	return bounce_status_ok(status) ? j - i : 0;
}

long bounce_find_status(const char *s, size_t len, char status[16])
{
	char st[16];

	/* first choice: after a reply code ("550 5.1.1", "550-5.1.1",
	 * "#550 5.1.1"), after "#" or ";" (Exchange's "#5.1.1", a DSN's
	 * "smtp; 5.1.1"), or at the start of the text */
	for (size_t i = 0; i < len; i++) {
		if (!status_at(s, len, i, st))
			continue;
		int before = 0;
		if (i == 0)
			before = 1;
		else if (s[i - 1] == '#' || s[i - 1] == ';' || s[i - 1] == '(')
			before = 1;
		else if ((s[i - 1] == ' ' || s[i - 1] == '-') && i >= 4 &&
			 (s[i - 4] == '2' || s[i - 4] == '4' || s[i - 4] == '5') &&
			 ascii_isdigit((unsigned char)s[i - 3]) &&
			 ascii_isdigit((unsigned char)s[i - 2]) &&
			 (i == 4 || !ascii_isdigit((unsigned char)s[i - 5])))
			before = 1;
		else if (s[i - 1] == ' ' && i >= 2 && (s[i - 2] == ';' || s[i - 2] == ':'))
			before = 1;
		if (before) {
			memcpy(status, st, sizeof st);
			return (long)i;
		}
	}
	status[0] = 0;
	return -1;
}

enum bounce_kind bounce_policy_refine(enum bounce_kind k, const char *status, const char *s,
				     size_t len)
{
	/* Yandex answers an address that does not exist with "550 5.7.1 No
	 * such user!": a 5.7.1 whose words say only that the user is unknown
	 * (no policy word: those are looked for first) is a hard bounce */
	if (k == BOUNCE_POLICY && status && !strcmp(status, "5.7.1") &&
	    bounce_words_kind(s, len) == BOUNCE_HARD)
		return BOUNCE_HARD;
	return k;
}

enum bounce_kind bounce_words_kind(const char *s, size_t len)
{
	static const char *const policy[] = {
		"spam", "blocked", "blacklist", "blocklist", "block list", "denylist",
		"dmarc", "spf ", "spf:", "dkim", "reputation", "policy", "rbl", "spamhaus",
		"not allowed", "relay access denied", "relaying denied", "access denied",
	};
	static const char *const full[] = {
		"mailbox full", "mailbox is full", "over quota", "quota exceeded",
		"exceeded storage", "insufficient storage", "out of storage",
		"mailbox size limit", "переполнен",
	};
	static const char *const unknown[] = {
		"user unknown", "unknown user", "no such user", "no such mailbox",
		"no such recipient", "mailbox not found", "mailbox unavailable",
		"does not exist", "doesn't exist", "recipient not found", "invalid recipient",
		"unknown recipient", "recipient unknown", "address not found",
		"account disabled", "account has been disabled", "no mailbox here",
		"user not found", "invalid mailbox", "mailbox is unavailable",
		"нет такого пользователя", "не существует",
	};
	/* policy first: "blocked ... user unknown" is not evidence enough */
	for (size_t i = 0; i < ARRAY_SIZE(policy); i++)
		if (bounce_memcasemem(s, len, policy[i]))
			return BOUNCE_POLICY;
	for (size_t i = 0; i < ARRAY_SIZE(full); i++)
		if (bounce_memcasemem(s, len, full[i]))
			return BOUNCE_SOFT;
	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++)
		if (bounce_memcasemem(s, len, unknown[i]))
			return BOUNCE_HARD;
	return BOUNCE_UNKNOWN;
}

char *bounce_diag(const char *s, size_t len)
{
	struct sb o = SB_INIT;
	size_t bad;

	for (size_t i = 0; i < len && o.len < BOUNCE_DIAG_MAX; ) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			if (o.len && o.buf[o.len - 1] != ' ')
				sb_addc(&o, ' ');
			i++;
			continue;
		}
		if (c == ' ' && o.len && o.buf[o.len - 1] == ' ') {
			i++;
			continue;
		}
		if (c < 0x80) {
			if (c != ' ' || o.len)
				sb_addc(&o, c);
			i++;
			continue;
		}
		/* one UTF-8 character, whole, or '?' */
		size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (i + n <= len && utf8_valid(s + i, n, &bad)) {
			if (o.len + n > BOUNCE_DIAG_MAX)
				break;
			sb_add(&o, s + i, n);
			i += n;
		} else {
			sb_addc(&o, '?');
			i++;
		}
	}
	while (o.len && o.buf[o.len - 1] == ' ')
		o.buf[--o.len] = 0;
	return sb_detach(&o);
}

struct bounce_rcpt *bounce_add_rcpt(struct bounce_result *r, const char *addr, size_t alen,
				    const char *status, enum bounce_kind kind,
				    const char *diag, size_t dlen)
{
	struct bounce_rcpt *rc;
	struct sb a = SB_INIT;
	const char *why;

	if (r->nrcpts >= BOUNCE_RCPTS_MAX)
		return NULL;
	r->rcpts = xrealloc(r->rcpts, (r->nrcpts + 1) * sizeof *r->rcpts);
	rc = &r->rcpts[r->nrcpts++];
	memset(rc, 0, sizeof *rc);
	if (alen > 320)
		alen = 320;
	if (norm_email(addr, alen, &a, &why) == 0) {
		rc->address = sb_detach(&a);
	} else {
		sb_free(&a);
		rc->address = bounce_diag(addr, alen);
	}
	if (status && bounce_status_ok(status))
		strcpy(rc->status, status);
	rc->kind = kind;
	rc->diagnostic = diag && dlen ? bounce_diag(diag, dlen) : NULL;
	return rc;
}

/* "rfc822; user@example.com" -> "user@example.com" */
static const char *after_type(const char *v, size_t *n)
{
	const char *semi = memchr(v, ';', *n);

	if (semi) {
		*n -= (size_t)(semi + 1 - v);
		v = semi + 1;
	}
	return trim(v, n);
}

static int is(const struct sb *name, const char *want)
{
	return !ascii_casecmp(name->buf, want);
}

int bounce_dsn_parse(const char *s, size_t len, struct bounce_result *r)
{
	struct sb name = SB_INIT, val = SB_INIT;
	struct sb addr = SB_INIT, orig = SB_INIT, action = SB_INIT, status = SB_INIT,
		  diag = SB_INIT;
	const char *p = s, *end = s + len;
	int block = 0, rc, nblocks = 0, nfields = 0;
	enum bounce_kind all = BOUNCE_NONE;

	r->kind = BOUNCE_UNKNOWN;
	for (;;) {
		rc = bf_next(&p, end, &name, &val);
		if (rc == 1 && name.len) {
			size_t n = val.len;
			const char *v;
			nfields++;
			if (block == 0 && is(&name, "Reporting-MTA")) {
				v = after_type(val.buf, &n);
				if (!r->reporting_mta && n)
					r->reporting_mta = bounce_diag(v, n);
			} else if (is(&name, "Final-Recipient")) {
				v = after_type(val.buf, &n);
				sb_reset(&addr);
				sb_add(&addr, v, n);
			} else if (is(&name, "Original-Recipient")) {
				v = after_type(val.buf, &n);
				sb_reset(&orig);
				sb_add(&orig, v, n);
			} else if (is(&name, "Action")) {
				sb_reset(&action);
				sb_add(&action, val.buf, val.len);
			} else if (is(&name, "Status")) {
				/* "5.1.1" or "5.1.1 (user unknown)" */
				size_t k = 0;
				while (k < val.len && val.buf[k] != ' ' && val.buf[k] != '(')
					k++;
				sb_reset(&status);
				sb_add(&status, val.buf, k);
			} else if (is(&name, "Diagnostic-Code")) {
				v = after_type(val.buf, &n);
				sb_reset(&diag);
				sb_add(&diag, v, n);
			}
			if (block == 0 && (is(&name, "Final-Recipient") || is(&name, "Action") ||
					   is(&name, "Status"))) {
				/* no per-message block: this is the first recipient's */
				block = 1;
			}
			continue;
		}
		if (rc == 1)
			continue;
		/* the end of a block */
		if (block > 0 && (addr.len || orig.len || action.len || status.len)) {
			enum bounce_kind k;
			char st[16] = "";
			const char *a = addr.len ? addr.buf : orig.buf;
			size_t alen = addr.len ? addr.len : orig.len;

			if (bounce_status_ok(status.buf))
				strcpy(st, status.buf);
			/* a bare X.0.0 (or none): a more specific code of the
			 * same class in the diagnostic ("smtp; 550 5.1.1 ...") */
			if (!st[0] || (st[2] == '0' && st[3] == '.' && !strcmp(st + 4, "0"))) {
				char d[16];
				if (bounce_find_status(diag.buf, diag.len, d) >= 0 &&
				    (!st[0] || d[0] == st[0]))
					strcpy(st, d);
			}
			if (!ascii_casecmp(action.buf, "delayed")) {
				k = BOUNCE_DELAYED;
			} else if (!ascii_casecmp(action.buf, "delivered") ||
				   !ascii_casecmp(action.buf, "relayed") ||
				   !ascii_casecmp(action.buf, "expanded")) {
				k = BOUNCE_NONE;
			} else {
				/* failed, or no usable Action: the status decides */
				k = bounce_status_kind(st);
				if (k == BOUNCE_NONE && ascii_casecmp(action.buf, "failed"))
					k = BOUNCE_NONE;
				else if (k == BOUNCE_NONE)
					k = BOUNCE_UNKNOWN; /* failed with 2.x.x */
				if (k == BOUNCE_UNKNOWN && st[0] == '5')
					k = bounce_words_kind(diag.buf, diag.len);
				if (k == BOUNCE_UNKNOWN && !st[0] && !ascii_casecmp(action.buf, "failed"))
					k = bounce_words_kind(diag.buf, diag.len);
				k = bounce_policy_refine(k, st, diag.buf, diag.len);
			}
			bounce_add_rcpt(r, a, alen, st, k, diag.buf, diag.len);
			all = nblocks++ ? bounce_graver(all, k) : k;
		}
		sb_reset(&addr);
		sb_reset(&orig);
		sb_reset(&action);
		sb_reset(&status);
		sb_reset(&diag);
		if (rc < 0)
			break;
		if (nfields)
			block++;
		nfields = 0;
	}
	sb_free(&name);
	sb_free(&val);
	sb_free(&addr);
	sb_free(&orig);
	sb_free(&action);
	sb_free(&status);
	sb_free(&diag);
	if (!nblocks) {
		snprintf(r->reason, sizeof r->reason, "a delivery-status part without a recipient");
		return -1;
	}
	r->kind = all;
	return 0;
}

void bounce_arf_parse(const char *s, size_t len, struct bounce_result *r, struct sb *mail_from)
{
	struct sb name = SB_INIT, val = SB_INIT;
	const char *p = s, *end = s + len;
	int rc;

	sb_reset(mail_from);
	while ((rc = bf_next(&p, end, &name, &val)) >= 0) {
		if (rc == 0 || !name.len)
			continue;
		if (is(&name, "Feedback-Type") && !r->feedback_type && val.len) {
			size_t n = 0;
			while (n < val.len && n < 32 &&
			       (ascii_isalpha((unsigned char)val.buf[n]) ||
				ascii_isdigit((unsigned char)val.buf[n]) || val.buf[n] == '-' ||
				val.buf[n] == '_' || val.buf[n] == '.'))
				n++;
			if (n) {
				r->feedback_type = xstrndup(val.buf, n);
				for (char *c = r->feedback_type; *c; c++)
					*c = (char)ascii_lower((unsigned char)*c);
			}
		} else if (is(&name, "Reporting-MTA") && !r->reporting_mta) {
			size_t n = val.len;
			const char *v = after_type(val.buf, &n);
			if (n)
				r->reporting_mta = bounce_diag(v, n);
		} else if (is(&name, "Original-Mail-From") && !mail_from->len) {
			sb_add(mail_from, val.buf, val.len);
		} else if (is(&name, "Original-Rcpt-To") || is(&name, "Removal-Recipient")) {
			size_t n = val.len;
			const char *v = trim(val.buf, &n);
			if (n && bounce_add_rcpt(r, v, n, NULL, BOUNCE_COMPLAINT, NULL, 0)) {
				/* Removal-Recipient usually repeats Original-Rcpt-To */
				struct bounce_rcpt *last = &r->rcpts[r->nrcpts - 1];
				for (size_t i = 0; i + 1 < r->nrcpts; i++)
					if (!strcmp(r->rcpts[i].address, last->address)) {
						free(last->address);
						free(last->diagnostic);
						r->nrcpts--;
						break;
					}
			}
		}
	}
	sb_free(&name);
	sb_free(&val);
}
