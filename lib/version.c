#include "version.h"

#include <cJSON.h>
#include <csv.h>
#include <curl/curl.h>
#include <gmime/gmime.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "diag.h"

/* inih reports no version and its header has none: the Makefile passes
 * the one pkg-config gives */
#ifndef CRM_INIH_VERSION
#define CRM_INIH_VERSION "unknown"
#endif

void crm_print_versions(FILE *fp)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	fprintf(fp, "%s (crmkit) %s\n", crm_progname, CRM_VERSION);
	fprintf(fp, "SQLite %s\n", sqlite3_libversion());
	fprintf(fp, "libcurl %s%s%s%s\n", cv->version, cv->ssl_version ? " (" : "",
		cv->ssl_version ? cv->ssl_version : "", cv->ssl_version ? ")" : "");
#ifdef OPENSSL_VERSION_STRING
	fprintf(fp, "OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
#else
	fprintf(fp, "%s\n", OpenSSL_version(OPENSSL_VERSION));
#endif
	fprintf(fp, "cJSON %s\n", cJSON_Version());
	fprintf(fp, "libcsv %d.%d.%d (built with; it reports none at run time)\n", CSV_MAJOR,
		CSV_MINOR, CSV_RELEASE);
	fprintf(fp, "inih %s (built with; it reports none at run time)\n",
		*CRM_INIH_VERSION ? CRM_INIH_VERSION : "unknown");
	fprintf(fp, "libmicrohttpd %s\n", MHD_get_version());
	fprintf(fp, "GMime %u.%u.%u\n", gmime_major_version, gmime_minor_version,
		gmime_micro_version);
	fprintf(fp, "GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
}
