/*
 * loyalty_rules.c - the [loyalty] section of crm.conf: what earns points,
 * what a point is worth, how long points wait and last, the bonuses, the
 * tiers. Every key is checked: an unknown one (not in the registry of
 * conf_keys.c, which crm-loyalty's load of the file leaves to this
 * reader), a value out of range or tiers out of order is an error naming
 * the file and the line.
 *
 *     [loyalty]
 *     earn = 5%                   ; of each purchase's amount, as points' value
 *     point_value = 0.01          ; what a point is worth
 *     pending = 14d
 *     expire = 365d
 *     welcome = 100
 *     birthday = 200
 *     event.review = 50
 *     tiers = silver:20000, gold:60000
 *     tier_multiplier = silver:1.25, gold:1.5
 *     category.Coffee = 2x
 */
#include "loyalty.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "diag.h"
#include "expr.h"
#include "norm.h"
#include "util.h"

struct ctx {
	const struct conf *c;
	const char *key;
};

static int bad(const struct ctx *x, const char *fmt, ...) CRM_FMT(2, 3);
static int bad(const struct ctx *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	crm_error_at(conf_name(x->c), conf_line(x->c, "loyalty", x->key), "[loyalty] %s: %s",
		     x->key, msg);
	return -1;
}

/* A decimal number, all of s; -1 when it is not one. */
static int number(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	return end == s || *end || errno || !isfinite(*v) ? -1 : 0;
}

static int whole(const struct ctx *x, const char *s, int64_t *v)
{
	double d;

	if (number(s, &d) < 0 || d != floor(d) || d < 0 || d > 1e12)
		return bad(x, "\"%s\" is not a whole number of points (0 or more)", s);
	*v = (int64_t)d;
	return 0;
}

/* "14d", "52w", "12mo", "1y": whole days */
static int days(const struct ctx *x, const char *s, int64_t *secs)
{
	const char *why;

	if (norm_duration(s, strlen(s), secs, &why) < 0)
		return bad(x, "\"%s\" is not a duration (14d, 52w, 12mo, 1y): %s", s, why);
	if (*secs < 0 || *secs % 86400)
		return bad(x, "\"%s\": a whole number of days, 0 or more", s);
	return 0;
}

/* "silver:1.25, gold:1.5" into names and numbers (the names malloc'd) */
static int pairs(const struct ctx *x, const char *s, char ***names, double **vals, size_t *n)
{
	const char *p = s;

	*names = NULL, *vals = NULL, *n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *item = p, *colon;
		size_t ilen = len;
		char name[64], num[64];
		double v;

		item = trim(item, &ilen);
		p += len + (p[len] == ',');
		if (!ilen)
			return bad(x, "an empty item in \"%s\" (name:number, ...)", s);
		colon = memchr(item, ':', ilen);
		if (!colon || colon == item || (size_t)(colon - item) >= sizeof(name) ||
		    ilen - (size_t)(colon - item) - 1 >= sizeof(num))
			return bad(x, "\"%.*s\" is not name:number", (int)ilen, item);
		size_t nl = (size_t)(colon - item), vl = ilen - nl - 1;
		const char *nm = trim(item, &nl), *vs = trim(colon + 1, &vl);
		snprintf(name, sizeof(name), "%.*s", (int)nl, nm);
		snprintf(num, sizeof(num), "%.*s", (int)vl, vs);
		for (const char *q = name; *q; q++)
			if (!(*q >= 'a' && *q <= 'z') && !(*q >= '0' && *q <= '9') && *q != '_' &&
			    *q != '-')
				return bad(x, "tier name \"%s\": lower-case letters, digits, _ and - only",
					   name);
		if (number(num, &v) < 0 || v < 0)
			return bad(x, "\"%s\" in \"%s:%s\" is not a number of 0 or more", num, name, num);
		for (size_t i = 0; i < *n; i++)
			if (!strcmp((*names)[i], name))
				return bad(x, "\"%s\" is given twice", name);
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		*vals = xrealloc(*vals, (*n + 1) * sizeof(double));
		(*names)[*n] = xstrdup(name);
		(*vals)[*n] = v;
		++*n;
	}
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* "2x" or "2": a multiplier of 0 or more */
static int multiplier(const struct ctx *x, const char *s, double *v)
{
	char buf[64];
	size_t n = strlen(s);

	if (n && (s[n - 1] == 'x' || s[n - 1] == 'X'))
		n--;
	if (n >= sizeof(buf))
		return bad(x, "\"%s\" is not a multiplier (such as 2x or 1.5)", s);
	snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
	if (number(buf, v) < 0 || *v < 0 || *v > 1000)
		return bad(x, "\"%s\" is not a multiplier (such as 2x or 1.5; 0 to 1000)", s);
	return 0;
}

static int one(struct loyalty_rules *r, const struct ctx *x, const char *v, char ***mnames,
	       double **mvals, size_t *nm, int *have)
{
	const char *k = x->key, *why;
	double d;

	if (!ascii_casecmp(k, "earn")) {
		size_t n = strlen(v);
		char buf[64];
		int pct = n && v[n - 1] == '%';
		snprintf(buf, sizeof(buf), "%.*s", (int)(n - (size_t)pct), v);
		if (n >= sizeof(buf) || number(buf, &d) < 0)
			return bad(x, "\"%s\" is not a rate (such as 5%% or 0.05)", v);
		if (pct)
			d /= 100;
		if (d < 0 || d > 1)
			return bad(x, "\"%s\": the rate must be from 0 to 100%%", v);
		r->earn = d;
		have[0] = 1;
	} else if (!ascii_casecmp(k, "point_value")) {
		if (number(v, &d) < 0 || !(d > 0) || d > 1e9)
			return bad(x, "\"%s\" is not a value above 0 (such as 0.01)", v);
		r->point_value = d;
		have[1] = 1;
	} else if (!ascii_casecmp(k, "currency")) {
		if (norm_currency(v, strlen(v), r->currency, &r->exponent, &why) < 0)
			return bad(x, "invalid currency \"%s\": %s", v, why);
	} else if (!ascii_casecmp(k, "pending")) {
		return days(x, v, &r->pending);
	} else if (!ascii_casecmp(k, "expire")) {
		return days(x, v, &r->expire);
	} else if (!ascii_casecmp(k, "welcome")) {
		return whole(x, v, &r->welcome);
	} else if (!ascii_casecmp(k, "birthday")) {
		return whole(x, v, &r->birthday);
	} else if (!ascii_casecmp(k, "start")) {
		struct norm_opts no = { 0 };
		if (norm_time(v, strlen(v), &no, &r->start, &why) < 0)
			return bad(x, "\"%s\" is not a date or a time: %s", v, why);
	} else if (!ascii_casecmp(k, "members")) {
		struct expr *e;
		struct expr_err err;
		if (!*v)
			return bad(x, "an empty expression (leave the key out for everyone)");
		if (!(e = expr_compile(v, 0, &err)))
			return bad(x, "expression:%d:%d: %s", err.line, err.col, err.msg);
		expr_free(e);
		free(r->members);
		r->members = xstrdup(v);
	} else if (!ascii_casecmp(k, "tier_review")) {
		if (!strcmp(v, "year"))
			r->review = LOYALTY_REVIEW_YEAR;
		else if (!strcmp(v, "quarter"))
			r->review = LOYALTY_REVIEW_QUARTER;
		else if (!strcmp(v, "month"))
			r->review = LOYALTY_REVIEW_MONTH;
		else
			return bad(x, "\"%s\" is not year, quarter or month", v);
	} else if (!ascii_casecmp(k, "tiers")) {
		char **names;
		double *vals;
		size_t n;
		if (pairs(x, v, &names, &vals, &n) < 0)
			return -1;
		if (!n) {
			free(names), free(vals);
			return bad(x, "no tier given (name:spend, ..., lowest first)");
		}
		for (size_t i = 0; i < n; i++)
			if ((i && vals[i] <= vals[i - 1]) || vals[i] <= 0) {
				int rc = bad(x, "tiers out of order: %s:%g %s (each a higher spend above 0, "
					     "lowest first)", names[i], vals[i],
					     i ? "is not above the tier before it" : "is not above 0");
				free_names(names, n), free(vals);
				return rc;
			}
		r->tiers = xcalloc(n, sizeof(*r->tiers));
		for (size_t i = 0; i < n; i++)
			r->tiers[i] = (struct loyalty_tier){ .name = names[i], .spend = vals[i], .mult = 1 };
		r->ntiers = n;
		free(names), free(vals);
	} else if (!ascii_casecmp(k, "tier_multiplier")) {
		free_names(*mnames, *nm), free(*mvals);
		return pairs(x, v, mnames, mvals, nm);
	} else {
		return 1; /* not a plain key */
	}
	return 0;
}

int loyalty_rules_read(const struct conf *c, struct loyalty_rules *r)
{
	const char *sec, *key, *val;
	char **mnames = NULL;
	double *mvals = NULL;
	size_t nm = 0, i = 0;
	int have[2] = { 0 }, any = 0, rc = 0;

	memset(r, 0, sizeof(*r));
	r->exponent = 2;
	while (rc == 0 && conf_next(c, &i, &sec, &key, &val)) {
		struct ctx x = { c, key };
		if (ascii_casecmp(sec, "loyalty"))
			continue;
		any = 1;
		if (!ascii_casecmp(key, "") || strlen(key) > 200) {
			rc = bad(&x, "a key name of 1 to 200 characters");
		} else if (!ascii_ncasecmp(key, "event.", 6)) {
			int64_t pts;
			if (!key[6])
				rc = bad(&x, "event.TYPE: no event type after \"event.\"");
			else if ((rc = whole(&x, val, &pts)) == 0) {
				r->events = xrealloc(r->events, (r->nevents + 1) * sizeof(*r->events));
				r->events[r->nevents++] = (struct loyalty_event){ xstrdup(key + 6), pts };
			}
		} else if (!ascii_ncasecmp(key, "category.", 9)) {
			double m;
			if (!key[9])
				rc = bad(&x, "category.NAME: no category after \"category.\"");
			else if ((rc = multiplier(&x, val, &m)) == 0) {
				r->cats = xrealloc(r->cats, (r->ncats + 1) * sizeof(*r->cats));
				r->cats[r->ncats++] = (struct loyalty_cat){ xstrdup(key + 9), m };
			}
		} else if ((rc = one(r, &x, val, &mnames, &mvals, &nm, have)) == 1) {
			/* the keys are in crm.conf's one registry (conf_keys.c) */
			char sug[160], buf[200];
			const char *s = conf_key_suggest("loyalty", key, sug, sizeof(sug));
			if (s)
				snprintf(buf, sizeof(buf), " (did you mean \"%s\"?)", s);
			else
				snprintf(buf, sizeof(buf), " (see crm-loyalty(1))");
			rc = bad(&x, "unknown key%s", buf);
		}
	}
	if (!rc && !any) {
		crm_error("%s: no [loyalty] section: the rules of crm-loyalty go there (see "
			  "crm-loyalty(1))", conf_name(c));
		rc = -1;
	}
	if (!rc && (!have[0] || !have[1])) {
		crm_error("%s: [loyalty] needs %s (the share of a purchase earned, such as 5%%, and "
			  "what a point is worth, such as 0.01)", conf_name(c),
			  !have[0] && !have[1] ? "earn and point_value" : !have[0] ? "earn" :
			  "point_value");
		rc = -1;
	}
	if (!rc && r->expire && r->pending >= r->expire) {
		struct ctx x = { c, "pending" };
		rc = bad(&x, "points would expire before they can be used (pending is not shorter "
			 "than expire)");
	}
	for (size_t k = 0; !rc && k < nm; k++) {
		size_t t = 0;
		while (t < r->ntiers && strcmp(r->tiers[t].name, mnames[k]))
			t++;
		if (t == r->ntiers) {
			struct ctx x = { c, "tier_multiplier" };
			const char **tn = xcalloc(r->ntiers + 1, sizeof(char *));
			for (size_t j = 0; j < r->ntiers; j++)
				tn[j] = r->tiers[j].name;
			const char *s = str_suggest(mnames[k], tn);
			rc = bad(&x, "\"%s\" is not a tier of tiers%s%s%s", mnames[k],
				 s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
			free(tn);
		} else {
			r->tiers[t].mult = mvals[k];
		}
	}
	free_names(mnames, nm);
	free(mvals);
	if (rc)
		loyalty_rules_free(r);
	return rc ? -1 : 0;
}

void loyalty_rules_free(struct loyalty_rules *r)
{
	for (size_t i = 0; i < r->ntiers; i++)
		free(r->tiers[i].name);
	for (size_t i = 0; i < r->nevents; i++)
		free(r->events[i].type);
	for (size_t i = 0; i < r->ncats; i++)
		free(r->cats[i].category);
	free(r->tiers);
	free(r->events);
	free(r->cats);
	free(r->members);
	memset(r, 0, sizeof(*r));
}
