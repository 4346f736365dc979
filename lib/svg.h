/*
 * svg.h - the chart primitives of the HTML page: an inline SVG with a
 * viewBox (it scales down to a phone's width), nice axis ticks, grid
 * lines, escaped text, a mark where a value was clipped to its chart, a
 * legend, and the Okabe-Ito palette (told apart with any of the common
 * colour-vision deficiencies).
 */
#ifndef CRM_SVG_H
#define CRM_SVG_H

#include <stddef.h>
#include <stdio.h>

/* Okabe & Ito (2008): blue, orange, bluish green, vermillion, sky blue,
 * reddish purple, yellow, black */
extern const char *const svg_palette[8];
#define SVG_GREY "#767676" /* 4.5:1 on white: text may use it */

/* An axis from lo to hi in steps of step, each 1, 2, 2.5 or 5 times a
 * power of ten, about n of them, covering the data's [min, max] (and 0
 * when zero is set). */
struct svg_axis {
	double lo, hi, step;
};
void svg_nice(struct svg_axis *a, double min, double max, int n, int zero);
/* v on the axis, mapped to [p0, p1] (pixels; p0 for lo), clamped */
double svg_map(const struct svg_axis *a, double v, double p0, double p1);

/* <svg class="chart" id=ID width=W height=H viewBox role=img aria-label> */
void svg_open(FILE *fp, const char *id, int w, int h, const char *label);
void svg_close(FILE *fp);
/* text at (x, y), anchor start, middle or end; s escaped */
void svg_text(FILE *fp, double x, double y, const char *anchor, int size, const char *fill,
	      const char *s);
/* a rough width of s in pixels at size (for placing labels) */
double svg_text_width(const char *s, int size);
/* horizontal grid lines and their labels (left of x0) for axis a mapped
 * to [y0, y1]; fmt writes a tick's label */
void svg_yaxis(FILE *fp, const struct svg_axis *a, double x0, double x1, double y0, double y1,
	       char *(*fmt)(char *buf, size_t n, double v, const void *arg), const void *arg);
/* Clips [*lo, *hi] to [min, max]: 1 when lo was cut, 2 when hi was, 3 both. */
int svg_clip(double *lo, double *hi, double min, double max);
/* A small triangle at (x, y) pointing left (dir < 0) or right, inside
 * the chart: a value goes on past the edge. */
void svg_clip_mark(FILE *fp, double x, double y, int dir, const char *fill);
/* a swatch and its label at (x, y); returns the x after it */
double svg_legend(FILE *fp, double x, double y, const char *fill, const char *label);

#endif
