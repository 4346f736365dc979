/* Unit tests for lib/redact.c: credentials out of provider replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "tap.h"
#include "util.h"

static struct redact red;

/* redact_sb with the test's known secrets */
static void is_redacted(const char *in, const char *want)
{
	struct sb b = SB_INIT;
	char *once;

	sb_adds(&b, in);
	redact_sb(&b, &red);
	is_str(b.buf, want, "%s", in);
	once = xstrdup(b.buf);
	redact_sb(&b, &red);
	is_str(b.buf, once, "  and again: the same");
	free(once);
	sb_free(&b);
}

/* patterns only */
static void is_plain(const char *in, const char *want)
{
	struct sb b = SB_INIT;

	sb_adds(&b, in);
	redact_sb(&b, NULL);
	is_str(b.buf, want, "no secrets known: %s", in);
	sb_free(&b);
}

/* Copies text into buf as snprintf would, cut to size - 1 bytes. */
static void fill(char *buf, size_t size, const char *text)
{
	size_t n = strlen(text);

	if (n > size - 1)
		n = size - 1;
	memcpy(buf, text, n);
	buf[n] = 0;
}

static void no_form_of(const char *text, const char *secret, const char *what)
{
	ok(!strstr(text, secret), "%s: no \"%s\" in \"%s\"", what, secret, text);
}

int main(void)
{
	redact_init(&red);
	redact_add(&red, "tg-Secret~Token/9");
	redact_add(&red, "p@ss word\"&");
	redact_add(&red, NULL);
	redact_add(&red, "");
	redact_add_login(&red, "AC0123456789", "twilio-Secret-9f8e7d");

	/* the known secrets, in every form */
	is_redacted("token tg-Secret~Token/9 refused", "token [redacted] refused");
	is_redacted("url /x/tg-Secret~Token%2F9/y", "url /x/[redacted]/y");
	is_redacted("url /x/tg-Secret~Token%2f9/y", "url /x/[redacted]/y");
	is_redacted("pw p%40ss%20word%22%26 in a query", "pw [redacted] in a query");
	is_redacted("pw p@ss%20word%22%26 in a path", "pw [redacted] in a path");
	is_redacted("form p%40ss+word%22%26", "form [redacted]");
	is_redacted("json \"p@ss word\\\"&\"", "json \"[redacted]\"");
	is_redacted("json \"tg-Secret~Token\\/9\"", "json \"[redacted]\"");
	is_redacted("b64 dGctU2VjcmV0flRva2VuLzk= end", "b64 [redacted] end");
	is_redacted("twilio-Secret-9f8e7d was refused", "[redacted] was refused");
	/* base64("AC0123456789:twilio-Secret-9f8e7d"), after a word that is
	 * no auth scheme */
	is_redacted("creds QUMwMTIzNDU2Nzg5OnR3aWxpby1TZWNyZXQtOWY4ZTdk seen",
		    "creds [redacted] seen");
	/* SASL PLAIN: base64("\0AC0123456789\0twilio-Secret-9f8e7d") */
	is_redacted("AUTH PLAIN AEFDMDEyMzQ1Njc4OQB0d2lsaW8tU2VjcmV0LTlmOGU3ZA==",
		    "AUTH PLAIN [redacted]");
	is_redacted("the account AC0123456789 is fine", "the account AC0123456789 is fine");

	/* Authorization headers, any scheme, in a header or JSON echo */
	is_plain("Authorization: Basic QUMwMTIzOnNlY3JldA==", "Authorization: Basic [redacted]");
	is_plain("authorization: bearer eyJhbGciOi.J9.x", "authorization: bearer [redacted]");
	is_plain("{\"Authorization\": \"Bearer abc\", \"x\": 1}",
		 "{\"Authorization\": \"Bearer [redacted]\", \"x\": 1}");
	is_plain("{\"headers\":{\"authorization\":\"Basic QUJDRA==\"}}",
		 "{\"headers\":{\"authorization\":\"Basic [redacted]\"}}");
	is_plain("Proxy-Authorization: Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1",
		 "Proxy-Authorization: Negotiate [redacted]");
	is_plain("Authorization: s3cr3t-value next", "Authorization: [redacted] next");
	is_plain("Authorization: xyz", "Authorization: [redacted]");
	is_plain("Authorization header missing", "Authorization header missing");
	/* Basic and Bearer anywhere, when what follows looks like one */
	is_plain("got Basic QUMwMTIzOnNlY3JldA== from you", "got Basic [redacted] from you");
	is_plain("bad Bearer ya29.a0AfH6SMB, try again", "bad Bearer [redacted], try again");
	is_plain("Bearer EAAGwhatsappSecret.", "Bearer [redacted].");
	is_plain("Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Token [redacted]");
	is_plain("Basic authentication failed", "Basic authentication failed");
	is_plain("Bearer token expired", "Bearer token expired");
	is_plain("the basic plan", "the basic plan");
	is_plain("WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
		 "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"");
	/* URL userinfo */
	is_plain("https://user:pa55@api.example/x", "https://[redacted]@api.example/x");
	is_plain("smtp://ghp_token123@mail.example:587", "smtp://[redacted]@mail.example:587");
	is_plain("see https://api.example/u/a@b.c", "see https://api.example/u/a@b.c");
	is_plain("http://[::1]:8080/x", "http://[::1]:8080/x");
	is_plain("mail ann@example.com", "mail ann@example.com");
	/* query parameters and fields named like secrets */
	is_plain("GET /v1?token=abc&x=1", "GET /v1?token=[redacted]&x=1");
	is_plain("/send?api_key=K1&apikey=K2&key=K3&x=4",
		 "/send?api_key=[redacted]&apikey=[redacted]&key=[redacted]&x=4");
	is_plain("?access_token=ya29.x&secret=s&password=p&sig=00ff&signature=ab&auth=u",
		 "?access_token=[redacted]&secret=[redacted]&password=[redacted]&sig=[redacted]"
		 "&signature=[redacted]&auth=[redacted]");
	is_plain("?Token=abc#frag", "?Token=[redacted]#frag");
	is_plain("{\"access_token\": \"ya29.abc\", \"client_secret\":\"cs\"}",
		 "{\"access_token\": \"[redacted]\", \"client_secret\":\"[redacted]\"}");
	is_plain("X-Api-Key: 0123abcd", "X-Api-Key: [redacted]");
	is_plain("X-Viber-Auth-Token: 4453b6ac12345678-e02603ef", "X-Viber-Auth-Token: [redacted]");
	is_plain("{\"token\": \"with \\\"quote\\\" inside\"}", "{\"token\": \"[redacted]\"}");
	is_plain("invalid key: use another", "invalid key: use another");
	is_plain("?monkey=1&keyboard=2", "?monkey=1&keyboard=2");
	is_plain("Idempotency-Key: crm-42-7", "Idempotency-Key: crm-42-7");
	is_plain("{\"message_token\":5098034272017990001}", "{\"message_token\":5098034272017990001}");
	is_plain("token=", "token=");
	is_plain("{\"msg\": \"bad X-Api-Key: \", \"code\": 4}", "{\"msg\": \"bad X-Api-Key: \", \"code\": 4}");
	is_plain("token=\"abc\"", "token=\"[redacted]\"");
	is_plain("> Authorization: ***", "> Authorization: ***");
	is_plain("GET /bot***/sendMessage?token=***", "GET /bot***/sendMessage?token=***");
	/* Telegram bot tokens */
	is_plain("POST /bot123456789:AAF-x_Y/sendMessage", "POST /bot[redacted]/sendMessage");
	is_plain("bot123456789:AAF-x_Y is invalid", "bot[redacted] is invalid");
	is_plain("robot123456789:AAF", "robot123456789:AAF");
	is_plain("the bot12:x", "the bot12:x");
	/* nothing to do */
	is_plain("", "");
	is_plain("HTTP 400: The 'To' number is not a valid phone number.",
		 "HTTP 400: The 'To' number is not a valid phone number.");
	is_plain("Привет, token: ключ", "Привет, token: ключ");

	/* a provider echoing the whole request */
	{
		struct sb b = SB_INIT;
		sb_adds(&b, "{\"error\":\"denied\",\"echo\":{\"url\":\"https://AC0123456789:"
			    "twilio-Secret-9f8e7d@api.example/2010-04-01/Accounts/AC0123456789/"
			    "Messages.json?token=tg-Secret~Token/9\",\"authorization\":\"Basic "
			    "QUMwMTIzNDU2Nzg5OnR3aWxpby1TZWNyZXQtOWY4ZTdk\"}}");
		redact_sb(&b, &red);
		no_form_of(b.buf, "Secret", "echo");
		no_form_of(b.buf, "QUMw", "echo");
		ok(strstr(b.buf, "[redacted]") != NULL, "echo: [redacted] is there");
		sb_free(&b);
	}

	/* redact_buf: fixed buffers, cut to fit, a secret cut at the end */
	{
		char buf[32];
		fill(buf, sizeof(buf), "Bearer abcdef1234 is bad");
		redact_buf(buf, sizeof(buf), NULL);
		is_str(buf, "Bearer [redacted] is bad", "redact_buf");
		fill(buf, sizeof(buf), "pw=x; twilio-Secret-9f8e7d; more");
		is_str(buf, "pw=x; twilio-Secret-9f8e7d; mor", "  (the buffer is full)");
		redact_buf(buf, sizeof(buf), &red);
		is_str(buf, "pw=x; [redacted]; mor", "redact_buf, full buffer");
		fill(buf, sizeof(buf), "refused, pass twilio-Secret-9f8e7d");
		redact_buf(buf, sizeof(buf), &red);
		is_str(buf, "refused, pass [redacted]", "a secret cut at the end of a full buffer");
		fill(buf, sizeof(buf), "Authorization: Basic QUMwMTIzNDU2Nzg5");
		redact_buf(buf, sizeof(buf), NULL);
		no_form_of(buf, "QUMw", "a cut Basic token");
		fill(buf, sizeof(buf), "xxxxxxxxxxxxxxxxxxxxx token=123456789");
		redact_buf(buf, sizeof(buf), NULL);
		is_str(buf, "xxxxxxxxxxxxxxxxxxxxx token=[re", "longer after redaction: cut to fit");
		fill(buf, sizeof(buf), "Token=aaaa ééééééééééé");
		redact_buf(buf, sizeof(buf), NULL);
		is_str(buf, "Token=[redacted] ééééééé", "cut at a character boundary");
		redact_buf(buf, 0, NULL);
		buf[0] = 'x';
		redact_buf(buf, 1, NULL);
		is_str(buf, "", "a buffer of one byte");
	}
	/* redact_secrets: a list */
	{
		const char *const known[] = { "s3cr3t", "another", NULL };
		char buf[64] = "HTTP 401: s3cr3t and another and s3cr3t";
		redact_secrets(buf, sizeof(buf), known);
		is_str(buf, "HTTP 401: [redacted] and [redacted] and [redacted]", "redact_secrets");
		fill(buf, sizeof(buf), "Bearer abc123def");
		redact_secrets(buf, sizeof(buf), NULL);
		is_str(buf, "Bearer [redacted]", "redact_secrets without a list");
	}
	/* a secret inside a longer one: the longer one goes whole */
	{
		struct redact r;
		struct sb b = SB_INIT;
		redact_init(&r);
		redact_add(&r, "abcd");
		redact_add(&r, "xxabcdxx");
		sb_adds(&b, "1 xxabcdxx 2 abcd 3");
		redact_sb(&b, &r);
		is_str(b.buf, "1 [redacted] 2 [redacted] 3", "nested secrets");
		redact_free(&r);
		sb_free(&b);
	}
	redact_free(&red);
	return tap_done();
}
