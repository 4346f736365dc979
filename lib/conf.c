#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ini.h>

#include "diag.h"
#include "util.h"

struct entry {
	char *section, *key, *value;
	int line;        /* where the value was last set */
	int sec_line;    /* where its [section] header was */
};

struct conf {
	char *name;
	unsigned mode;   /* permission bits of the file */
	struct entry *e;
	size_t n, cap;
	char err[160];
	int line;        /* lines read so far (the reader counts them) */
	int sec_line;    /* the line of the last [section] header read */
	FILE *fp;        /* the file read, or */
	const char *text; /* the text parsed */
};

/* libinih's reader, one line a call: counts the lines for conf_line() */
static char *reader(char *str, int num, void *stream)
{
	struct conf *c = stream;
	char *r;

	if (c->fp) {
		r = fgets(str, num, c->fp);
	} else {
		size_t n = 0;
		if (!*c->text)
			return NULL;
		while (c->text[n] && c->text[n] != '\n' && n + 2 < (size_t)num)
			n++;
		if (c->text[n] == '\n')
			n++;
		memcpy(str, c->text, n);
		str[n] = 0;
		c->text += n;
		r = str;
	}
	if (r) {
		const char *p = r + strspn(r, " \t");
		c->line++;
		if (*p == '[')
			c->sec_line = c->line;
	}
	return r;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf *c = user;
	size_t len;
	const char *v;

	if (!key || !*key) {
		snprintf(c->err, sizeof(c->err), "expected \"key = value\"");
		return 0;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!ascii_casecmp(c->e[i].section, section) && !ascii_casecmp(c->e[i].key, key)) {
			free(c->e[i].value);
			len = strlen(value);
			v = trim(value, &len);
			c->e[i].value = xstrndup(v, len);
			c->e[i].line = c->line;
			return 1;
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	len = strlen(value);
	v = trim(value, &len);
	c->e[c->n].section = xstrdup(section);
	c->e[c->n].key = xstrdup(key);
	c->e[c->n].value = xstrndup(v, len);
	c->e[c->n].line = c->line;
	c->e[c->n].sec_line = c->sec_line;
	c->n++;
	return 1;
}

static struct conf *conf_new(const char *name, unsigned mode)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(name);
	c->mode = mode;
	return c;
}

static void report(struct conf *c, int line)
{
	if (line < 0)
		crm_error("%s: cannot read the configuration", c->name);
	else
		crm_error_at(c->name, line, "%s", c->err[0] ? c->err :
			     "expected \"[section]\" or \"key = value\"");
}

struct conf *conf_parse(const char *text, const char *name, unsigned mode)
{
	struct conf *c = conf_new(name, mode);
	int line;

	c->text = text;
	line = ini_parse_stream(reader, c, handler, c);
	c->text = NULL;

	if (line != 0) {
		report(c, line);
		conf_free(c);
		return NULL;
	}
	return c;
}

static struct conf *load_file(const char *path)
{
	struct stat st;
	struct conf *c;
	FILE *fp = fopen(path, "r");
	int line;

	if (!fp)
		return NULL;
	if (fstat(fileno(fp), &st) < 0 || S_ISDIR(st.st_mode)) {
		fclose(fp);
		errno = EISDIR;
		return NULL;
	}
	c = conf_new(path, (unsigned)st.st_mode & 07777);
	c->fp = fp;
	line = ini_parse_stream(reader, c, handler, c);
	c->fp = NULL;
	fclose(fp);
	if (line != 0) {
		report(c, line);
		exit(CRM_EXIT_FAIL);
	}
	return c;
}

/* The registry check (conf_keys.c), once per run whichever module loads
 * the file first: later loads of the same file would only repeat it. */
static struct conf *checked(struct conf *c)
{
	static int done;

	if (!done++ && conf_check(c, conf_strict) && conf_strict)
		exit(CRM_EXIT_FAIL);
	return c;
}

struct conf *conf_load(struct crm *crm)
{
	struct conf *c;
	char buf[4096];
	const char *home;

	if (crm->config_path) {
		if (!(c = load_file(crm->config_path)))
			crm_die_errno(1, "%s: cannot read the configuration", crm->config_path);
		return checked(c);
	}
	if ((c = load_file("crm.conf"))) {
		crm->config_path = "crm.conf";
		return checked(c);
	}
	if ((home = getenv("XDG_CONFIG_HOME")) && *home)
		snprintf(buf, sizeof(buf), "%s/crm/crm.conf", home);
	else if ((home = getenv("HOME")) && *home)
		snprintf(buf, sizeof(buf), "%s/.config/crm/crm.conf", home);
	else
		buf[0] = 0;
	if (buf[0] && (c = load_file(buf))) {
		crm->config_path = c->name;
		return checked(c);
	}
	return conf_new("no configuration file (./crm.conf, ~/.config/crm/crm.conf, --config or $CRM_CONFIG)", 0600);
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].section);
		free(c->e[i].key);
		/* secrets may sit here: wipe before freeing */
		memset(c->e[i].value, 0, strlen(c->e[i].value));
		free(c->e[i].value);
	}
	free(c->e);
	free(c->name);
	free(c);
}

const char *conf_get(const struct conf *c, const char *section, const char *key)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (!ascii_casecmp(c->e[i].section, section) && !ascii_casecmp(c->e[i].key, key))
			return c->e[i].value;
	return NULL;
}

const char *conf_secret(const struct conf *c, const char *section, const char *key)
{
	char k[128];
	const char *env, *v;

	snprintf(k, sizeof(k), "%s_env", key);
	if ((env = conf_get(c, section, k)) && *env) {
		v = getenv(env);
		if (!v || !*v)
			crm_die(1, "%s: [%s] %s names the environment variable %s, which is not set",
				c->name, section, k, env);
		return v;
	}
	v = conf_get(c, section, key);
	if (!v || !*v)
		return NULL;
	if (c->mode & 077)
		crm_die(1, "%s: [%s] %s is a secret, but others can read the file (mode %04o): "
			"chmod 600 %s, or use %s = VARIABLE", c->name, section, key, c->mode,
			c->name, k);
	return v;
}

int conf_line(const struct conf *c, const char *section, const char *key)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (!ascii_casecmp(c->e[i].section, section) && !ascii_casecmp(c->e[i].key, key))
			return c->e[i].line;
	return 0;
}

int conf_section_line(const struct conf *c, const char *section)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (!ascii_casecmp(c->e[i].section, section))
			return c->e[i].sec_line;
	return 0;
}

const char *conf_name(const struct conf *c)
{
	return c->name;
}

int conf_next(const struct conf *c, size_t *i, const char **section, const char **key,
	      const char **value)
{
	if (!c || *i >= c->n)
		return 0;
	*section = c->e[*i].section;
	*key = c->e[*i].key;
	*value = c->e[*i].value;
	++*i;
	return 1;
}
