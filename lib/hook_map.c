/*
 * hook_map.c - the payload side of provider callbacks: JSON (numbers kept
 * as their digits) and form bodies, paths, and the "rules" of a preset
 * that turn a payload into records. The language is described in
 * share/hooks/README; every preset is checked when it is loaded, so that
 * a request can only fail on its own data.
 */
#include "hook_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "hash.h"
#include "token.h"

#define PATH_SEG_MAX 128

/* ---- parsing ---------------------------------------------------------- */

/* Is s[0..n) a JSON number (RFC 8259)? */
static int json_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && ascii_isdigit((unsigned char)s[i]))
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && ascii_isdigit((unsigned char)s[i]))
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && ascii_isdigit((unsigned char)s[i]))
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

cJSON *hook_parse_json(const char *s, size_t len)
{
	struct sb b = SB_INIT;
	cJSON *j = NULL;
	size_t i = 0;

	if (memchr(s, 0, len))
		return NULL;
	sb_grow(&b, len + len / 4 + 16);
	while (i < len) {
		char c = s[i];
		if (c == '"') {
			size_t k = i + 1;
			while (k < len && s[k] != '"')
				k += s[k] == '\\' ? 2 : 1;
			if (k >= len)
				goto out;	/* an unterminated string */
			sb_add(&b, s + i, k - i + 1);
			i = k + 1;
		} else if (c == '-' || ascii_isdigit((unsigned char)c)) {
			size_t k = i;
			while (k < len && (ascii_isdigit((unsigned char)s[k]) || s[k] == '-' ||
					   s[k] == '+' || s[k] == '.' || s[k] == 'e' || s[k] == 'E'))
				k++;
			if (!json_number(s + i, k - i))
				goto out;
			sb_addc(&b, '"');
			sb_add(&b, s + i, k - i);
			sb_addc(&b, '"');
			i = k;
		} else {
			sb_addc(&b, c);
			i++;
		}
	}
	j = cJSON_ParseWithOpts(b.buf, NULL, 1);
out:
	sb_free(&b);
	return j;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 32;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int form_decode(const char *s, size_t n, struct sb *out)
{
	sb_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			sb_addc(out, ' ');
		} else if (s[i] == '%') {
			int a, b;
			if (i + 2 >= n || (a = hexval((unsigned char)s[i + 1])) < 0 ||
			    (b = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			if (a == 0 && b == 0)
				return -1;	/* no NUL inside a value */
			sb_addc(out, (char)(a * 16 + b));
			i += 2;
		} else {
			sb_addc(out, s[i]);
		}
	}
	return 0;
}

cJSON *hook_parse_form(const char *s, size_t len, cJSON **pairs)
{
	cJSON *o = cJSON_CreateObject(), *p = cJSON_CreateArray();
	struct sb name = SB_INIT, val = SB_INIT;
	size_t i = 0;

	if (!o || !p)
		crm_die(1, "out of memory");
	while (i < len) {
		size_t e = i, eq;
		cJSON *pair;
		while (e < len && s[e] != '&')
			e++;
		if (e == i) {
			i++;
			continue;
		}
		for (eq = i; eq < e && s[eq] != '='; eq++)
			;
		if (form_decode(s + i, eq - i, &name) < 0 || !name.len ||
		    form_decode(s + (eq < e ? eq + 1 : e), eq < e ? e - eq - 1 : 0, &val) < 0 ||
		    !utf8_valid(name.buf, name.len, &(size_t){ 0 }) ||
		    !utf8_valid(val.buf, val.len, &(size_t){ 0 })) {
			cJSON_Delete(o);
			cJSON_Delete(p);
			sb_free(&name);
			sb_free(&val);
			return NULL;
		}
		if (!cJSON_GetObjectItemCaseSensitive(o, name.buf))
			cJSON_AddStringToObject(o, name.buf, val.buf);
		if (!(pair = cJSON_CreateArray()))
			crm_die(1, "out of memory");
		cJSON_AddItemToArray(pair, cJSON_CreateString(name.buf));
		cJSON_AddItemToArray(pair, cJSON_CreateString(val.buf));
		cJSON_AddItemToArray(p, pair);
		i = e + 1;
	}
	sb_free(&name);
	sb_free(&val);
	*pairs = p;
	return o;
}


const char *hook_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	return NULL;
}

/* ---- times ------------------------------------------------------------ */

static void fmt_time(int64_t t, char out[20])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!ascii_isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* 2016-01-27T14:59:38.237Z, 2019-11-05T16:33:54.9070259-05:00, a space
 * for the T, no zone (UTC). */
int hook_iso_time(const char *s, char out[20], int64_t *unix_out)
{
	int Y, M, D, h, m, sec, zh = 0, zm = 0, sign = 0;
	struct tm tm;
	int64_t t;
	size_t n = strlen(s);
	const char *p;

	if (n < 19 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
	    digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	p = s + 19;
	if (*p == '.' || *p == ',') {
		p++;
		if (!ascii_isdigit((unsigned char)*p))
			return -1;
		while (ascii_isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (digits(p + 1, 2, &zh))
			return -1;
		p += 3;
		if (*p == ':')
			p++;
		if (digits(p, 2, &zm))
			return -1;
		p += 2;
	}
	if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 ||
	    zh > 23 || zm > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) - sign * (zh * 3600 + zm * 60);
	if (unix_out)
		*unix_out = t;
	if (out)
		fmt_time(t, out);
	return 0;
}

/* Seconds (with a fraction) or milliseconds since 1970 -> text. */
static int unix_time(const char *s, int ms, char out[20])
{
	int64_t t = 0;
	const char *p = s;

	if (!ascii_isdigit((unsigned char)*p))
		return -1;
	for (; ascii_isdigit((unsigned char)*p); p++) {
		if (t > 100000000000000LL)
			return -1;
		t = t * 10 + (*p - '0');
	}
	if (*p == '.' && !ms) {
		p++;
		while (ascii_isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return -1;
	if (ms)
		t /= 1000;
	if (t > 253402300799LL)	/* 9999-12-31 */
		return -1;
	fmt_time(t, out);
	return 0;
}

static int is_time_text(const char *s)
{
	static const char pat[] = "dddd-dd-dd dd:dd:dd";

	if (strlen(s) != 19)
		return 0;
	for (int i = 0; i < 19; i++)
		if (pat[i] == 'd' ? !ascii_isdigit((unsigned char)s[i]) : s[i] != pat[i])
			return 0;
	return 1;
}

/* ---- the rules --------------------------------------------------------- */

static const char *const fns[] = {
	"keyword", "command", "command_arg", "lower", "unix", "unix_ms", "iso8601", "msgid", NULL,
};

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

static int path_ok(const char *p, size_t n)
{
	if (!n || n >= 256)
		return 0;
	if (p[0] == '@') {
		p++;
		n--;
		if (!n)
			return 1;
		if (p[0] != '.')
			return 0;
		p++;
		n--;
	}
	if (!n || p[0] == '.' || p[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '{' || p[i] == '}' || (p[i] == '.' && p[i + 1] == '.') ||
		    (unsigned char)p[i] < 0x20)
			return 0;
	return 1;
}

static int check_spec(struct hook *h, const cJSON *s, const char *where, struct sb *err)
{
	const cJSON *v;

	if (cJSON_IsString(s)) {
		const char *t = s->valuestring, *b, *e;
		while ((b = strpbrk(t, "{}"))) {
			if (*b == '}' || !(e = strchr(b + 1, '}')) || !path_ok(b + 1, (size_t)(e - b - 1))) {
				sb_addf(err, "%s: \"%s\": a {PATH} without its } or with a bad path",
					where, s->valuestring);
				return -1;
			}
			t = e + 1;
		}
		return 0;
	}
	if (cJSON_IsArray(s)) {
		if (!cJSON_GetArraySize(s)) {
			sb_addf(err, "%s: an empty list of alternatives", where);
			return -1;
		}
		cJSON_ArrayForEach(v, s)
			if (check_spec(h, v, where, err) < 0)
				return -1;
		return 0;
	}
	if (!cJSON_IsObject(s)) {
		sb_addf(err, "%s: a value is a \"template\", [alternatives] or {\"path\": ...}", where);
		return -1;
	}
	{
		int bases = 0;
		cJSON_ArrayForEach(v, s) {
			const char *k = v->string;
			if (!strcmp(k, "path")) {
				bases++;
				if (!cJSON_IsString(v) || !path_ok(v->valuestring, strlen(v->valuestring)))
					goto bad;
			} else if (!strcmp(k, "config")) {
				bases++;
				if (!cJSON_IsString(v))
					goto bad;
				for (size_t i = 0;; i++) {
					if (i == h->nkeys) {
						sb_addf(err, "%s: config \"%s\" is not a key of the preset's "
							"\"config\"", where, v->valuestring);
						return -1;
					}
					if (!strcmp(h->keys[i].name, v->valuestring)) {
						if (h->keys[i].secret) {
							sb_addf(err, "%s: config \"%s\" is a secret", where,
								v->valuestring);
							return -1;
						}
						break;
					}
				}
			} else if (!strcmp(k, "value")) {
				bases++;
				if (!cJSON_IsString(v))
					goto bad;
			} else if (!strcmp(k, "fn")) {
				if (!cJSON_IsString(v) || !in_list(fns, v->valuestring))
					goto bad;
			} else if (!strcmp(k, "token") || !strcmp(k, "default")) {
				if (!cJSON_IsString(v))
					goto bad;
			} else if (!strcmp(k, "map")) {
				const cJSON *m;
				if (!cJSON_IsObject(v))
					goto bad;
				cJSON_ArrayForEach(m, v)
					if (!cJSON_IsString(m))
						goto bad;
			} else {
				sb_addf(err, "%s: unknown member \"%s\" (path, config, value, fn, token, "
					"map, default)", where, k);
				return -1;
			}
		}
		if (bases != 1) {
			sb_addf(err, "%s: a value needs one of \"path\", \"config\", \"value\"", where);
			return -1;
		}
		return 0;
bad:
		sb_addf(err, "%s: bad \"%s\" (path: a path; fn: one of keyword, command, "
			"command_arg, lower, unix, unix_ms, iso8601, msgid; map: strings)", where,
			v->string);
		return -1;
	}
}

static int check_cond(const cJSON *w, const char *where, struct sb *err)
{
	const cJSON *c, *x;

	if (cJSON_IsArray(w)) {
		cJSON_ArrayForEach(c, w)
			if (!cJSON_IsObject(c) || check_cond(c, where, err) < 0) {
				if (!err->len)
					sb_addf(err, "%s: \"when\" is an object or a list of objects", where);
				return -1;
			}
		return 0;
	}
	if (!cJSON_IsObject(w)) {
		sb_addf(err, "%s: \"when\" is an object or a list of objects", where);
		return -1;
	}
	cJSON_ArrayForEach(c, w) {
		if (!path_ok(c->string, strlen(c->string)))
			goto bad;
		if (cJSON_IsString(c) || cJSON_IsBool(c))
			continue;
		if (cJSON_IsArray(c)) {
			cJSON_ArrayForEach(x, c)
				if (!cJSON_IsString(x))
					goto bad;
			continue;
		}
		if (cJSON_IsObject(c)) {
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "fn");
			const cJSON *is = cJSON_GetObjectItemCaseSensitive(c, "is");
			if (cJSON_GetArraySize(c) != 2 || !cJSON_IsString(fn) ||
			    !in_list(fns, fn->valuestring) || !is)
				goto bad;
			if (cJSON_IsString(is))
				continue;
			if (cJSON_IsArray(is)) {
				cJSON_ArrayForEach(x, is)
					if (!cJSON_IsString(x))
						goto bad;
				continue;
			}
		}
		goto bad;
	}
	return 0;
bad:
	sb_addf(err, "%s: when \"%s\": a string, a list of strings, true, false or "
		"{\"fn\": F, \"is\": V}", where, c->string);
	return -1;
}

/* The fields each kind of rule takes, and those it needs. */
static const char *const fields_all[] = {
	"each", "when", "kind", "comment", "type", "event_id", "occurred_at", "message_ref",
	"address", "channel", "granted", "customer", "props", "reply", NULL,
};

int hook_map_load(struct hook *h, struct sb *err)
{
	const cJSON *r, *v;
	char where[64];
	int i = 0;

	if (!cJSON_IsArray(h->rules)) {
		sb_addf(err, "\"rules\" must be a list of rules");
		return -1;
	}
	cJSON_ArrayForEach(r, h->rules) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "kind");
		const char *k;
		snprintf(where, sizeof(where), "rules[%d]", i++);
		if (!cJSON_IsObject(r) || !cJSON_IsString(kind)) {
			sb_addf(err, "%s: a rule is an object with a \"kind\"", where);
			return -1;
		}
		k = kind->valuestring;
		if (strcmp(k, "event") && strcmp(k, "consent") && strcmp(k, "bind") &&
		    strcmp(k, "reply")) {
			sb_addf(err, "%s: kind is event, consent, bind or reply", where);
			return -1;
		}
		cJSON_ArrayForEach(v, r) {
			const char *f = v->string;
			if (!in_list(fields_all, f)) {
				sb_addf(err, "%s: unknown member \"%s\"", where, f);
				return -1;
			}
			if (!strcmp(f, "kind") || !strcmp(f, "comment"))
				continue;
			if (!strcmp(f, "each")) {
				if (!cJSON_IsString(v) || !path_ok(v->valuestring, strlen(v->valuestring)) ||
				    v->valuestring[0] == '@') {
					sb_addf(err, "%s: \"each\" is a path from the root, with * for "
						"every element of a list", where);
					return -1;
				}
			} else if (!strcmp(f, "when")) {
				if (check_cond(v, where, err) < 0)
					return -1;
			} else if (!strcmp(f, "props")) {
				const cJSON *p;
				if (!cJSON_IsObject(v)) {
					sb_addf(err, "%s: \"props\" is an object of name: value", where);
					return -1;
				}
				cJSON_ArrayForEach(p, v)
					if (check_spec(h, p, where, err) < 0)
						return -1;
			} else if (!strcmp(f, "reply")) {
				const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(v, "format");
				const cJSON *txt = cJSON_GetObjectItemCaseSensitive(v, "text");
				if (strcmp(k, "reply") || !cJSON_IsObject(v) || !cJSON_IsString(fmt) ||
				    (strcmp(fmt->valuestring, "twiml") && strcmp(fmt->valuestring, "text")) ||
				    !txt || cJSON_GetArraySize(v) != 2) {
					sb_addf(err, "%s: \"reply\" is {\"format\": \"twiml\" or \"text\", "
						"\"text\": VALUE} in a rule of kind reply", where);
					return -1;
				}
				if (check_spec(h, txt, where, err) < 0)
					return -1;
			} else if (check_spec(h, v, where, err) < 0) {
				return -1;
			}
		}
		if ((!strcmp(k, "event") && !cJSON_HasObjectItem(r, "type")) ||
		    (!strcmp(k, "consent") && (!cJSON_HasObjectItem(r, "granted") ||
					       !cJSON_HasObjectItem(r, "channel") ||
					       !cJSON_HasObjectItem(r, "address"))) ||
		    (!strcmp(k, "bind") && (!cJSON_HasObjectItem(r, "customer") ||
					    !cJSON_HasObjectItem(r, "channel") ||
					    !cJSON_HasObjectItem(r, "address"))) ||
		    (!strcmp(k, "reply") && !cJSON_HasObjectItem(r, "reply"))) {
			sb_addf(err, "%s: an event needs type; a consent granted, channel and address; "
				"a bind customer, channel and address; a reply reply", where);
			return -1;
		}
	}
	return 0;
}

/* ---- evaluation ------------------------------------------------------- */

struct mstate {
	struct hook_ctx *c;
	const cJSON *elem;
	int token_refused;
};

static const cJSON *resolve(const struct mstate *m, const char *p)
{
	if (p[0] == '@')
		return p[1] ? jpath(m->elem, p + 2) : m->elem;
	return jpath(m->c->root, p);
}

static const char *resolve_text(const struct mstate *m, const char *p)
{
	return hook_text(resolve(m, p));
}

/* Applies the named function to v into out: 1, or 0 when it gives
 * nothing. */
static int apply_fn(const char *fn, const char *v, struct sb *out)
{
	size_t n = strlen(v);
	const char *s = trim(v, &n);
	char t[20];

	sb_reset(out);
	if (!strcmp(fn, "keyword")) {
		while (n && (s[n - 1] == '.' || s[n - 1] == '!'))
			n--;
		for (size_t i = 0; i < n; i++)
			sb_addc(out, ascii_upper((unsigned char)s[i]));
		return out->len > 0;
	}
	if (!strcmp(fn, "command") || !strcmp(fn, "command_arg")) {
		size_t i = 1, w;
		if (!n || s[0] != '/')
			return 0;
		while (i < n && !ascii_isspace((unsigned char)s[i]) && s[i] != '@')
			i++;
		if (!strcmp(fn, "command")) {
			for (size_t k = 1; k < i; k++)
				sb_addc(out, ascii_lower((unsigned char)s[k]));
			return out->len > 0;
		}
		while (i < n && !ascii_isspace((unsigned char)s[i]))	/* @botname */
			i++;
		while (i < n && ascii_isspace((unsigned char)s[i]))
			i++;
		for (w = i; w < n && !ascii_isspace((unsigned char)s[w]); w++)
			;
		sb_add(out, s + i, w - i);
		return out->len > 0;
	}
	if (!strcmp(fn, "lower")) {
		for (size_t i = 0; i < n; i++)
			sb_addc(out, ascii_lower((unsigned char)s[i]));
		return 1;
	}
	if (!strcmp(fn, "msgid")) {
		if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
			s++;
			n -= 2;
		}
		sb_add(out, s, n);
		return n > 0;
	}
	if (!strcmp(fn, "unix") || !strcmp(fn, "unix_ms") || !strcmp(fn, "iso8601")) {
		char buf[64];
		int rc;
		if (n >= sizeof(buf))
			return 0;
		memcpy(buf, s, n);
		buf[n] = 0;
		rc = !strcmp(fn, "iso8601") ? hook_iso_time(buf, t, NULL)
					    : unix_time(buf, !strcmp(fn, "unix_ms"), t);
		if (rc < 0)
			return 0;
		sb_adds(out, t);
		return 1;
	}
	return 0;
}

/* Evaluates a value into out: 1, or 0 when it is missing. */
static int spec_eval(struct mstate *m, const cJSON *spec, struct sb *out)
{
	const cJSON *v;

	sb_reset(out);
	if (cJSON_IsString(spec)) {
		const char *t = spec->valuestring, *b, *e, *x;
		char p[256];
		while ((b = strchr(t, '{'))) {
			e = strchr(b, '}');
			sb_add(out, t, (size_t)(b - t));
			memcpy(p, b + 1, (size_t)(e - b - 1));
			p[e - b - 1] = 0;
			if (!(x = resolve_text(m, p)) || !*x)
				return 0;
			sb_adds(out, x);
			t = e + 1;
		}
		sb_adds(out, t);
		return 1;
	}
	if (cJSON_IsArray(spec)) {
		cJSON_ArrayForEach(v, spec)
			if (spec_eval(m, v, out))
				return 1;
		return 0;
	}
	{
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(spec, "path");
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(spec, "config");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(spec, "value");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(spec, "fn");
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(spec, "token");
		const cJSON *map = cJSON_GetObjectItemCaseSensitive(spec, "map");
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(spec, "default");
		const char *x = path ? resolve_text(m, path->valuestring)
			       : cfg ? hook_conf(m->c->h, cfg->valuestring)
				     : val->valuestring;
		struct sb t = SB_INIT;
		int ok = x != NULL;

		if (ok)
			sb_adds(&t, x);
		if (ok && fn)
			ok = apply_fn(fn->valuestring, x, &t);
		if (ok && tok) {
			int64_t id;
			const char *secret = m->c->rq->secret;
			if (secret && *secret &&
			    token_check(secret, tok->valuestring, t.buf, t.len, &id) == 0) {
				sb_reset(&t);
				sb_addf(&t, "%" PRId64, id);
			} else {
				m->token_refused = 1;
				ok = 0;
			}
		}
		if (ok && map) {
			const cJSON *hit = cJSON_GetObjectItemCaseSensitive(map, t.buf);
			sb_reset(&t);
			if ((ok = hit != NULL))
				sb_adds(&t, hit->valuestring);
		}
		if (!ok && def) {
			sb_reset(&t);
			sb_adds(&t, def->valuestring);
			ok = 1;
		}
		if (ok)
			sb_add(out, t.buf, t.len);
		sb_free(&t);
		return ok;
	}
}

static int cond_one(struct mstate *m, const char *path, const cJSON *c)
{
	const cJSON *v = resolve(m, path), *x;
	const char *t = hook_text(v);

	if (cJSON_IsBool(c))
		return cJSON_IsTrue(c) ? v && !cJSON_IsNull(v) : !v || cJSON_IsNull(v);
	if (cJSON_IsObject(c)) {
		struct sb o = SB_INIT;
		int hit = 0;
		const cJSON *is = cJSON_GetObjectItemCaseSensitive(c, "is");
		if (t && apply_fn(cJSON_GetObjectItemCaseSensitive(c, "fn")->valuestring, t, &o)) {
			if (cJSON_IsString(is))
				hit = !strcmp(o.buf, is->valuestring);
			else
				cJSON_ArrayForEach(x, is)
					if (!strcmp(o.buf, x->valuestring))
						hit = 1;
		}
		sb_free(&o);
		return hit;
	}
	if (!t)
		return 0;
	if (cJSON_IsString(c))
		return !strcmp(t, c->valuestring);
	cJSON_ArrayForEach(x, c)
		if (!strcmp(t, x->valuestring))
			return 1;
	return 0;
}

static int cond_eval(struct mstate *m, const cJSON *w)
{
	const cJSON *c;

	if (!w)
		return 1;
	if (cJSON_IsArray(w)) {
		cJSON_ArrayForEach(c, w)
			if (cond_eval(m, c))
				return 1;
		return 0;
	}
	cJSON_ArrayForEach(c, w)
		if (!cond_one(m, c->string, c))
			return 0;
	return 1;
}

/* Collects the elements of path (with * for every element of a list)
 * under v into list; -1 when there are too many. */
static int expand(const cJSON *v, const char *path, const cJSON ***list, size_t *n, size_t *cap)
{
	char seg[PATH_SEG_MAX];
	size_t k;

	while (v && *path) {
		k = strcspn(path, ".");
		if (k >= sizeof(seg))
			return 0;
		memcpy(seg, path, k);
		seg[k] = 0;
		path += k;
		if (*path == '.')
			path++;
		if (!strcmp(seg, "*")) {
			const cJSON *e;
			if (!cJSON_IsArray(v))
				return 0;
			cJSON_ArrayForEach(e, v)
				if (expand(e, path, list, n, cap) < 0)
					return -1;
			return 0;
		}
		{
			char one[PATH_SEG_MAX + 1];
			snprintf(one, sizeof(one), "%s", seg);
			v = jpath(v, one);
		}
	}
	if (!v)
		return 0;
	if (*n >= HOOK_MAX_RECS)
		return -1;
	*list = xgrow(*list, sizeof(**list), *n + 1, cap);
	(*list)[(*n)++] = v;
	return 0;
}

/* A field's value, or NULL when missing or too long. */
static char *field(struct mstate *m, const cJSON *rule, const char *name)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(rule, name);
	struct sb b = SB_INIT;

	if (!spec || !spec_eval(m, spec, &b) || !b.len || b.len > HOOK_VALUE_MAX) {
		sb_free(&b);
		return NULL;
	}
	return sb_detach(&b);
}

static void rec_free(struct hook_rec *r)
{
	free(r->event_id);
	free(r->type);
	free(r->occurred_at);
	free(r->message_ref);
	free(r->address);
	free(r->channel);
	cJSON_Delete(r->props);
	memset(r, 0, sizeof(*r));
}


/* Applies one rule to one element: 0, or -1 when there are too many
 * records. */
static int apply_rule(struct mstate *m, const cJSON *rule, int idx, size_t *cap)
{
	struct hook_result *out = m->c->out;
	const char *kind = cJSON_GetObjectItemCaseSensitive(rule, "kind")->valuestring;
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(rule, "props"), *p;
	struct hook_rec r;
	char *g = NULL, *cust = NULL;

	if (!cond_eval(m, cJSON_GetObjectItemCaseSensitive(rule, "when")))
		return 0;
	if (!strcmp(kind, "reply")) {
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(rule, "reply");
		const char *fmt = cJSON_GetObjectItemCaseSensitive(rep, "format")->valuestring;
		struct sb t = SB_INIT;
		if (spec_eval(m, cJSON_GetObjectItemCaseSensitive(rep, "text"), &t)) {
			sb_reset(&out->body);
			if (!strcmp(fmt, "twiml")) {
				out->content_type = "application/xml";
				sb_adds(&out->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
					"<Response><Message>");
				sb_add_html(&out->body, t.buf);
				sb_adds(&out->body, "</Message></Response>");
			} else {
				out->content_type = "text/plain; charset=utf-8";
				sb_add(&out->body, t.buf, t.len);
			}
		}
		sb_free(&t);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.kind = !strcmp(kind, "event") ? HOOK_EVENT : !strcmp(kind, "consent") ? HOOK_CONSENT
										   : HOOK_BIND;
	r.type = field(m, rule, "type");
	r.event_id = field(m, rule, "event_id");
	r.occurred_at = field(m, rule, "occurred_at");
	r.message_ref = field(m, rule, "message_ref");
	r.address = field(m, rule, "address");
	r.channel = field(m, rule, "channel");
	if (r.occurred_at && !is_time_text(r.occurred_at)) {
		free(r.occurred_at);
		r.occurred_at = NULL;
	}
	switch (r.kind) {
	case HOOK_EVENT:
		if (!r.type)
			goto skip;
		break;
	case HOOK_CONSENT:
		g = field(m, rule, "granted");
		if (!g || !r.channel || !r.address)
			goto skip;
		if (!strcmp(g, "1") || !strcmp(g, "grant") || !strcmp(g, "true"))
			r.granted = 1;
		else if (!strcmp(g, "0") || !strcmp(g, "revoke") || !strcmp(g, "false"))
			r.granted = 0;
		else
			goto skip;
		break;
	case HOOK_BIND:
		cust = field(m, rule, "customer");
		if (!cust || !r.channel || !r.address || parse_int64(cust, &r.customer) < 0 ||
		    r.customer <= 0)
			goto skip;
		r.granted = 1;
		break;
	}
	if (!r.event_id && r.kind == HOOK_EVENT) {
		/* no id in the payload: the hash of the rule and the element */
		char *js = cJSON_PrintUnformatted(m->elem);
		struct sb b = SB_INIT;
		char hex[65];
		sb_addf(&b, "%d:%s", idx, js ? js : "");
		hash_sha256_hex(b.buf, b.len, hex);
		sb_reset(&b);
		sb_addf(&b, "%s:%.32s", m->c->h->name, hex);
		r.event_id = sb_detach(&b);
		cJSON_free(js);
	}
	if (!(r.props = cJSON_CreateObject()))
		crm_die(1, "out of memory");
	cJSON_ArrayForEach(p, props) {
		struct sb b = SB_INIT;
		if (spec_eval(m, p, &b) && b.len) {
			if (b.len > HOOK_VALUE_MAX) {
				size_t n = HOOK_VALUE_MAX;
				while (n && ((unsigned char)b.buf[n] & 0xC0) == 0x80)
					n--;
				b.buf[n] = 0;
				b.len = n;
			}
			cJSON_AddStringToObject(r.props, p->string, b.buf);
		}
		sb_free(&b);
	}
	free(g);
	free(cust);
	if (out->nrecs >= HOOK_MAX_RECS) {
		rec_free(&r);
		return -1;
	}
	out->recs = xgrow(out->recs, sizeof(*out->recs), out->nrecs + 1, cap);
	out->recs[out->nrecs++] = r;
	return 0;
skip:
	free(g);
	free(cust);
	rec_free(&r);
	return 0;
}

int hook_map(struct hook_ctx *c)
{
	struct hook_result *out = c->out;
	struct mstate m = { c, c->root, 0 };
	const cJSON *rule;
	size_t cap = 0;
	int idx = 0;

	cJSON_ArrayForEach(rule, c->h->rules) {
		const cJSON *each = cJSON_GetObjectItemCaseSensitive(rule, "each");
		const cJSON **list = NULL;
		size_t n = 0, lcap = 0;
		int rc = 0;

		if (each) {
			rc = expand(c->root, each->valuestring, &list, &n, &lcap);
		} else {
			list = xmalloc(sizeof(*list));
			list[n++] = c->root;
		}
		for (size_t i = 0; !rc && i < n; i++) {
			m.elem = list[i];
			rc = apply_rule(&m, rule, idx, &cap);
		}
		free(list);
		if (rc < 0) {
			for (size_t i = 0; i < out->nrecs; i++)
				rec_free(&out->recs[i]);
			free(out->recs);
			out->recs = NULL;
			out->nrecs = 0;
			return hook_fail(out, 413, "more than %d records in one request",
					 HOOK_MAX_RECS);
		}
		idx++;
	}
	if (m.token_refused && !out->nrecs)
		snprintf(out->err, sizeof(out->err), "a token did not check: nothing recorded");
	return 0;
}

void hook_rec_free(struct hook_rec *r)
{
	rec_free(r);
}
