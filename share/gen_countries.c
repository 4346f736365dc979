/*
 * gen_countries.c - builds the table of country names norm_country()
 * looks up, from Debian's iso-codes data, at build time (the Makefile
 * runs it; nothing of iso-codes is read at run time):
 *
 *   gen_countries ISO_3166-1.JSON ALIASES [ISO_3166-1.MO...] > countries_tab.c
 *
 * Every name becomes a key (lib/fold.c) mapped to an alpha-2 code, at one
 * of four ranks: the alpha-2 and alpha-3 codes, the aliases of
 * share/countries.aliases, the English name, official name and common
 * name of the JSON file, and their translations in the gettext
 * catalogues (/usr/share/locale/LL/LC_MESSAGES/iso_3166-1.mo). A key
 * names the country of its best rank; a key that two countries share at
 * that rank (a translation in one language of another country's name in
 * another) is left out, and listed in a comment of the output.
 *
 * The output is C: the keys sorted by their bytes, NUL-terminated, in one
 * array (crm_country_names), their offsets (crm_country_off) and codes
 * (crm_country_a2, two letters each), for a binary search. A key that
 * only a code gives has its code in lower case: "N/A" folds to the key
 * of Namibia's code, and a code must be written as one (two or three
 * letters, nothing else) to count.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fold.h"
#include "mo.h"

enum { R_CODE, R_ALIAS, R_ENGLISH, R_TRANSLATION };

struct ent {
	char *key;
	char a2[3];
	int rank;
};

static struct ent *ents;
static size_t nents, capents;
static const char *prog = "gen_countries";

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void die_at(const char *path, int line, const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s:%d: ", prog, path, line);
	fprintf(stderr, msg, arg);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc_(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("%s", "out of memory");
	return p;
}

static void add(const char *s, size_t n, const char *a2, int rank)
{
	char key[FOLD_MAX + 1];
	size_t k = fold_name(s, n, key);

	if (k == (size_t)-1 || k == 0)
		return;
	if (nents == capents) {
		capents = capents ? capents * 2 : 4096;
		ents = xrealloc_(ents, capents * sizeof(*ents));
	}
	ents[nents].key = xrealloc_(NULL, k + 1);
	memcpy(ents[nents].key, key, k + 1);
	memcpy(ents[nents].a2, a2, 3);
	ents[nents].rank = rank;
	nents++;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536)
			buf = xrealloc_(buf, cap = cap * 2 + 65536);
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* The alpha-2 codes known: ISO 3166-1's, and the user-assigned ones the
 * aliases declare with a line naming the code itself ("XK XK"). */
static char codes[1024][3];
static size_t ncodes;

static int code_known(const char *a2)
{
	for (size_t i = 0; i < ncodes; i++)
		if (!strcmp(codes[i], a2))
			return 1;
	return 0;
}

static void code_add(const char *a2)
{
	if (ncodes == sizeof(codes) / sizeof(codes[0]))
		die("%s", "too many codes");
	memcpy(codes[ncodes++], a2, 3);
}

/* English names (the msgids of the catalogues) and their codes. */
struct eng {
	const char *name;
	char a2[3];
};
static struct eng *engs;
static size_t nengs;

static int eng_cmp(const void *a, const void *b)
{
	return strcmp(((const struct eng *)a)->name, ((const struct eng *)b)->name);
}

static void read_json(const char *path)
{
	size_t len, i;
	char *buf = slurp(path, &len);
	cJSON *root, *arr, *c;
	static const char *const fields[] = { "name", "official_name", "common_name" };

	if (!buf)
		die("%s: cannot open (is iso-codes installed? make deps)", path);
	root = cJSON_ParseWithLength(buf, len);
	arr = cJSON_GetObjectItemCaseSensitive(root, "3166-1");
	if (!cJSON_IsArray(arr))
		die("%s: no \"3166-1\" array", path);
	cJSON_ArrayForEach(c, arr) {
		const char *a2 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "alpha_2"));
		const char *a3 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "alpha_3"));

		if (!a2 || strlen(a2) != 2 || !a3 || strlen(a3) != 3)
			die("%s: an entry without alpha_2 or alpha_3", path);
		add(a2, 2, a2, R_CODE);
		add(a3, 3, a2, R_CODE);
		code_add(a2);
		for (i = 0; i < 3; i++) {
			const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, fields[i]));

			if (!s)
				continue;
			add(s, strlen(s), a2, R_ENGLISH);
			engs = xrealloc_(engs, (nengs + 1) * sizeof(*engs));
			engs[nengs].name = strdup(s);
			memcpy(engs[nengs].a2, a2, 3);
			nengs++;
		}
	}
	if (nengs < 200)
		die("%s: fewer than 200 countries", path);
	qsort(engs, nengs, sizeof(*engs), eng_cmp);
	cJSON_Delete(root);
	free(buf);
}

static void read_aliases(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len), *line, *next;
	int lineno = 0;

	if (!buf)
		die("%s: cannot open", path);
	for (line = buf; line && *line; line = next) {
		char *nl = strchr(line, '\n'), *name, *end;
		char a2[3];

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		lineno++;
		if (*line == '#' || *line == 0)
			continue;
		if (line[0] < 'A' || line[0] > 'Z' || line[1] < 'A' || line[1] > 'Z' ||
		    (line[2] != ' ' && line[2] != '\t'))
			die_at(path, lineno, "%s", "a line is not \"CODE NAME\"");
		memcpy(a2, line, 2);
		a2[2] = 0;
		for (name = line + 2; *name == ' ' || *name == '\t'; name++)
			;
		end = name + strlen(name);
		while (end > name && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		if (end == name)
			die_at(path, lineno, "%s", "an alias without a name");
		if (!code_known(a2)) {
			if ((size_t)(end - name) != 2 || memcmp(name, a2, 2))
				die_at(path, lineno, "unknown code %s (declare a user-assigned"
				       " code with a line naming it, as \"XK XK\", first)", a2);
			code_add(a2);
		}
		add(name, (size_t)(end - name), a2, R_ALIAS);
	}
	free(buf);
}

static void read_mo(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);
	struct mo m;
	uint32_t i;

	if (!buf)
		die("%s: cannot open", path);
	if (mo_open(&m, buf, len))
		die("%s: not a .mo file", path);
	for (i = 0; i < m.count; i++) {
		const char *id, *str;
		size_t idlen, slen;
		struct eng k, *e;

		if (mo_get(&m, i, &id, &idlen, &str, &slen))
			die("%s: a damaged entry", path);
		if (!idlen || !slen || strlen(id) != idlen || strlen(str) != slen)
			continue;	/* the header, plurals */
		k.name = id;
		e = bsearch(&k, engs, nengs, sizeof(*engs), eng_cmp);
		if (e)
			add(str, slen, e->a2, R_TRANSLATION);
	}
	free(buf);
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->a2, y->a2);
}

static void put_c_string(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80)
			printf("\\%03o", c);
		else
			putchar(c);
	}
}

int main(int argc, char **argv)
{
	size_t i, j, nout = 0, off = 0, col = 0;
	size_t *keep;
	char *code_only;
	int a;

	if (argc < 3) {
		fprintf(stderr, "usage: %s ISO_3166-1.JSON ALIASES [MO...]\n", prog);
		return 2;
	}
	read_json(argv[1]);
	read_aliases(argv[2]);
	for (a = 3; a < argc; a++)
		read_mo(argv[a]);
	qsort(ents, nents, sizeof(*ents), ent_cmp);

	keep = xrealloc_(NULL, (nents + 1) * sizeof(*keep));
	code_only = xrealloc_(NULL, nents + 1);
	printf("/* generated by share/gen_countries.c from iso-codes' iso_3166-1\n"
	       " * (%d catalogues) and share/countries.aliases: do not edit.\n"
	       " * Keys two countries share at their best rank, left out:\n", argc - 3);
	for (i = 0; i < nents; i = j) {
		int ambiguous = 0;

		for (j = i + 1; j < nents && !strcmp(ents[j].key, ents[i].key); j++)
			if (ents[j].rank == ents[i].rank && strcmp(ents[j].a2, ents[i].a2))
				ambiguous = 1;
		if (!ambiguous) {
			code_only[nout] = ents[i].rank == R_CODE &&
				ents[j - 1].rank == R_CODE;
			keep[nout++] = i;
			continue;
		}
		printf(" *   ");
		for (size_t k = i; k < j && ents[k].rank == ents[i].rank; k++)
			printf("%s%s", k > i ? " " : "", ents[k].a2);
		printf(" (");
		for (const char *p = ents[i].key; *p; p++)
			putchar(*p == '*' || *p == '/' ? '_' : *p);
		printf(")\n");
	}
	printf(" */\n#include <stddef.h>\n#include <stdint.h>\n\n");
	printf("const size_t crm_country_nkeys = %zu;\n\n", nout);
	printf("const char crm_country_names[] =\n\t\"");
	for (i = 0; i < nout; i++) {
		put_c_string(ents[keep[i]].key);
		printf(i + 1 < nout ? "\\000\"\n\t\"" : "\";\n\n");
	}
	printf("const uint32_t crm_country_off[] = {");
	for (i = 0; i < nout; i++) {
		printf("%s%zu,", col++ % 10 ? " " : "\n\t", off);
		off += strlen(ents[keep[i]].key) + 1;
	}
	printf("\n};\n\nconst char crm_country_a2[] =");
	for (i = 0; i < nout; i++)
		printf("%s%c%c", i % 32 ? "" : "\n\t\"",
		       ents[keep[i]].a2[0] | (code_only[i] ? 0x20 : 0),
		       ents[keep[i]].a2[1] | (code_only[i] ? 0x20 : 0)),
		printf(i % 32 == 31 || i + 1 == nout ? "\"" : "");
	printf(";\n");
	if (fflush(stdout) || ferror(stdout))
		die("%s", "write error");
	return 0;
}
