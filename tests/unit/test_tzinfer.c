/* test_tzinfer.c - lib/tzinfer.c: a customer's time zone from their
 * stored zone, country or phone, against this machine's tzdata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tzinfer.h"

/* How many rows zone.tab has for a country, and whether zone is one. */
static int zone_tab(const char *a2, const char *zone, int *listed)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/usr/share/zoneinfo/zone.tab", "r");

	*listed = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *z;
		if (line[0] == '#' || strncmp(line, a2, 2) || line[2] != '\t' ||
		    !(z = strchr(line + 3, '\t')))
			continue;
		z++;
		z[strcspn(z, "\t\r\n")] = 0;
		n++;
		if (zone && !strcmp(z, zone))
			*listed = 1;
	}
	fclose(f);
	return n;
}

int main(void)
{
	static const struct { const char *a2, *zone; } most[] = {
		{ "RU", "Europe/Moscow" }, { "US", "America/New_York" },
		{ "BR", "America/Sao_Paulo" }, { "CA", "America/Toronto" },
		{ "AU", "Australia/Sydney" }, { "MX", "America/Mexico_City" },
		{ "ID", "Asia/Jakarta" }, { "KZ", "Asia/Almaty" },
		{ "DE", "Europe/Berlin" }, { "FR", "Europe/Paris" }, { "JP", "Asia/Tokyo" },
	};
	static const struct { const char *phone, *a2, *cc; } phones[] = {
		{ "+12025550100", "US", "1" }, { "+79161234567", "RU", "7" },
		{ "+77011234567", "KZ", "77" }, { "+76000000000", "KZ", "76" },
		{ "+442071234567", "GB", "44" }, { "+380441234567", "UA", "380" },
		{ "+998901234567", "UZ", "998" }, { "+8613812345678", "CN", "86" },
		{ "+5511912345678", "BR", "55" }, { "+4930123456", "DE", "49" },
		{ "+97142345678", "AE", "971" }, { "+35312345678", "IE", "353" },
	};
	struct tz_guess g;
	char cc[5], phone[24];
	int listed, n, codes = 0, zoned = 0;
	const char *a2, *z;

	setenv("TZ", "UTC", 1);
	unsetenv("TZDIR");
	for (size_t i = 0; i < sizeof(most) / sizeof(most[0]); i++) {
		z = tz_of_country(most[i].a2);
		is_str(z ? z : "(none)", most[i].zone, "%s: its most populous zone", most[i].a2);
		n = zone_tab(most[i].a2, z, &listed);
		ok(listed, "%s: %s is zone.tab's (%d zones)", most[i].a2, z ? z : "(none)", n);
	}
	ok(!tz_of_country("XX"), "no zone for an unknown country");

	/* every country of zone.tab with several zones gets one of its own */
	{
		char line[512], last[3] = "";
		FILE *f = fopen("/usr/share/zoneinfo/zone.tab", "r");
		ok(f != NULL, "zone.tab is readable");
		while (f && fgets(line, sizeof(line), f)) {
			char a[3] = { line[0], line[1], 0 };
			if (line[0] == '#' || !strcmp(a, last))
				continue;
			memcpy(last, a, 3);
			if (zone_tab(a, NULL, &listed) < 2)
				continue;
			z = tz_of_country(a);
			zone_tab(a, z, &listed);
			ok(z && listed, "%s (several zones): %s", a, z ? z : "(none)");
		}
		if (f)
			fclose(f);
	}

	for (size_t i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
		a2 = tz_phone_country(phones[i].phone, cc);
		is_str(a2 ? a2 : "(none)", phones[i].a2, "%s: its country", phones[i].phone);
		is_str(a2 ? cc : "", phones[i].cc, "%s: its calling code", phones[i].phone);
	}
	ok(!tz_phone_country("79161234567", NULL), "no '+': no country");
	ok(!tz_phone_country("+7", NULL), "a code alone: no country");
	ok(!tz_phone_country(NULL, NULL), "NULL: no country");
	ok(!tz_phone_country("+2471234", NULL), "a code not in the table (+247, Ascension): none");

	/* each calling code's country has a zone in zone.tab */
	for (int d = 1; d < 1000; d++) {
		char code[16];
		snprintf(code, sizeof(code), "%d", d);
		snprintf(phone, sizeof(phone), "+%s1234567", code);
		if (!(a2 = tz_phone_country(phone, cc)) || strcmp(cc, code))
			continue;	/* no such code, or a shorter one took it */
		codes++;
		zoned += (z = tz_of_country(a2)) != NULL;
		if (!z)
			ok(0, "+%s (%s) has no zone in zone.tab", cc, a2);
	}
	ok(codes > 200, "%d calling codes", codes);
	is_int(zoned, codes, "every calling code's country has a zone");

	tz_infer("Asia/Tokyo", "RU", "+12025550100", &g);
	ok(g.source == TZ_STORED && !strcmp(g.zone, "Asia/Tokyo"), "a stored zone wins");
	tz_infer("", "ru", "+12025550100", &g);
	ok(g.source == TZ_COUNTRY && !strcmp(g.zone, "Europe/Moscow") && !strcmp(g.country, "RU"),
	   "then the country (any case)");
	tz_infer(NULL, "Russia", NULL, &g);
	ok(g.source == TZ_COUNTRY && !strcmp(g.zone, "Europe/Moscow"), "a country's name too");
	tz_infer(NULL, "Atlantis", "+12025550100", &g);
	ok(g.source == TZ_PHONE && !strcmp(g.zone, "America/New_York") && !strcmp(g.cc, "1"),
	   "an unknown country: the phone");
	tz_infer(NULL, NULL, "+79161234567", &g);
	ok(g.source == TZ_PHONE && !strcmp(g.zone, "Europe/Moscow") && !strcmp(g.country, "RU"),
	   "the phone's calling code");
	tz_infer(NULL, NULL, NULL, &g);
	ok(g.source == TZ_SERVER && !g.zone, "nothing known: the server's");
	is_str(tz_source_name(g.source), "server", "its name");
	is_str(tz_server_name(), "UTC", "the server's zone is $TZ");
	setenv("TZ", ":Europe/Paris", 1);
	is_str(tz_server_name(), "Europe/Paris", "without TZ's colon");
	return tap_done();
}
