/* report_html.c - crm-report --html FILE (to come). */
#include "report.h"

#include "diag.h"

int report_html(struct report *r, const char *campaign)
{
	(void)r;
	(void)campaign;
	crm_error("--html is not available yet");
	return 1;
}
