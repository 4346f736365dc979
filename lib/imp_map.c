/*
 * imp_map.c - the fields each kind of import knows, their names and
 * aliases, and how a file's columns map to them (--map, attributes,
 * <channel>_consent columns).
 */
#include "imp_int.h"

#include <stdlib.h>
#include <string.h>

static const struct fdef cust_fields[] = {
	{ F_EXTID, "external_id", "externalid id customerid customer clientid customerno customernumber userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile mobilephone cellphone cell tel telephone msisdn" },
	{ F_FIRST, "first_name", "firstname givenname forename" },
	{ F_LAST, "last_name", "lastname surname familyname" },
	{ F_NAME, "name", "name fullname customername" },
	{ F_BIRTHDAY, "birthday", "birthday birthdate dateofbirth dob" },
	{ F_CITY, "city", "city town" },
	{ F_COUNTRY, "country", "country countrycode" },
	{ F_TZ, "timezone", "timezone tz" },
	{ F_CREATED, "created_at", "createdat created signupdate signedupat registeredat registrationdate customersince" },
	{ F_STUB, "is_stub", "isstub" },
	{ F_ERASED, "erased_at", "erasedat" },
	{ F_ALIAS, "alias", "alias" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef order_fields[] = {
	{ F_ORDERID, "order_id", "orderid id externalid ordernumber orderno number" },
	{ F_CUSTREF, "customer_id", "customerid customer customerexternalid clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_TIME, "ordered_at", "orderedat orderdate date time datetime createdat timestamp purchasedat orderpurchasetimestamp purchasetimestamp invoicedate" },
	{ F_AMOUNT, "amount", "amount total sum revenue value ordertotal totalamount price" },
	{ F_CURRENCY, "currency", "currency currencycode" },
	{ F_STATUS, "status", "status orderstatus state" },
	{ F_PROMO, "promo_code", "promocode coupon couponcode promo discountcode vouchercode voucher" },
	{ F_POINTS, "points_used", "pointsused pointsspent pointsredeemed bonusused bonusesused" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef event_fields[] = {
	{ F_EVENTID, "event_id", "eventid id externalid" },
	{ F_CUSTREF, "customer_id", "customerid customer clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_TYPE, "type", "type event eventtype eventname" },
	{ F_TIME, "occurred_at", "occurredat time timestamp date datetime createdat at" },
	{ F_CAMPAIGN, "campaign", "campaign campaignid campaignname" },
	{ F_MESSAGE, "message_id", "messageid message" },
	{ F_PROPS, "props", "props properties data" },
	{ F_MACHINE, "machine", "machine" },
	{ F_MAX, NULL, NULL },
};

/* order lines: one row per line of an order (crm-import lines); the
 * names of the common exports (UCI Online Retail, Olist, Shopify) */
static const struct fdef line_fields[] = {
	{ F_ORDERID, "order_id", "orderid order invoiceno invoice invoiceid invoicenumber ordernumber orderno number" },
	{ F_CUSTREF, "customer_id", "customerid customer customerexternalid clientid userid customeruniqueid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_TIME, "ordered_at", "orderedat invoicedate orderdate date time datetime createdat timestamp purchasedat orderpurchasetimestamp" },
	{ F_SKU, "sku", "sku stockcode productid productcode itemcode itemid variantsku lineitemsku article" },
	{ F_PRODUCT, "product_name", "productname name description product title itemname lineitemname" },
	{ F_CATEGORY, "category", "category productcategoryname productcategory categoryname producttype" },
	{ F_QTY, "quantity", "quantity qty units lineitemquantity" },
	{ F_PRICE, "unit_price", "unitprice price itemprice priceeach lineitemprice" },
	{ F_CURRENCY, "currency", "currency currencycode" },
	{ F_STATUS, "status", "status orderstatus state financialstatus" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef product_fields[] = {
	{ F_SKU, "sku", "sku stockcode productid productcode itemcode itemid variantsku article id" },
	{ F_PRODUCT, "product_name", "productname name description product title itemname" },
	{ F_CATEGORY, "category", "category productcategoryname productcategory categoryname producttype" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef rate_fields[] = {
	{ F_CURRENCY, "currency", "currency currencycode code" },
	{ F_RATE, "rate", "rate exchangerate value" },
	{ F_TIME, "valid_from", "validfrom date day from" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef reward_fields[] = {
	{ F_EXTID, "id", "id rewardid externalid code sku" },
	{ F_PRODUCT, "name", "name rewardname title description" },
	{ F_COST, "cost", "cost points price costpoints pointscost" },
	{ F_STOCK, "stock", "stock quantity qty available left" },
	{ F_MAX, NULL, NULL },
};

/* a past campaign's outbox (imp_messages.c) */
static const struct fdef message_fields[] = {
	{ F_CAMPAIGN, "campaign", "campaign campaignname campaignid" },
	{ F_CUSTREF, "customer_id", "customerid customer clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_GROUP, "group", "group grp arm treatment" },
	{ F_VARIANT, "variant", "variant version" },
	{ F_TIME, "sent_at", "sentat senttime sent time timestamp date datetime at" },
	{ F_CHANNEL, "channel", "channel" },
	{ F_MAX, NULL, NULL },
};

static const struct fdef consent_fields[] = {
	{ F_CUSTREF, "customer_id", "customerid customer clientid userid" },
	{ F_EMAIL, "email", "email emailaddress mail" },
	{ F_PHONE, "phone", "phone phonenumber mobile msisdn" },
	{ F_CHANNEL, "channel", "channel" },
	{ F_GRANTED, "granted", "granted status consent optin subscribed value state" },
	{ F_TIME, "recorded_at", "recordedat time timestamp date datetime at updatedat createdat" },
	{ F_SOURCE, "source", "source origin" },
	{ F_MAX, NULL, NULL },
};


const struct fdef *imp_kind_fields(enum imp_kind k)
{
	switch (k) {
	case IMP_CUSTOMERS: return cust_fields;
	case IMP_ORDERS: return order_fields;
	case IMP_EVENTS: return event_fields;
	case IMP_CONSENTS: return consent_fields;
	case IMP_LINES: return line_fields;
	case IMP_PRODUCTS: return product_fields;
	case IMP_RATES: return rate_fields;
	case IMP_REWARDS: return reward_fields;
	case IMP_MESSAGES: return message_fields;
	default: return NULL;
	}
}

int imp_kind_parse(const char *s, enum imp_kind *k)
{
	static const char *const names[] = { "customers", "orders", "events", "consents", "erase",
					     "lines", "products", "rates", "rewards", "messages" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*k = (enum imp_kind)i;
			return 0;
		}
	return -1;
}

const char *imp_kind_name(enum imp_kind k)
{
	static const char *const names[] = { "customers", "orders", "events", "consents", "erase",
					     "lines", "products", "rates", "rewards", "messages" };
	return names[k];
}

int imp_add_map(struct imp_opts *o, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return -1;
	o->maps = xrealloc(o->maps, (o->nmaps + 1) * sizeof(*o->maps));
	o->maps[o->nmaps].from = xstrndup(spec, eq - spec);
	o->maps[o->nmaps].to = eq + 1;
	o->nmaps++;
	return 0;
}

/* "E-Mail Address" -> "emailaddress": what column names are matched by. */
static void norm_colname(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s && k + 1 < n; s++)
		if (ascii_isalpha((unsigned char)*s) || ascii_isdigit((unsigned char)*s))
			out[k++] = (char)ascii_lower((unsigned char)*s);
	out[k] = 0;
}

/* "Loyalty Tier" -> "loyalty_tier": the key an unknown column is kept
 * under, usable as attr.loyalty_tier in expressions. */
static char *attr_key(const char *s)
{
	struct sb sb = SB_INIT;
	int gap = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (ascii_isalpha(c) || ascii_isdigit(c) || c >= 0x80) {
			if (gap && sb.len)
				sb_addc(&sb, '_');
			sb_addc(&sb, ascii_lower(c));
			gap = 0;
		} else {
			gap = 1;
		}
	}
	if (!sb.len)
		sb_adds(&sb, "column");
	return sb_detach(&sb);
}

static int word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		const char *sp = strchr(p, ' ');
		size_t k = sp ? (size_t)(sp - p) : strlen(p);
		if (k == n && !memcmp(p, word, n))
			return 1;
		p += k + (sp ? 1 : 0);
	}
	return 0;
}

static const char *channel_of(const char *ncol)
{
	for (int i = 0; norm_channels[i]; i++) {
		size_t n = strlen(norm_channels[i]);
		if (!strncmp(ncol, norm_channels[i], n) &&
		    (!strcmp(ncol + n, "consent") || !strcmp(ncol + n, "optin")))
			return norm_channels[i];
	}
	return NULL;
}

static const struct fdef *fdef_by_name(const struct fdef *defs, const char *ncol);
static void group_add(struct imp *im, size_t i);

int imp_key_column(const char *name)
{
	char ncol[128];
	const struct fdef *d;

	norm_colname(name, ncol, sizeof(ncol));
	d = fdef_by_name(cust_fields, ncol);
	if (!d)
		return -1;
	return d->f == F_EXTID ? 0 : d->f == F_EMAIL ? 1 : d->f == F_PHONE ? 2 : -1;
}

/* ---- column mapping ---- */

static const struct fdef *fdef_by_name(const struct fdef *defs, const char *ncol)
{
	for (const struct fdef *d = defs; d->name; d++)
		if (word_in(ncol, d->aliases))
			return d;
	return NULL;
}

static void map_column(struct imp *im, size_t i)
{
	const struct fdef *defs = imp_kind_fields(im->o->kind);
	const char *name = rec_colname(im->r, i);
	const char *target = name;
	char ncol[128];
	const struct fdef *d = NULL;
	int exact;

	im->colfield[i] = F_ATTR;
	im->colkey[i] = NULL;
	for (size_t k = 0; k < im->o->nmaps; k++)
		if (!strcmp(im->o->maps[k].from, name) ||
		    !ascii_casecmp(im->o->maps[k].from, name))
			target = im->o->maps[k].to;
	if (!*target) {
		im->colfield[i] = F_IGNORE;
		return;
	}
	if (!strncmp(target, "attr.", 5)) {
		im->colkey[i] = attr_key(target + 5);
		return;
	}
	/* what crm-report export writes for reference and nothing here reads:
	 * the base's own row numbers, the minor units beside amount, the time
	 * of the last import */
	if (target == name &&
	    (!strcmp(name, "customer_key") ||
	     (im->o->kind == IMP_ORDERS && !strcmp(name, "amount_minor")) ||
	     (im->o->kind == IMP_CUSTOMERS && !strcmp(name, "updated_at")))) {
		im->colfield[i] = F_IGNORE;
		return;
	}
	norm_colname(target, ncol, sizeof(ncol));
	if (im->o->kind == IMP_CUSTOMERS) {
		const char *ch = channel_of(ncol);
		if (ch) {
			im->colfield[i] = F_CONSENT;
			im->colkey[i] = xstrdup(ch);
			return;
		}
	}
	d = fdef_by_name(defs, ncol);
	if (!d) {
		if (target != name && !im->quiet_map)
			crm_warn("%s: --map target \"%s\" is not a %s field; kept as attribute",
				 im->fname, target, imp_kind_name(im->o->kind));
		im->colkey[i] = attr_key(name);
		return;
	}
	exact = !strcmp(target, d->name) || target != name;
	if (im->fieldcol[d->f] >= 0) {
		/* two columns for one field: the canonical or mapped name wins,
		 * else the first; the other is kept as an attribute */
		if (!exact || im->fieldexact[d->f]) {
			im->colkey[i] = attr_key(name);
			return;
		}
		int old = im->fieldcol[d->f];
		im->colfield[old] = F_ATTR;
		im->colkey[old] = attr_key(rec_colname(im->r, old));
		group_add(im, (size_t)old);
	}
	im->colfield[i] = d->f;
	im->fieldcol[d->f] = (int)i;
	im->fieldexact[d->f] = exact;
}

/*
 * Columns whose attribute keys are the same ("Loyalty Tier" and
 * "loyalty_tier") fill one attribute, the last non-empty value winning:
 * each attribute column belongs to the group of the first column with its
 * key, found in a hash set, so that a row of 100,000 columns takes 100,000
 * steps and not 100,000 searches of the attributes so far (19.5 s).
 */
static size_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static void group_put(struct imp *im, size_t i)
{
	size_t mask = im->gcap - 1, h = key_hash(im->colkey[i]) & mask;

	while (im->gmap[h])
		h = (h + 1) & mask;
	im->gmap[h] = i + 1;
}

static void group_add(struct imp *im, size_t i)
{
	size_t mask, h;

	if ((im->gcount + 1) * 2 > im->gcap) {
		size_t cap = im->gcap ? im->gcap * 2 : 64;
		free(im->gmap);
		im->gmap = xcalloc(cap, sizeof(*im->gmap));
		im->gcap = cap;
		for (size_t k = 0; k < im->ncols_grouped; k++)
			if (im->colfield[k] == F_ATTR && im->colgroup[k] == k)
				group_put(im, k);
	}
	mask = im->gcap - 1;
	for (h = key_hash(im->colkey[i]) & mask; im->gmap[h]; h = (h + 1) & mask) {
		size_t g = im->gmap[h] - 1;
		if (!strcmp(im->colkey[g], im->colkey[i])) {
			im->colgroup[i] = g;
			return;
		}
	}
	im->gmap[h] = i + 1;
	im->colgroup[i] = i;
	im->gcount++;
}

void imp_map_columns(struct imp *im)
{
	size_t n = rec_ncols(im->r);
	if (n <= im->ncols)
		return;
	if (!im->ncols && im->gcap) {
		/* a new file */
		memset(im->gmap, 0, im->gcap * sizeof(*im->gmap));
		im->gcount = 0;
	}
	if (n > im->colcap) {
		/* twice as many each time: a JSON lines file may add a column
		 * on every line */
		size_t cap = im->colcap;
		im->colfield = xgrow(im->colfield, sizeof(int), n, &cap);
		cap = im->colcap;
		im->colkey = xgrow(im->colkey, sizeof(char *), n, &cap);
		cap = im->colcap;
		im->colgroup = xgrow(im->colgroup, sizeof(size_t), n, &cap);
		cap = im->colcap;
		im->aused = xgrow(im->aused, sizeof(size_t), n, &cap);
		im->aslot = xgrow(im->aslot, sizeof(cJSON *), n, &im->colcap);
	}
	for (size_t i = im->ncols; i < n; i++) {
		im->aslot[i] = NULL;
		im->colgroup[i] = SIZE_MAX; /* not an attribute (yet) */
	}
	im->ncols_grouped = im->ncols;
	for (size_t i = im->ncols; i < n; i++) {
		map_column(im, i);
		im->ncols_grouped = i + 1;
		if (im->colfield[i] == F_ATTR)
			group_add(im, i);
	}
	im->ncols = n;
}

static int have_col(struct imp *im, enum field f)
{
	return im->fieldcol[f] >= 0;
}

/* For CSV the header tells at once whether the file can be imported. */
int imp_check_columns(struct imp *im)
{
	const char *missing = NULL;
	enum imp_kind k = im->o->kind;
	int ref = have_col(im, F_CUSTREF) || have_col(im, F_EMAIL) || have_col(im, F_PHONE);

	if (k == IMP_CUSTOMERS && !have_col(im, F_EXTID) && !have_col(im, F_EMAIL) &&
	    !have_col(im, F_PHONE))
		missing = "no id, email or phone column";
	else if (k == IMP_PRODUCTS && !have_col(im, F_SKU))
		missing = "no sku column";
	else if (k == IMP_RATES && !have_col(im, F_CURRENCY))
		missing = "no currency column";
	else if (k == IMP_RATES && !have_col(im, F_RATE))
		missing = "no rate column";
	else if (k == IMP_REWARDS && !have_col(im, F_EXTID))
		missing = "no id column";
	else if (k == IMP_REWARDS && !have_col(im, F_COST))
		missing = "no cost column";
	else if (k == IMP_MESSAGES && !have_col(im, F_CAMPAIGN))
		missing = "no campaign column";
	else if (k == IMP_MESSAGES && !have_col(im, F_GROUP))
		missing = "no group column (treatment or control)";
	else if (k == IMP_MESSAGES && !have_col(im, F_TIME))
		missing = "no sent_at column";
	else if (k != IMP_CUSTOMERS && k != IMP_LINES && k != IMP_PRODUCTS && k != IMP_RATES &&
		 k != IMP_REWARDS && !ref)
		missing = "no customer_id, email or phone column";
	else if (k == IMP_ORDERS && !have_col(im, F_TIME))
		missing = "no ordered_at (date) column";
	else if (k == IMP_ORDERS && !have_col(im, F_AMOUNT) && !have_col(im, F_ORDERID))
		missing = "no amount column";
	else if (k == IMP_ORDERS && !have_col(im, F_CURRENCY) && !im->o->currency)
		missing = "no currency column (give --currency CODE)";
	else if (k == IMP_LINES && !have_col(im, F_ORDERID))
		missing = "no order_id column";
	else if (k == IMP_LINES && !have_col(im, F_SKU))
		missing = "no sku column";
	else if (k == IMP_LINES && !have_col(im, F_PRICE))
		missing = "no unit_price column";
	else if (k == IMP_EVENTS && !have_col(im, F_TYPE))
		missing = "no type column";
	else if (k == IMP_EVENTS && !have_col(im, F_TIME))
		missing = "no occurred_at (time) column";
	else if (k == IMP_CONSENTS && !have_col(im, F_CHANNEL))
		missing = "no channel column";
	else if (k == IMP_CONSENTS && !have_col(im, F_GRANTED))
		missing = "no granted column";
	if (!missing && k == IMP_ORDERS && !have_col(im, F_AMOUNT))
		crm_note("%s: no amount column: a new order's amount is 0 until crm-import lines"
			 " brings its lines; a stored order keeps its amount", im->fname);
	if (!missing)
		return 0;
	struct sb cols = SB_INIT;
	for (size_t i = 0; i < rec_ncols(im->r); i++) {
		const char *c = rec_colname(im->r, i);
		sb_adds(&cols, i ? ", \"" : "\"");
		diag_name(&cols, c, strlen(c));
		sb_addc(&cols, '"');
	}
	crm_error_at(im->fname, rec_header_line(im->r),
		     "cannot import %s: %s; columns are %s (rename with --map 'COLUMN=FIELD')",
		     imp_kind_name(k), missing, cols.len ? cols.buf : "none");
	sb_free(&cols);
	return -1;
}
