/*
 * fuzz.h - what the libFuzzer targets in tests/fuzz share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput(). It is linked twice:
 * with clang -fsanitize=fuzzer,address,undefined by `make fuzz` (libFuzzer
 * provides main), and with the normal compiler and tests/fuzz/replay.c by
 * `make tests`, whose main() runs every file of the seed corpus
 * (tests/fuzz/corpus/NAME) and the crashers found so far
 * (tests/fuzz/regress/NAME) through the same function.
 *
 * A target checks properties with FZ_CHECK: a violation prints what went
 * wrong and aborts, which both libFuzzer and the replay count as a crash.
 */
#ifndef CRM_FUZZ_H
#define CRM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond, ...)                                                    \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property failed: %s: ",        \
				__FILE__, __LINE__, #cond);                    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* A NUL-terminated copy of the input (malloc'd). */
static inline char *fz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* 1 when the NUL-terminated needle occurs in s[0..len). */
static inline int fz_memmem(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(s + i, needle, n))
			return 1;
	return 0;
}

/* How many times byte c occurs in s[0..len). */
static inline size_t fz_count(const char *s, size_t len, int c)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++)
		k += s[i] == (char)c;
	return k;
}

/* Prints len bytes of s escaped, for property failure messages. */
static inline void fz_dump(const char *what, const char *s, size_t len)
{
	fprintf(stderr, "%s (%zu bytes): \"", what, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "\"\n");
}

#endif
