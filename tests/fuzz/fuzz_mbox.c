/*
 * fuzz_mbox.c - the mbox splitter of crm-import bounces
 * (inbound_mbox_next, lib/inbound.c): any bytes are cut into messages
 * that follow one another with nothing lost but the one empty line
 * between two, each after the first beginning with "From ", always
 * making progress and never reading past the end.
 */
#include "fuzz.h"
#include "inbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t start = 0, total = 0, n = 0;

	while (start < size) {
		size_t mlen, next = inbound_mbox_next(s, size, start, &mlen);
		FZ_CHECK(next > start && next <= size, "no progress or past the end: %zu -> %zu of %zu",
			 start, next, size);
		FZ_CHECK(mlen == next - start || (mlen + 1 == next - start && s[start + mlen] == '\n'),
			 "message at %zu: %zu bytes of %zu", start, mlen, next - start);
		if (next < size) {
			FZ_CHECK(size - next >= 5 && !memcmp(s + next, "From ", 5),
				 "a message at %zu that is not a From line", next);
			FZ_CHECK(next >= 2 && s[next - 1] == '\n' && s[next - 2] == '\n',
				 "a From line at %zu not after an empty line", next);
		}
		total += next - start;
		start = next;
		n++;
	}
	FZ_CHECK(total == size, "%zu of %zu bytes in %zu messages", total, size, n);
	return 0;
}
