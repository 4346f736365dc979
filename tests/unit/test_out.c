/* Unit tests for lib/out.c: every output format, quoting and escaping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "tap.h"
#include "util.h"
#include "uwidth.h"

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
		    " 1  Smith, \"Jr.\"   {\"plan\":\"pro\"}    2.5\n"
		    "-7  tab here line                  Ёж\n",
	       "table: aligned by display width, numbers on the right, control characters as spaces");
	free(buf);

	/* kinds: money in the row's currency or a fixed one, rates, counts */
	{
		static const char *const cols[] = { "who", "n", "amount", "rate", "fee", "currency" };
		struct out_val r[3][6] = {
			{ { OUT_TEXT, 0, 0, "王小明", 9 },
			  { OUT_INT, 1752457, 0, NULL, 0 }, { OUT_REAL, 0, 1234567.5, NULL, 0 },
			  { OUT_REAL, 0, 0.6667, NULL, 0 }, { OUT_REAL, 0, 2, NULL, 0 },
			  { OUT_TEXT, 0, 0, "GBP", 3 } },
			{ { OUT_TEXT, 0, 0, "Zoe\xf0\x9f\x98\x80", 7 },
			  { OUT_INT, -1000, 0, NULL, 0 }, { OUT_REAL, 0, 1752457.4, NULL, 0 },
			  { OUT_REAL, 0, 0.002997, NULL, 0 }, { OUT_REAL, 0, -0.001, NULL, 0 },
			  { OUT_TEXT, 0, 0, "JPY", 3 } },
			{ { OUT_TEXT, 0, 0, "Jose\xcc\x81", 6 },
			  { OUT_REAL, 0, 12.5, NULL, 0 }, { OUT_REAL, 0, 1.2346, NULL, 0 },
			  { OUT_REAL, 0, -0.25, NULL, 0 }, { OUT_REAL, 0, NAN, NULL, 0 },
			  { OUT_TEXT, 0, 0, "KWD", 3 } },
		};
		mem = open_memstream(&buf, &len);
		o = out_new(mem, OUT_TABLE);
		out_column_kind(o, "n", OUT_KIND_COUNT, NULL); /* before the columns */
		out_columns(o, 6, cols);
		out_column_kind(o, "amount", OUT_KIND_MONEY, NULL);
		out_column_kind(o, "rate", OUT_KIND_RATE, NULL);
		out_column_kind(o, "fee", OUT_KIND_MONEY, "USD");
		out_column_kind(o, "nothing", OUT_KIND_COUNT, NULL);
		for (int i = 0; i < 3; i++)
			out_row(o, r[i]);
		end(o);
		is_str(buf, "who             n        amount     rate   fee  currency\n"
			    "王小明  1,752,457  1,234,567.50    66.7%  2.00  GBP\n"
			    "Zoe\xf0\x9f\x98\x80      -1,000     1,752,457  0.2997%  0.00  JPY\n"
			    "Jose\xcc\x81         12.5         1.235   -25.0%        KWD\n",
		       "table: counts, money by currency, rates, display widths");
		free(buf);
		mem = open_memstream(&buf, &len);
		o = out_new(mem, OUT_CSV);
		out_columns(o, 6, cols);
		out_column_kind(o, "amount", OUT_KIND_MONEY, NULL);
		out_column_kind(o, "rate", OUT_KIND_RATE, NULL);
		out_row(o, r[1]);
		end(o);
		is_str(buf, "who,n,amount,rate,fee,currency\n"
			    "Zoe\xf0\x9f\x98\x80,-1000,1752457.4,0.002997,-0.001,JPY\n",
		       "csv: kinds change nothing");
		free(buf);
	}
	is_int((int)uwidth("王Ё\xcc\x81\xe2\x80\x8d\xf0\x9f\x98\x80\xff", 15), 6,
	       "uwidth: CJK 2, Cyrillic 1, combining 0, ZWJ 0, emoji 2, a bad byte 1");
	is_int(uwidth_cp(0xAD), 1, "uwidth: a soft hyphen shows");
	is_int(uwidth_cp(0x1F9FF), 2, "uwidth: an emoji of Unicode 11");
	is_int(uwidth_cp(0xFF21), 2, "uwidth: a fullwidth letter");

	{
		struct sb sb = SB_INIT;
		json_quote(&sb, "a\x01\"\\", 4);
		is_str(sb.buf, "\"a\\u0001\\\"\\\\\"", "json_quote escapes control characters");
		sb_free(&sb);
	}
	return tap_done();
}
