/*
 * tzinfer.c - a customer's time zone from what is known of them. See
 * tzinfer.h.
 */
#include "tzinfer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "norm.h"
#include "util.h"

/*
 * The zone of most of the people of a country with several (zone.tab lists
 * 31 such countries; Antarctica and the US Minor Outlying Islands take
 * zone.tab's first row). A choice counts only when zone.tab lists it for
 * the country, so a renamed zone falls to the next entry (Europe/Kyiv was
 * Europe/Kiev before tzdata 2022b), then to zone.tab's first row.
 */
static const struct {
	char a2[3];
	const char *zone;
} choices[] = {
	{ "AR", "America/Argentina/Buenos_Aires" },
	{ "AU", "Australia/Sydney" },
	{ "BR", "America/Sao_Paulo" },
	{ "CA", "America/Toronto" },
	{ "CD", "Africa/Kinshasa" },
	{ "CL", "America/Santiago" },
	{ "CN", "Asia/Shanghai" },
	{ "CY", "Asia/Nicosia" },
	{ "DE", "Europe/Berlin" },
	{ "EC", "America/Guayaquil" },
	{ "ES", "Europe/Madrid" },
	{ "FM", "Pacific/Chuuk" },
	{ "GL", "America/Nuuk" },
	{ "GL", "America/Godthab" },
	{ "ID", "Asia/Jakarta" },
	{ "KI", "Pacific/Tarawa" },
	{ "KZ", "Asia/Almaty" },
	{ "MH", "Pacific/Majuro" },
	{ "MN", "Asia/Ulaanbaatar" },
	{ "MX", "America/Mexico_City" },
	{ "MY", "Asia/Kuala_Lumpur" },
	{ "NZ", "Pacific/Auckland" },
	{ "PF", "Pacific/Tahiti" },
	{ "PG", "Pacific/Port_Moresby" },
	{ "PS", "Asia/Hebron" },	/* the West Bank: more people than Gaza */
	{ "PT", "Europe/Lisbon" },
	{ "RU", "Europe/Moscow" },
	{ "UA", "Europe/Kyiv" },
	{ "UA", "Europe/Kiev" },
	{ "US", "America/New_York" },
	{ "UZ", "Asia/Tashkent" },
};

/*
 * ITU-T E.164 country calling codes and the country each gives (codes are
 * prefix-free, longest first where one begins another: 76 and 77 before
 * 7). A code several countries share gives the largest: +1 the US (the
 * North American Numbering Plan: Canada and the Caribbean too), +7 Russia,
 * +44 the United Kingdom, +47 Norway, +61 Australia, +262 Réunion, +590
 * Guadeloupe, +599 Curaçao.
 */
static const struct {
	const char *cc;
	char a2[3];
} codes[] = {
	{ "1", "US" }, { "20", "EG" }, { "211", "SS" }, { "212", "MA" }, { "213", "DZ" },
	{ "216", "TN" }, { "218", "LY" }, { "220", "GM" }, { "221", "SN" }, { "222", "MR" },
	{ "223", "ML" }, { "224", "GN" }, { "225", "CI" }, { "226", "BF" }, { "227", "NE" },
	{ "228", "TG" }, { "229", "BJ" }, { "230", "MU" }, { "231", "LR" }, { "232", "SL" },
	{ "233", "GH" }, { "234", "NG" }, { "235", "TD" }, { "236", "CF" }, { "237", "CM" },
	{ "238", "CV" }, { "239", "ST" }, { "240", "GQ" }, { "241", "GA" }, { "242", "CG" },
	{ "243", "CD" }, { "244", "AO" }, { "245", "GW" }, { "246", "IO" }, { "248", "SC" },
	{ "249", "SD" }, { "250", "RW" }, { "251", "ET" }, { "252", "SO" }, { "253", "DJ" },
	{ "254", "KE" }, { "255", "TZ" }, { "256", "UG" }, { "257", "BI" }, { "258", "MZ" },
	{ "260", "ZM" }, { "261", "MG" }, { "262", "RE" }, { "263", "ZW" }, { "264", "NA" },
	{ "265", "MW" }, { "266", "LS" }, { "267", "BW" }, { "268", "SZ" }, { "269", "KM" },
	{ "27", "ZA" }, { "290", "SH" }, { "291", "ER" }, { "297", "AW" }, { "298", "FO" },
	{ "299", "GL" }, { "30", "GR" }, { "31", "NL" }, { "32", "BE" }, { "33", "FR" },
	{ "34", "ES" }, { "350", "GI" }, { "351", "PT" }, { "352", "LU" }, { "353", "IE" },
	{ "354", "IS" }, { "355", "AL" }, { "356", "MT" }, { "357", "CY" }, { "358", "FI" },
	{ "359", "BG" }, { "36", "HU" }, { "370", "LT" }, { "371", "LV" }, { "372", "EE" },
	{ "373", "MD" }, { "374", "AM" }, { "375", "BY" }, { "376", "AD" }, { "377", "MC" },
	{ "378", "SM" }, { "379", "VA" }, { "380", "UA" }, { "381", "RS" }, { "382", "ME" },
	{ "385", "HR" }, { "386", "SI" }, { "387", "BA" }, { "389", "MK" }, { "39", "IT" },
	{ "40", "RO" }, { "41", "CH" }, { "420", "CZ" }, { "421", "SK" }, { "423", "LI" },
	{ "43", "AT" }, { "44", "GB" }, { "45", "DK" }, { "46", "SE" }, { "47", "NO" },
	{ "48", "PL" }, { "49", "DE" }, { "500", "FK" }, { "501", "BZ" }, { "502", "GT" },
	{ "503", "SV" }, { "504", "HN" }, { "505", "NI" }, { "506", "CR" }, { "507", "PA" },
	{ "508", "PM" }, { "509", "HT" }, { "51", "PE" }, { "52", "MX" }, { "53", "CU" },
	{ "54", "AR" }, { "55", "BR" }, { "56", "CL" }, { "57", "CO" }, { "58", "VE" },
	{ "590", "GP" }, { "591", "BO" }, { "592", "GY" }, { "593", "EC" }, { "594", "GF" },
	{ "595", "PY" }, { "596", "MQ" }, { "597", "SR" }, { "598", "UY" }, { "599", "CW" },
	{ "60", "MY" }, { "61", "AU" }, { "62", "ID" }, { "63", "PH" }, { "64", "NZ" },
	{ "65", "SG" }, { "66", "TH" }, { "670", "TL" }, { "672", "NF" }, { "673", "BN" },
	{ "674", "NR" }, { "675", "PG" }, { "676", "TO" }, { "677", "SB" }, { "678", "VU" },
	{ "679", "FJ" }, { "680", "PW" }, { "681", "WF" }, { "682", "CK" }, { "683", "NU" },
	{ "685", "WS" }, { "686", "KI" }, { "687", "NC" }, { "688", "TV" }, { "689", "PF" },
	{ "690", "TK" }, { "691", "FM" }, { "692", "MH" },
	{ "76", "KZ" }, { "77", "KZ" }, { "7", "RU" },
	{ "81", "JP" }, { "82", "KR" }, { "84", "VN" }, { "850", "KP" }, { "852", "HK" },
	{ "853", "MO" }, { "855", "KH" }, { "856", "LA" }, { "86", "CN" }, { "880", "BD" },
	{ "886", "TW" }, { "90", "TR" }, { "91", "IN" }, { "92", "PK" }, { "93", "AF" },
	{ "94", "LK" }, { "95", "MM" }, { "960", "MV" }, { "961", "LB" }, { "962", "JO" },
	{ "963", "SY" }, { "964", "IQ" }, { "965", "KW" }, { "966", "SA" }, { "967", "YE" },
	{ "968", "OM" }, { "970", "PS" }, { "971", "AE" }, { "972", "IL" }, { "973", "BH" },
	{ "974", "QA" }, { "975", "BT" }, { "976", "MN" }, { "977", "NP" }, { "98", "IR" },
	{ "992", "TJ" }, { "993", "TM" }, { "994", "AZ" }, { "995", "GE" }, { "996", "KG" },
	{ "998", "UZ" },
};

/* ---- zone.tab ------------------------------------------------------------ */

/* Its rows in file order, read once per process. */
static struct row {
	char a2[3];
	char *zone;
} *rows;
static size_t nrows;
static int loaded;

static void load_zone_tab(void)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], line[512];
	size_t cap = 0;
	FILE *f;

	loaded = 1;
	snprintf(path, sizeof(path), "%s/zone.tab", dir && *dir ? dir : "/usr/share/zoneinfo");
	if (!(f = fopen(path, "r"))) {
		crm_warn("%s: cannot read it (the tzdata package): customers' time zones are not "
			 "inferred from their country or phone", path);
		return;
	}
	/* country code TAB coordinates TAB zone [TAB comment] */
	while (fgets(line, sizeof(line), f)) {
		char *zone, *end;

		if (line[0] == '#' || strlen(line) < 4 || line[2] != '\t')
			continue;
		if (!(zone = strchr(line + 3, '\t')))
			continue;
		zone++;
		end = zone + strcspn(zone, "\t\r\n");
		if (end == zone)
			continue;
		if (nrows == cap) {
			cap = cap ? 2 * cap : 512;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		memcpy(rows[nrows].a2, line, 2);
		rows[nrows].a2[2] = 0;
		rows[nrows].zone = xstrndup(zone, (size_t)(end - zone));
		nrows++;
	}
	fclose(f);
}

static const char *listed(const char *a2, const char *zone)
{
	for (size_t i = 0; i < nrows; i++)
		if (!memcmp(rows[i].a2, a2, 2) && (!zone || !strcmp(rows[i].zone, zone)))
			return rows[i].zone;
	return NULL;
}

/* The answer per country, kept: a claim asks once per row. */
static const char *kept[26 * 26];
static unsigned char known[26 * 26];

const char *tz_of_country(const char *a2)
{
	const char *z = NULL;
	int k;

	if (a2[0] < 'A' || a2[0] > 'Z' || a2[1] < 'A' || a2[1] > 'Z')
		return NULL;
	k = (a2[0] - 'A') * 26 + (a2[1] - 'A');
	if (known[k])
		return kept[k];
	if (!loaded)
		load_zone_tab();
	for (size_t i = 0; i < ARRAY_SIZE(choices) && !z; i++)
		if (!memcmp(choices[i].a2, a2, 2))
			z = listed(a2, choices[i].zone);
	if (!z)
		z = listed(a2, NULL);
	known[k] = 1;
	return kept[k] = z;
}

const char *tz_phone_country(const char *phone, char cc[5])
{
	size_t n;

	if (!phone || phone[0] != '+')
		return NULL;
	n = strspn(phone + 1, "0123456789");
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		size_t k = strlen(codes[i].cc);
		if (k < n && !memcmp(phone + 1, codes[i].cc, k)) {
			if (cc)
				snprintf(cc, 5, "%s", codes[i].cc);
			return codes[i].a2;
		}
	}
	return NULL;
}

/* The alpha-2 code of a stored country: "RU", "ru", or a name
 * norm_country() knows ("Russia"). */
static int country_code(const char *country, char a2[3])
{
	const char *why;

	return country && *country && norm_country(country, strlen(country), a2, &why) == 0;
}

void tz_infer(const char *tz, const char *country, const char *phone, struct tz_guess *g)
{
	const char *a2;

	memset(g, 0, sizeof(*g));
	if (tz && *tz) {
		g->zone = tz;
		g->source = TZ_STORED;
		return;
	}
	if (country_code(country, g->country) && (g->zone = tz_of_country(g->country))) {
		g->source = TZ_COUNTRY;
		return;
	}
	if ((a2 = tz_phone_country(phone, g->cc)) && (g->zone = tz_of_country(a2))) {
		memcpy(g->country, a2, 3);
		g->source = TZ_PHONE;
		return;
	}
	memset(g, 0, sizeof(*g));
	g->source = TZ_SERVER;
}

const char *tz_source_name(enum tz_source s)
{
	static const char *const names[] = { "stored", "country", "phone", "server" };

	return names[s];
}

const char *tz_server_name(void)
{
	static char buf[PATH_MAX];
	const char *tz = getenv("TZ"), *p;
	ssize_t n;

	if (tz && *tz)
		return tz[0] == ':' ? tz + 1 : tz;
	n = readlink("/etc/localtime", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		if ((p = strstr(buf, "zoneinfo/")))
			return p + strlen("zoneinfo/");
	}
	return "UTC";
}
