#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "util.h"

struct progress {
	char *label;
	int64_t total;
	double start, last;
	unsigned tick;
};

struct progress *progress_new(const char *label, int64_t total)
{
	struct progress *p;

	if (crm_verbosity < 1 || !isatty(STDERR_FILENO))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->label = xstrdup(label);
	p->total = total;
	p->start = now_monotonic();
	return p;
}

static void human(char *buf, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(buf, n, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.0fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

void progress_update(struct progress *p, int64_t done, uint64_t rows)
{
	char bar[32], nrows[16], rate[16];
	double t, el;

	/* the clock is read every 1024 calls only */
	if (!p || (p->tick++ & 1023))
		return;
	t = now_monotonic();
	if (t - p->last < 0.1)
		return;
	p->last = t;
	el = t - p->start;
	human(nrows, sizeof(nrows), (double)rows);
	human(rate, sizeof(rate), el > 0 ? rows / el : 0);
	if (p->total > 0) {
		int w = 24, fill = (int)(w * (double)done / p->total);
		if (fill > w)
			fill = w;
		memset(bar, '#', fill);
		memset(bar + fill, '.', w - fill);
		bar[w] = 0;
		fprintf(stderr, "\r%s: %s [%s] %3d%% %s rows %s/s ", crm_progname, p->label,
			bar, (int)(100.0 * done / p->total), nrows, rate);
	} else {
		fprintf(stderr, "\r%s: %s %s rows %s/s ", crm_progname, p->label, nrows, rate);
	}
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (!p)
		return;
	if (p->last > 0)
		fprintf(stderr, "\r\033[K");
	free(p->label);
	free(p);
}
