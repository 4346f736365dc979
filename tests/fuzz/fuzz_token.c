/*
 * fuzz_token.c - signed row tokens (lib/token.c), as they come back in a
 * bounce address or a URL: anything at all is refused or accepted
 * without a crash, and what is accepted is exactly the token of its id
 * (compared without regard to case). The first byte picks the purpose.
 */
#include "fuzz.h"
#include "token.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const purposes[] = { "bounce", "unsubscribe", "click", "" };
	const char *key = "fuzz secret 0123456789abcdef";
	const char *purpose;
	char t[TOKEN_MAX];
	int64_t id = -1;

	if (size < 1)
		return 0;
	purpose = purposes[data[0] % 4];
	if (token_check(key, purpose, (const char *)data + 1, size - 1, &id) == 0) {
		size_t n = token_make(key, purpose, id, t);
		FZ_CHECK(id >= 0, "negative id %lld", (long long)id);
		FZ_CHECK(n == size - 1 && !ascii_ncasecmp(t, (const char *)data + 1, n),
			 "accepted what is not the token of %lld", (long long)id);
	}
	/* every token made checks */
	if (size >= 9) {
		int64_t v;
		memcpy(&v, data + 1, sizeof(v));
		if (v < 0)
			v = -(v + 1);
		size_t n = token_make(key, purpose, v, t);
		FZ_CHECK(token_check(key, purpose, t, n, &id) == 0 && id == v,
			 "the token of %lld does not check", (long long)v);
	}
	return 0;
}
