/* test_token.c - lib/token.c: signed row tokens (VERP, crm-track). */
#include <inttypes.h>
#include <stdint.h>

#include "tap.h"
#include "token.h"

int main(void)
{
	const char *key = "0123456789abcdef0123456789abcdef";
	char t[TOKEN_MAX], u[TOKEN_MAX + 8];
	int64_t id = -1;
	size_t n;

	n = token_make(key, "bounce", 1234, t);
	is_int(n, strlen(t), "length returned");
	ok(!strncmp(t, "1234-", 5) && n == 5 + 16, "ID-MAC: %s", t);
	for (size_t i = 0; i < n; i++)
		ok((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f') || t[i] == '-',
		   "byte %zu is [0-9a-f-]", i);
	is_int(token_check(key, "bounce", t, n, &id), 0, "checks");
	is_int(id, 1234, "gives the id back");
	token_make(key, "bounce", 1234, u);
	is_str(u, t, "the same row and purpose: the same token");
	is_int(token_check(key, "unsubscribe", t, n, &id), -1, "another purpose: refused");
	is_int(token_check("another secret", "bounce", t, n, &id), -1, "another base: refused");
	token_make(key, "bounce", 1235, u);
	ok(strcmp(u + 5, t + 5), "another row: another MAC");
	/* the id changed, the MAC kept */
	memcpy(u, t, sizeof(t));
	u[3] = '5';
	is_int(token_check(key, "bounce", u, n, &id), -1, "altered id: refused");
	for (size_t i = 5; i < n; i++) {
		memcpy(u, t, sizeof(t));
		u[i] = u[i] == '0' ? '1' : '0';
		is_int(token_check(key, "bounce", u, n, &id), -1, "altered MAC digit %zu: refused", i);
	}
	for (size_t i = 0; i < n; i++)
		u[i] = (char)(t[i] >= 'a' && t[i] <= 'f' ? t[i] - 32 : t[i]);
	is_int(token_check(key, "bounce", u, n, &id), 0, "upper case: the same token");
	is_int(token_check(key, "bounce", t, n - 1, &id), -1, "cut short: refused");
	is_int(token_check(key, "bounce", t, 0, &id), -1, "empty: refused");
	snprintf(u, sizeof(u), "0%s", t);
	is_int(token_check(key, "bounce", u, n + 1, &id), -1, "a leading zero: refused");
	n = token_make(key, "bounce", INT64_MAX, t);
	is_int(token_check(key, "bounce", t, n, &id), 0, "the largest id");
	is_int(id, INT64_MAX, "gives it back");
	ok(n < TOKEN_MAX, "fits TOKEN_MAX (%zu)", n);
	is_int(token_check(key, "bounce", "99999999999999999999-0123456789abcdef", 37, &id), -1,
	       "an id past 64 bits: refused");
	return tap_done();
}
