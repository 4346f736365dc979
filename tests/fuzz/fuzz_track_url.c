/*
 * fuzz_track_url.c - crm-track's request paths (lib/track_url.c): any
 * path is parsed or refused without a crash; what parses has a token
 * inside the path and a link number in range; and a URL made by
 * track_url_click for a target taken from the input parses back to the
 * same row, link and target, while the same path with another target is
 * refused.
 */
#include "fuzz.h"
#include "track_url.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *key = "fuzz secret 0123456789abcdef";
	char *path = xstrndup((const char *)data, size);
	enum track_kind kind;
	const char *tok;
	size_t len;
	int n;

	if (track_path_parse(path, &kind, &tok, &len, &n) == 0) {
		int64_t msg;
		FZ_CHECK(tok >= path && tok + len <= path + strlen(path), "token outside the path");
		FZ_CHECK(kind != TRACK_CLICK || (n >= 1 && n <= TRACK_MAX_LINKS), "link %d", n);
		FZ_CHECK(track_token_check(key, kind, tok, len, n, "https://x", 9, &msg) != 0 ||
			 kind != TRACK_CLICK, "a token from nowhere checks");
	}
	free(path);
	if (size >= 3) {
		struct sb u = SB_INIT;
		int64_t row = data[0] * 256 + data[1], msg = -1;
		int link = data[2] % 50 + 1;
		const char *target = (const char *)data + 3;
		size_t tl = size - 3;
		char *q;
		track_url_click(&u, "https://t.example/", key, row, link, target, tl);
		q = strchr(u.buf + 18, '?');
		FZ_CHECK(q != NULL, "no query in %s", u.buf);
		*q = 0;
		FZ_CHECK(track_path_parse(u.buf + 17, &kind, &tok, &len, &n) == 0 &&
			 kind == TRACK_CLICK && n == link, "made path does not parse: %s", u.buf);
		FZ_CHECK(track_token_check(key, kind, tok, len, n, target, tl, &msg) == 0 && msg == row,
			 "made token does not check");
		/* another target: one byte shorter, or "x" for the empty one */
		FZ_CHECK(track_token_check(key, kind, tok, len, n, tl ? target : "x", tl ? tl - 1 : 1,
					   &msg) != 0, "another target checks");
		sb_free(&u);
	}
	return 0;
}
