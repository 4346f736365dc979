/*
 * fuzz_smtp.c - the reader of SMTP replies (smtp_reply_feed() in
 * lib/chan_smtp.c), on what any server may send.
 *
 * The input after its first byte is what the server sends; the first byte
 * seeds how it is cut into pieces, as the network cuts it. Read whole and
 * read in pieces, it must give the same replies, each with a code of 0 (no
 * reply) or its first three digits, and a text of at most 255 bytes with
 * no CR or LF (the text is stored in the outbox and printed).
 */
#include "fuzz.h"
#include "chan.h"

#define MAX_REPLIES 256

struct seen {
	int n;
	int code[MAX_REPLIES];
	char text[MAX_REPLIES][256];
};

static void take(struct seen *s, const struct smtp_reply *r)
{
	size_t len = strlen(r->text);

	FZ_CHECK(len <= 255, "text of %zu bytes", len);
	FZ_CHECK(!strchr(r->text, '\r') && !strchr(r->text, '\n'), "CR or LF in \"%s\"", r->text);
	if (r->code) {
		FZ_CHECK(len >= 3 && r->code == (r->text[0] - '0') * 100 + (r->text[1] - '0') * 10 +
			 (r->text[2] - '0'), "code %d for \"%s\"", r->code, r->text);
	}
	if (s->n < MAX_REPLIES) {
		s->code[s->n] = r->code;
		memcpy(s->text[s->n], r->text, sizeof(s->text[0]));
	}
	s->n++;
}

/* Reads data in pieces of at most max bytes (a pseudo-random size from
 * seed each; max 0: all at once). */
static void read_in(const char *data, size_t size, unsigned seed, size_t max, struct seen *s)
{
	struct smtp_reply r;
	size_t off = 0;

	memset(&r, 0, sizeof(r));
	memset(s, 0, sizeof(*s));
	while (off < size) {
		size_t piece = size - off, used = 0;
		if (max) {
			seed = seed * 1103515245u + 12345u;
			piece = 1 + (seed >> 16) % max;
			if (piece > size - off)
				piece = size - off;
		}
		while (used < piece) {
			int done;
			used += smtp_reply_feed(&r, data + off + used, piece - used, &done, NULL, NULL);
			if (done)
				take(s, &r);
		}
		off += piece;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, pieces;

	if (size < 1)
		return 0;
	read_in((const char *)data + 1, size - 1, 0, 0, &whole);
	read_in((const char *)data + 1, size - 1, data[0], 1 + data[0] % 17, &pieces);
	FZ_CHECK(whole.n == pieces.n, "%d replies whole, %d in pieces", whole.n, pieces.n);
	for (int i = 0; i < whole.n && i < MAX_REPLIES; i++)
		FZ_CHECK(whole.code[i] == pieces.code[i] && !strcmp(whole.text[i], pieces.text[i]),
			 "reply %d: %d \"%s\" whole, %d \"%s\" in pieces", i, whole.code[i],
			 whole.text[i], pieces.code[i], pieces.text[i]);
	return 0;
}
