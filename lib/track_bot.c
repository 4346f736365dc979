/*
 * Machine activity: the rules of share/track/machines (user agents and
 * address ranges of privacy proxies and link scanners). The rules that
 * need the base (a hit within seconds of sending, every link of a message
 * within a second) are the writer's (track_wr.c).
 */
#include "track_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

enum { BOT_UA, BOT_UA_IS, BOT_IP };

struct bot_rule {
	int kind;
	char *text;              /* ua, ua= */
	int family;              /* ip: AF_INET or AF_INET6 */
	unsigned char net[16];
	int bits;
	char name[40];
};

/* "%20" as a space, in place */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '%' && s[1] == '2' && s[2] == '0') {
			*o++ = ' ';
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

static int parse_cidr(const char *s, struct bot_rule *r)
{
	char buf[64], *slash;
	long bits;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, r->net) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, r->net) == 1)
		r->family = AF_INET6;
	else
		return -1;
	bits = r->family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		long b = strtol(slash, &end, 10);
		if (*end || b < 0 || b > bits)
			return -1;
		bits = b;
	}
	r->bits = (int)bits;
	return 0;
}

int track_bots_load(struct track *t, const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[1024];
	long n = 0;

	if (!fp) {
		crm_error_errno("%s: cannot open", path);
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *f[3], *save = NULL, *p = line;
		struct bot_rule r = { 0 };
		int k = 0;

		n++;
		for (; k < 3 && (f[k] = strtok_r(p, " \t\r\n", &save)); k++)
			p = NULL;
		if (k == 0 || f[0][0] == '#')
			continue;
		if (k < 3) {
			crm_error_at(path, n, "expected KIND TEXT NAME");
			fclose(fp);
			return -1;
		}
		snprintf(r.name, sizeof(r.name), "%s", f[2]);
		if (!strcmp(f[0], "ua") || !strcmp(f[0], "ua=")) {
			r.kind = f[0][2] ? BOT_UA_IS : BOT_UA;
			unescape(f[1]);
			/* "contains" compares lower-cased */
			for (char *c = f[1]; r.kind == BOT_UA && *c; c++)
				*c = (char)ascii_lower((unsigned char)*c);
			r.text = xstrdup(f[1]);
		} else if (!strcmp(f[0], "ip")) {
			r.kind = BOT_IP;
			if (parse_cidr(f[1], &r) < 0) {
				crm_error_at(path, n, "invalid address range \"%s\"", f[1]);
				fclose(fp);
				return -1;
			}
		} else {
			crm_error_at(path, n, "unknown kind \"%s\" (ua, ua= or ip)", f[0]);
			fclose(fp);
			return -1;
		}
		t->bots = xrealloc(t->bots, (t->nbots + 1) * sizeof(*t->bots));
		t->bots[t->nbots++] = r;
	}
	fclose(fp);
	return 0;
}

void track_bots_free(struct track *t)
{
	for (size_t i = 0; i < t->nbots; i++)
		free(t->bots[i].text);
	free(t->bots);
	t->bots = NULL;
	t->nbots = 0;
}


static int in_net(const struct bot_rule *r, int family, const unsigned char *a)
{
	int full = r->bits / 8, rest = r->bits % 8;

	if (family != r->family)
		return 0;
	if (memcmp(a, r->net, (size_t)full))
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a[full] & mask) != (r->net[full] & mask))
			return 0;
	}
	return 1;
}

void track_bot_check(const struct track *t, const char *addr, const char *ua, char *why,
		     size_t n)
{
	unsigned char a[16];
	char low[512];
	int family = 0;

	*why = 0;
	if (ua) {
		size_t i = 0;
		for (; ua[i] && i < sizeof(low) - 1; i++)
			low[i] = (char)ascii_lower((unsigned char)ua[i]);
		low[i] = 0;
	}
	if (addr && inet_pton(AF_INET, addr, a) == 1)
		family = AF_INET;
	else if (addr && inet_pton(AF_INET6, addr, a) == 1)
		family = AF_INET6;
	/* an IPv4 address seen as ::ffff:a.b.c.d */
	if (family == AF_INET6 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(a, a + 12, 4);
		family = AF_INET;
	}
	for (size_t i = 0; i < t->nbots; i++) {
		const struct bot_rule *r = &t->bots[i];
		int hit = 0;
		switch (r->kind) {
		case BOT_UA: hit = ua && strstr(low, r->text); break;
		case BOT_UA_IS: hit = ua && !strcmp(ua, r->text); break;
		case BOT_IP: hit = family && in_net(r, family, a); break;
		}
		if (hit) {
			snprintf(why, n, "%s:%s", r->kind == BOT_IP ? "ip" : "ua", r->name);
			return;
		}
	}
}
