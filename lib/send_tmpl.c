/*
 * crm-send: templates, loaded and checked before anything is sent, and
 * each row rendered into its message.
 */
#include "send_int.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "diag.h"
#include "dkim.h"
#include "expr.h"
#include "expr_int.h"
#include "mime.h"
#include "norm.h"
#include "tmpl.h"
#include "track_link.h"


void send_rendered_init(struct rendered *b)
{
	sb_init(&b->subj);
	sb_init(&b->text);
	sb_init(&b->html);
	sb_init(&b->msg);
	sb_init(&b->from_addr);
}

void send_rendered_free(struct rendered *b)
{
	sb_free(&b->subj);
	sb_free(&b->text);
	sb_free(&b->html);
	sb_free(&b->msg);
	sb_free(&b->from_addr);
}

/* ---- templates ---------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct sb b = SB_INIT;
	char buf[65536];
	size_t n;

	if (!fp)
		crm_die_errno(1, "%s: cannot open the template", path);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		sb_add(&b, buf, n);
		if (b.len > TMPL_MAX_LEN)
			crm_die(1, "%s: template larger than %u bytes", path, TMPL_MAX_LEN);
	}
	if (ferror(fp))
		crm_die_errno(1, "%s: cannot read the template", path);
	fclose(fp);
	*len = b.len;
	return b.buf ? b.buf : xstrdup("");
}

int send_special_index(const char *name)
{
	for (int i = 0; specials[i]; i++)
		if (!strcmp(specials[i], name))
			return i;
	return -1;
}

/* ---- last_order: the customer's latest purchase ------------------------- */

/* The fields of last_order, as SQL over its orders row o. */
static const struct {
	const char *name, *sql;
} last_order_fields[] = {
	/* an order imported without an id has a content key ("~...") */
	{ "id", "CASE WHEN substr(o.external_id, 1, 1) = '~' THEN NULL ELSE o.external_id END" },
	{ "ordered_at", "o.ordered_at" },
	{ "amount", "o.amount * crm_currency_k(o.currency) / 1000.0" },
	{ "currency", "o.currency" },
	{ "status", "o.status" },
	/* a JSON array of its lines in their order (for {{#each}}) */
	{ "lines", "(SELECT json_group_array(json(x)) FROM (SELECT json_object("
		   "'line', ol.line, 'sku', p.sku, 'name', p.name, 'category', p.category,"
		   " 'quantity', ol.quantity,"
		   " 'unit_price', ol.unit_price * crm_currency_k(o.currency) / 1000.0,"
		   " 'amount', ol.amount * crm_currency_k(o.currency) / 1000.0,"
		   " 'currency', o.currency) AS x"
		   " FROM order_lines ol JOIN products p ON p.id = ol.product_id"
		   " WHERE ol.order_id = o.id ORDER BY ol.line))" },
};

/* last_order.NAME (or last_order, all of them as a JSON object) of
 * customer c: its latest purchase up to now (crm.7 ORDERS), latest by
 * time, then by row; the value is missing when there is none. Returns 0,
 * or -1 for an unknown name. */
static int last_order_sql(const char *name, int64_t now, struct sb *sql)
{
	const char *sub = name + strlen("last_order");
	char nowt[20];
	size_t i = 0, n = ARRAY_SIZE(last_order_fields);

	norm_fmt_time(now, nowt);
	if (*sub) {
		for (i = 0; i < n && strcmp(sub + 1, last_order_fields[i].name); i++)
			;
		if (*sub != '.' || i == n)
			return -1;
	}
	sb_adds(sql, "(SELECT ");
	if (*sub) {
		sb_adds(sql, last_order_fields[i].sql);
	} else {
		sb_adds(sql, "json_object(");
		for (i = 0; i < n; i++)
			sb_addf(sql, "%s'%s', %s%s%s", i ? ", " : "", last_order_fields[i].name,
				i == n - 1 ? "json(" : "", last_order_fields[i].sql,
				i == n - 1 ? ")" : "");
		sb_adds(sql, ")");
	}
	sb_addf(sql, " FROM orders o WHERE o.id = (SELECT o2.id FROM orders o2"
		" WHERE o2.customer_id = c.id AND " DB_PURCHASE("o2") " AND o2.ordered_at <= '%s'"
		" ORDER BY o2.ordered_at DESC, o2.id DESC LIMIT 1))", nowt);
	return 0;
}

int send_field_sql(const char *name, int64_t now, struct sb *sql)
{
	if (!strncmp(name, "last_order", 10) && (!name[10] || name[10] == '.'))
		return last_order_sql(name, now, sql);
	return expr_field_sql(name, now, sql);
}

/* The name a template may use closest to name, when close enough: a
 * field of the expression language (expr_int.h's table), one of
 * crm-send's own names, last_order and its fields. */
static const char *field_suggest(const char *name)
{
	static char buf[64];
	const char *best = NULL;
	size_t bd = 99, d;

	for (size_t i = 0; i < expr_ndefs; i++)
		if (!expr_defs[i].is_func && (d = str_distance(name, expr_defs[i].name)) < bd)
			bd = d, best = expr_defs[i].name;
	for (size_t i = 0; specials[i]; i++)
		if ((d = str_distance(name, specials[i])) < bd)
			bd = d, best = specials[i];
	if ((d = str_distance(name, "last_order")) < bd)
		bd = d, best = "last_order";
	for (size_t i = 0; i < ARRAY_SIZE(last_order_fields); i++) {
		char f[64];
		snprintf(f, sizeof(f), "last_order.%s", last_order_fields[i].name);
		if ((d = str_distance(name, f)) < bd) {
			bd = d;
			snprintf(buf, sizeof(buf), "%s", f);
			best = buf;
		}
	}
	return best && str_close_enough(name, bd) ? best : NULL;
}

static size_t name_index(struct sender *s, const char *name)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (!strcmp(s->names[i], name))
			return i;
	return (size_t)-1;
}

/* Parses every template and checks every name it uses before anything
 * is planned or sent. Returns 0 or an exit status. */
int send_load_templates(struct sender *s)
{
	const struct send_opts *o = s->o;
	int status = 0;

	for (int v = 0; v < o->nvariants; v++) {
		struct tmpl_err err;
		size_t len;
		char *text = read_file(o->variant[v].path, &len);
		struct tpl *t = &s->tpl[s->ntpl++];

		t->name = xstrdup(o->variant[v].name);
		t->path = xstrdup(o->variant[v].path);
		t->weight = o->variant[v].weight;
		t->t = tmpl_parse(text, len, &err);
		free(text);
		if (!t->t) {
			crm_error("%s:%d:%d: %s", t->path, err.line, err.col, err.msg);
			status = CRM_EXIT_USAGE;
			continue;
		}
		for (size_t i = 0; i < tmpl_nnames(t->t); i++) {
			int line, col, rc;
			const char *name = tmpl_name(t->t, i, &line, &col);
			struct sb sql = SB_INIT;

			if (send_coupon_is(name)) {
				int rc2 = send_coupon_name(s, s->ntpl - 1, name, line, col);
				if (rc2)
					status = rc2;
				continue;
			}
			if (send_special_index(name) >= 0) {
				if (send_special_index(name) == SP_UNSUBSCRIBE)
					s->uses_unsub = 1;
				continue;
			}
			rc = send_field_sql(name, s->crm->now, &sql);
			sb_free(&sql);
			if (rc == -1) {
				const char *sug = field_suggest(name);
				if (sug)
					crm_error("%s:%d:%d: unknown field \"%s\"; did you mean \"%s\"?",
						  t->path, line, col, name, sug);
				else
					crm_error("%s:%d:%d: unknown field \"%s\"", t->path, line, col,
						  name);
				status = CRM_EXIT_USAGE;
			} else if (rc == -2) {
				crm_error("%s:%d:%d: field \"%s\" is not available yet", t->path,
					  line, col, name);
				status = CRM_EXIT_USAGE;
			} else if (name_index(s, name) == (size_t)-1) {
				s->names = xrealloc(s->names, (s->nnames + 1) * sizeof(*s->names));
				s->names[s->nnames++] = xstrdup(name);
			}
		}
		for (size_t h = 0; t->t && h < tmpl_nheaders(t->t); h++) {
			const char *name = tmpl_header_name(t->t, h);
			if (mime_header_reserved(name) && ascii_casecmp(name, "Subject") &&
			    ascii_casecmp(name, "From") && ascii_casecmp(name, "Reply-To")) {
				crm_error("%s: the header %s is set by crm-send, not by templates",
					  t->path, name);
				status = CRM_EXIT_USAGE;
			}
		}
		if (!strcmp(o->channel, "email") && t->t) {
			if (tmpl_header_index(t->t, "Subject") < 0) {
				crm_error("%s: an e-mail template needs a Subject: header", t->path);
				status = CRM_EXIT_USAGE;
			}
			if (!tmpl_has_text(t->t) && !tmpl_has_html(t->t)) {
				crm_error("%s: the template has no body", t->path);
				status = CRM_EXIT_USAGE;
			}
		} else if (t->t && !tmpl_has_text(t->t)) {
			crm_error("%s: a %s message needs a text body", t->path, o->channel);
			status = CRM_EXIT_USAGE;
		}
	}
	if (!status && s->uses_unsub && !s->unsub_url && !s->track_url) {
		crm_error("the template uses {{unsubscribe_url}}, but the configuration has no "
			  "[unsubscribe] url or [tracking] url");
		status = CRM_EXIT_USAGE;
	}
	return status;
}

/* ---- rendering ------------------------------------------------------------ */

const char *send_lookup(void *arg, const char *name, size_t *len)
{
	struct render_ctx *c = arg;
	struct sender *s = c->s;
	const char *v = NULL;
	size_t i;

	switch (send_special_index(name)) {
	case SP_CAMPAIGN: v = s->o->campaign; break;
	case SP_CHANNEL: v = s->o->channel; break;
	case SP_MESSAGE_ID: v = c->it->message_id; break;
	case SP_VARIANT: v = c->it->variant; break;
	case SP_UNSUBSCRIBE: v = c->it->unsub; break;
	default:
		if (send_coupon_is(name))
			v = c->it->coupon;
		else if ((i = name_index(s, name)) != (size_t)-1)
			v = c->it->vals[i];
	}
	if (v)
		*len = strlen(v);
	return v;
}

/* Link tracking of an e-mail (track_link.h), on the rendered parts:
 * http(s) links become crm-track's click redirects and the HTML part gets
 * the open pixel ([tracking] url and opens, unless --no-track), and with
 * [tracking] utm = yes each target gets UTM parameters. The HTML part
 * goes first, so that a link in both parts has the number it has there. */
static void track_links(struct sender *s, struct item *it, struct rendered *b, int html)
{
	int wrap = s->track_url && !s->o->no_track;
	struct track_link tl = {
		.base = wrap ? s->track_url : NULL, .secret = s->secret, .msg = it->id,
		.skip = it->unsub, .utm_source = s->utm_source, .utm_medium = "email",
		.utm_campaign = s->o->campaign,
	};
	struct sb out = SB_INIT, t;

	if (!wrap && !s->utm_source)
		return;
	if (b->html.len) {
		track_link_html(&tl, &out, b->html.buf, b->html.len);
		t = b->html, b->html = out, out = t;
		sb_reset(&out);
	}
	if (b->text.len) {
		track_link_text(&tl, &out, b->text.buf, b->text.len);
		t = b->text, b->text = out, out = t;
		sb_reset(&out);
	}
	if (wrap && s->track_opens && html) {
		track_link_pixel(&out, b->html.buf, b->html.len, s->track_url, s->secret, it->id);
		t = b->html, b->html = out, out = t;
	}
	sb_free(&out);
	track_link_free(&tl);
}

/* Renders the item into b->msg: the RFC 5322 message (e-mail, mbox), or
 * fills b->subj/text/html (other channels). Returns 0, or -1 with
 * it->reason set. */
int send_render(struct sender *s, struct item *it, struct rendered *b)
{
	const struct tmpl *t = s->tpl[it->vi].t;
	struct render_ctx c = { s, it };
	struct sb from = SB_INIT, fname = SB_INIT, faddr = SB_INIT, reply = SB_INIT;
	struct sb rname = SB_INIT, raddr = SB_INIT;
	const char *why = NULL;
	struct mime_header extra[TMPL_MAX_HEADERS + 4];
	struct sb hv[TMPL_MAX_HEADERS];
	size_t nextra = 0, nh = tmpl_nheaders(t);
	long i;
	int rc = 0;

	for (size_t h = 0; h < nh && h < TMPL_MAX_HEADERS; h++)
		sb_init(&hv[h]);
	sb_reset(&b->subj);
	sb_reset(&b->text);
	sb_reset(&b->html);
	sb_reset(&b->msg);
	if ((i = tmpl_header_index(t, "Subject")) >= 0)
		tmpl_render_header(t, (size_t)i, send_lookup, &c, &b->subj);
	if (tmpl_has_text(t))
		tmpl_render_text(t, send_lookup, &c, &b->text);
	if (tmpl_has_html(t))
		tmpl_render_html(t, send_lookup, &c, &b->html);
	if (strcmp(s->o->channel, "email") && !(s->file && s->o->mbox))
		return 0;

	if ((i = tmpl_header_index(t, "From")) >= 0)
		tmpl_render_header(t, (size_t)i, send_lookup, &c, &from);
	else if (s->from)
		sb_adds(&from, s->from);
	if (!from.len || mime_split_address(from.buf, &fname, &faddr) < 0) {
		snprintf(it->reason, sizeof(it->reason), "no From address");
		rc = -1;
		goto out;
	}
	sb_reset(&b->from_addr);
	sb_add(&b->from_addr, faddr.buf, faddr.len);
	track_links(s, it, b, tmpl_has_html(t));
	if ((i = tmpl_header_index(t, "Reply-To")) >= 0) {
		tmpl_render_header(t, (size_t)i, send_lookup, &c, &reply);
		if (mime_split_address(reply.buf, &rname, &raddr) < 0) {
			snprintf(it->reason, sizeof(it->reason), "invalid Reply-To address");
			rc = -1;
			goto out;
		}
	}
	for (size_t h = 0; h < nh && h < TMPL_MAX_HEADERS; h++) {
		const char *name = tmpl_header_name(t, h);
		if (!ascii_casecmp(name, "Subject") || !ascii_casecmp(name, "From") ||
		    !ascii_casecmp(name, "Reply-To") || !ascii_casecmp(name, "To") ||
		    !ascii_casecmp(name, "Preheader"))
			continue;
		tmpl_render_header(t, h, send_lookup, &c, &hv[h]);
		extra[nextra].name = name;
		extra[nextra].value = hv[h].buf ? hv[h].buf : "";
		nextra++;
	}
	if (it->unsub) {
		sb_reset(&s->buf);
		sb_addf(&s->buf, "<%s>", it->unsub);
		if (s->unsub_mailto)
			sb_addf(&s->buf, ", <mailto:%s?subject=unsubscribe>", s->unsub_mailto);
		extra[nextra].name = "List-Unsubscribe";
		extra[nextra].value = s->buf.buf;
		nextra++;
		extra[nextra].name = "List-Unsubscribe-Post";
		extra[nextra].value = "List-Unsubscribe=One-Click";
		nextra++;
	}
	{
		struct mime_msg m = {
			.from_name = fname.len ? fname.buf : NULL, .from_addr = faddr.buf,
			.to_addr = it->address,
			.reply_to_name = rname.len ? rname.buf : NULL,
			.reply_to_addr = raddr.len ? raddr.buf : NULL,
			.subject = b->subj.buf ? b->subj.buf : "",
			.message_id = it->message_id,
			.date = send_now(s),
			.text = tmpl_has_text(t) ? (b->text.buf ? b->text.buf : "") : NULL,
			.text_len = b->text.len,
			.html = tmpl_has_html(t) ? (b->html.buf ? b->html.buf : "") : NULL,
			.html_len = b->html.len,
			.headers = extra, .nheaders = nextra,
		};
		if (mime_build(&b->msg, &m, &why) < 0) {
			snprintf(it->reason, sizeof(it->reason), "cannot build the message: %s",
				 why ? why : "invalid");
			rc = -1;
		}
		/* the message is final: [dkim] signs it (SMTP and mbox alike) */
		else if (s->dkim && dkim_signer_sign(s->dkim, &b->msg, faddr.buf, send_now(s),
						     it->reason, sizeof(it->reason)) < 0)
			rc = -1;
	}
out:
	for (size_t h = 0; h < nh && h < TMPL_MAX_HEADERS; h++)
		sb_free(&hv[h]);
	sb_free(&from);
	sb_free(&fname);
	sb_free(&faddr);
	sb_free(&reply);
	sb_free(&rname);
	sb_free(&raddr);
	return rc;
}
