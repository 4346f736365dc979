/* Unit tests for lib/out.c: every output format, quoting and escaping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "tap.h"
#include "util.h"

static char *buf;
static size_t len;
static FILE *mem;

static struct out *start(enum out_format f)
{
	struct out *o;
	mem = open_memstream(&buf, &len);
	o = out_new(mem, f);
	static const char *const cols[] = { "id", "name", "attrs", "score" };
	out_columns(o, 4, cols);
	return o;
}

/* Finishes o and closes the stream: buf then holds the output. */
static void end(struct out *o)
{
	out_finish(o);
	ok(fclose(mem) == 0 && buf && len == strlen(buf), "the stream holds all that was written");
}

static void rows(struct out *o, int neutral)
{
	struct out_val a[4] = {
		{ OUT_INT, 1, 0, NULL, 0 },
		{ OUT_TEXT, 0, 0, "Smith, \"Jr.\"", 12 },
		{ OUT_TEXT, 0, 0, "{\"plan\":\"pro\"}", 14 },
		{ OUT_REAL, 0, 2.5, NULL, 0 },
	};
	struct out_val b[4] = {
		{ OUT_INT, -7, 0, NULL, 0 },
		{ OUT_TEXT, 0, 0, neutral ? "=SUM(A1)" : "tab\there\nline", neutral ? 8 : 13 },
		{ OUT_NULL, 0, 0, NULL, 0 },
		{ OUT_TEXT, 0, 0, "Ёж", 4 },
	};
	out_row(o, a);
	out_row(o, b);
}

int main(void)
{
	struct out *o;
	enum out_format f;

	is_int(out_format_parse("csv", &f), 0, "parse csv");
	is_int(f, OUT_CSV, "csv value");
	is_int(out_format_parse("jsonl", &f), 0, "parse jsonl");
	is_int(out_format_parse("ndjson", &f), 0, "parse ndjson alias");
	is_int(f, OUT_JSONL, "ndjson is jsonl");
	is_int(out_format_parse("xml", &f), -1, "xml is unknown");

	o = start(OUT_CSV);
	rows(o, 0);
	end(o);
	is_str(buf, "id,name,attrs,score\n"
		    "1,\"Smith, \"\"Jr.\"\"\",\"{\"\"plan\"\":\"\"pro\"\"}\",2.5\n"
		    "-7,\"tab\there\nline\",,Ёж\n", "csv quotes commas, quotes and newlines only");
	free(buf);

	o = start(OUT_CSV);
	out_set_neutralise(o, 1);
	rows(o, 1);
	end(o);
	is_str(buf, "id,name,attrs,score\n"
		    "1,\"Smith, \"\"Jr.\"\"\",\"{\"\"plan\"\":\"\"pro\"\"}\",2.5\n"
		    "-7,'=SUM(A1),,Ёж\n", "csv neutralises formula cells; -7 is a number");
	free(buf);

	{
		/* what a spreadsheet would run, and only that */
		static const struct { const char *s; int want; } g[] = {
			{ "=1+1", 1 }, { "@SUM(A1)", 1 }, { "+cmd|' /C calc'!A0", 1 },
			{ "-2+3", 1 }, { "+", 1 }, { "-", 1 }, { "-Moscow", 1 }, { "+7 916", 1 },
			{ "\tx", 1 }, { "\rx", 1 }, { "-1.", 1 }, { "+.5", 1 }, { "-1e5", 1 },
			{ "+79161234567", 0 }, { "-12.5", 0 }, { "-7", 0 }, { "+0", 0 },
			{ "", 0 }, { "plain", 0 }, { "a=b", 0 }, { "'", 0 }, { "'x", 0 },
			{ "'+79161234567", 1 }, { "'=x", 1 }, { "''@x", 1 }, { "''", 0 },
			{ "{\"a\":\"=1\"}", 0 }, { " =1", 0 },
		};
		for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
			is_int(out_formula_like(g[i].s, strlen(g[i].s)), g[i].want, g[i].s);
	}

	o = start(OUT_CSV);
	out_set_neutralise(o, OUT_NEUTRALISE_TEXT);
	rows(o, 1);
	end(o);
	is_str(buf, "id,name,attrs,score\n"
		    "1,\"Smith, \"\"Jr.\"\"\",\"{\"\"plan\"\":\"\"pro\"\"}\",2.5\n"
		    "-7,'=SUM(A1),,Ёж\n", "csv neutralises text cells only: -7 stays a number");
	free(buf);

	o = start(OUT_TSV);
	rows(o, 0);
	end(o);
	is_str(buf, "id\tname\tattrs\tscore\n"
		    "1\tSmith, \"Jr.\"\t{\"plan\":\"pro\"}\t2.5\n"
		    "-7\ttab\\there\\nline\t\tЁж\n", "tsv escapes tab and newline");
	free(buf);

	o = start(OUT_JSONL);
	rows(o, 0);
	end(o);
	is_str(buf, "{\"id\":1,\"name\":\"Smith, \\\"Jr.\\\"\",\"attrs\":{\"plan\":\"pro\"},\"score\":2.5}\n"
		    "{\"id\":-7,\"name\":\"tab\\there\\nline\",\"attrs\":null,\"score\":\"Ёж\"}\n",
	       "jsonl: typed values, attrs as JSON, escapes");
	free(buf);

	o = start(OUT_JSON);
	rows(o, 0);
	end(o);
	ok(buf[0] == '[' && strstr(buf, "},\n{") && !strcmp(buf + strlen(buf) - 3, "\n]\n"),
	   "json: one array");
	free(buf);

	o = start(OUT_JSON);
	end(o);
	is_str(buf, "[]\n", "json: empty array for no rows");
	free(buf);

	o = start(OUT_CSV);
	end(o);
	is_str(buf, "id,name,attrs,score\n", "csv: header even without rows");
	free(buf);

	o = start(OUT_TABLE);
	rows(o, 0);
	end(o);
	is_str(buf, "id  name           attrs           score\n"
		    "1   Smith, \"Jr.\"   {\"plan\":\"pro\"}  2.5\n"
		    "-7  tab here line                  Ёж\n",
	       "table: aligned by display width, control characters as spaces");
	free(buf);

	{
		struct sb sb = SB_INIT;
		json_quote(&sb, "a\x01\"\\", 4);
		is_str(sb.buf, "\"a\\u0001\\\"\\\\\"", "json_quote escapes control characters");
		sb_free(&sb);
	}
	return tap_done();
}
