/*
 * tzinfer.h - the time zone quiet hours use for a customer (issue 19: a
 * Russian customer without a time zone was mailed at 22:30 Moscow time,
 * the server's clock saying 19:30).
 *
 * In this order:
 *  - stored: the customer's timezone field, when not empty;
 *  - country: the zone of the customer's country (ISO 3166-1 alpha-2, or
 *    a name norm_country() knows) in tzdata's zone.tab, read at run time
 *    from $TZDIR, else /usr/share/zoneinfo. A country with one zone has
 *    it; a country with several has the zone of most of its people, from
 *    the table of choices in tzinfer.c (RU Europe/Moscow, US
 *    America/New_York, ...), else zone.tab's first row for it (tzdata
 *    lists the most populous zones first, where geography allows);
 *  - phone: the country of the E.164 number's calling code (the table in
 *    tzinfer.c; +1 is the US, +7 Russia but +76 and +77 Kazakhstan), then
 *    its zone as above;
 *  - server: none of these; the process's TZ, as before.
 */
#ifndef CRM_TZINFER_H
#define CRM_TZINFER_H

enum tz_source { TZ_STORED, TZ_COUNTRY, TZ_PHONE, TZ_SERVER };

struct tz_guess {
	const char *zone;       /* IANA name; NULL: the server's */
	enum tz_source source;
	char country[3];        /* the country the zone was chosen for */
	char cc[5];             /* TZ_PHONE: the calling code, digits */
};

/* The zone for a customer with these fields (each may be NULL). The
 * zone's text lives as long as tz does (stored) or the process. */
void tz_infer(const char *tz, const char *country, const char *phone, struct tz_guess *g);

/* "stored", "country", "phone" or "server". */
const char *tz_source_name(enum tz_source s);

/* The zone of an alpha-2 country code (upper case), or NULL. */
const char *tz_of_country(const char *a2);

/* The alpha-2 country of an E.164 number ("+79161234567"), or NULL; the
 * calling code's digits are copied to cc when not NULL. */
const char *tz_phone_country(const char *phone, char cc[5]);

/* The server's zone, for display: $TZ, else what /etc/localtime links
 * to, else "UTC". */
const char *tz_server_name(void);

#endif
