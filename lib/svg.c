/*
 * svg.c - chart primitives for the HTML page (see svg.h). Coordinates are
 * the viewBox's; the page's CSS scales each chart to its container.
 */
#include "svg.h"

#include <math.h>
#include <string.h>

const char *const svg_palette[8] = {
	"#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000",
};

static void esc(FILE *fp, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp);
		}
	}
}

void svg_nice(struct svg_axis *a, double min, double max, int n, int zero)
{
	double range, raw, p, f;

	if (!isfinite(min) || !isfinite(max)) {
		min = 0;
		max = 1;
	}
	if (zero) {
		min = fmin(min, 0);
		max = fmax(max, 0);
	}
	if (max <= min)
		max = min + (min ? fabs(min) : 1);
	range = max - min;
	raw = range / (n > 1 ? n : 1);
	p = pow(10, floor(log10(raw)));
	f = raw / p;
	a->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
	a->lo = floor(min / a->step + 1e-9) * a->step;
	a->hi = ceil(max / a->step - 1e-9) * a->step;
	if (a->hi <= a->lo)
		a->hi = a->lo + a->step;
}

double svg_map(const struct svg_axis *a, double v, double p0, double p1)
{
	double t = (v - a->lo) / (a->hi - a->lo);

	if (!(t >= 0))
		t = 0;
	if (t > 1)
		t = 1;
	return p0 + t * (p1 - p0);
}

void svg_open(FILE *fp, const char *id, int w, int h, const char *label)
{
	/* as wide as the page allows, up to a third larger than drawn */
	fprintf(fp, "<svg class=\"chart\" id=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" style=\"max-width: %dpx\" role=\"img\" aria-label=\"", id, w, h, w, h, w * 4 / 3);
	esc(fp, label);
	fputs("\">\n", fp);
}

void svg_close(FILE *fp)
{
	fputs("</svg>\n", fp);
}

void svg_text(FILE *fp, double x, double y, const char *anchor, int size, const char *fill,
	      const char *s)
{
	fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"", x, y, size);
	if (anchor && strcmp(anchor, "start"))
		fprintf(fp, " text-anchor=\"%s\"", anchor);
	if (fill)
		fprintf(fp, " fill=\"%s\"", fill);
	fputc('>', fp);
	esc(fp, s);
	fputs("</text>\n", fp);
}

double svg_text_width(const char *s, int size)
{
	size_t n = 0;

	/* UTF-8: count characters, not bytes */
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n * size * 0.62;
}

void svg_yaxis(FILE *fp, const struct svg_axis *a, double x0, double x1, double y0, double y1,
	       char *(*fmt)(char *buf, size_t n, double v, const void *arg), const void *arg)
{
	char buf[64];

	for (double v = a->lo; v <= a->hi + a->step / 2; v += a->step) {
		double y = svg_map(a, v, y0, y1);
		fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			x0, y, x1, y, fabs(v) < a->step / 2 ? "#555" : "#ddd");
		svg_text(fp, x0 - 4, y + 4, "end", 11, NULL, fmt(buf, sizeof(buf), v, arg));
	}
}

int svg_clip(double *lo, double *hi, double min, double max)
{
	int cut = 0;

	if (*lo < min) {
		*lo = min;
		cut |= 1;
	}
	if (*hi > max) {
		*hi = max;
		cut |= 2;
	}
	if (*lo > max)
		*lo = max;
	if (*hi < min)
		*hi = min;
	return cut;
}

void svg_clip_mark(FILE *fp, double x, double y, int dir, const char *fill)
{
	/* the point at x, the base 6 px inside */
	double b = dir < 0 ? x + 6 : x - 6;

	fprintf(fp, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\">"
		"<title>goes on past the chart</title></polygon>\n", x, y, b, y - 4, b, y + 4, fill);
}

double svg_legend(FILE *fp, double x, double y, const char *fill, const char *label)
{
	fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10,
		fill);
	svg_text(fp, x + 16, y, NULL, 11, NULL, label);
	return x + 16 + svg_text_width(label, 11) + 14;
}
