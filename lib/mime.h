/*
 * mime.h - Internet messages (RFC 5322) with MIME bodies (RFC 2045/2046)
 * and RFC 2047 encoded words: the one place crm-send's e-mail headers and
 * bodies are made.
 *
 * Everything written uses CRLF line ends, and no line is longer than 998
 * bytes; header lines are folded to at most 78 characters where the text
 * allows (see mime_encode_header). Nothing here allocates except through
 * struct sb, and nothing depends on the locale.
 *
 * A typical caller (crm-send):
 *
 *     char id[300];
 *     mime_message_id(id, sizeof id, "winback-2026-11/12345", "shop.example");
 *     struct mime_header extra[] = {
 *             { "List-Unsubscribe", "<https://shop.example/u/TOKEN>" },
 *             { "List-Unsubscribe-Post", "List-Unsubscribe=One-Click" },
 *     };
 *     struct mime_msg m = {
 *             .from_name = "Shop", .from_addr = "news@shop.example",
 *             .to_name = "Анна", .to_addr = "anna@example.com",
 *             .subject = subj.buf, .message_id = id, .date = now,
 *             .text = text.buf, .text_len = text.len,
 *             .html = html.buf, .html_len = html.len,
 *             .headers = extra, .nheaders = 2,
 *     };
 *     if (mime_build(&msg, &m, &why)) ... record failed/invalid_address ...
 */
#ifndef CRM_MIME_H
#define CRM_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MIME_LINE     78  /* header lines are folded to this where possible */
#define MIME_LINE_MAX 998 /* the hard limit (RFC 5322 2.1.1), CRLF not counted */

/*
 * Writes "Name: value\r\n" for an unstructured header (Subject, X-...)
 * or an ASCII structured one (List-Unsubscribe, List-Unsubscribe-Post).
 *
 * - Every C0 control but TAB (so CR, LF, NUL) and DEL in value becomes a
 *   space first; white space at either end of value is dropped.
 * - The value is split into words at runs of spaces and TABs. A word is
 *   written as it is unless it has a byte >= 0x80, or holds "=?" (so that
 *   no decoder can take it for an encoded word), or is longer than 900
 *   bytes. Such words, with the white space between neighbouring ones,
 *   become RFC 2047 encoded words "=?UTF-8?Q?...?=" or "=?UTF-8?B?...?="
 *   (whichever is shorter for that run of words; Q uses only the
 *   characters allowed in a phrase: letters, digits, ! * + - /, and _ for
 *   space). An encoded word is at most 75 characters and never splits a
 *   UTF-8 character (an invalid byte counts as a character of its own).
 *   White space runs longer than 64 characters are encoded with their
 *   neighbours too, so that folding never has to split them.
 * - Lines are folded (CRLF before the white space between words, or
 *   "CRLF SP" between encoded words) so that none exceeds 78 characters,
 *   except a line holding a single raw word longer than that; none
 *   exceeds 998. An empty value writes "Name:\r\n".
 * Unfolding the output (removing each CRLF) and decoding the encoded words
 * gives back the value, spaces included (after the trimming above).
 * Returns -1 (writing nothing) when name is not [A-Za-z0-9-]+ of at most
 * 76 characters; otherwise 0.
 */
int mime_encode_header(struct sb *out, const char *name, const char *value);

/*
 * Writes "Name: Display Name <addr>\r\n" (From, To, Reply-To). An ASCII
 * display name of atoms (letters, digits, !#$%&'*+-/=?^_`{|}~ and single
 * spaces) is written as it is; other ASCII names are a quoted-string
 * ("Smith, John"); names with non-ASCII characters or "=?", and names
 * whose quoted-string would be over 900 bytes, are encoded words; NULL or "" (after the sanitising of mime_encode_header) writes
 * "Name: addr". Returns -1, writing nothing, when addr is not valid (see
 * mime_addr_valid) or name is not a valid header name.
 */
int mime_encode_address(struct sb *out, const char *name, const char *display,
			const char *addr);

/* 1 when addr is a bare address norm_email accepts as it is (no "Name <>"
 * wrapper, "mailto:", surrounding blanks), with no control character,
 * space, DEL or any of <>()[]\,;:" in it; otherwise 0. Upper case is
 * allowed (and kept). Non-ASCII addresses pass: sending them needs an
 * SMTPUTF8 server (RFC 6531/6532). */
int mime_addr_valid(const char *addr);

/* Splits "Display Name <addr>", "\"Quoted, Name\" <addr>", "<addr>" or
 * "addr" (as a template's From or Reply-To renders) into display (unquoted,
 * trimmed, possibly empty) and addr. Both sbs are reset first. Returns -1
 * when the form is wrong or the address is not mime_addr_valid. */
int mime_split_address(const char *s, struct sb *display, struct sb *addr);

/*
 * Quoted-printable (RFC 2045 6.7), appended to out. LF or CRLF in body
 * are line ends and become CRLF; a lone CR is encoded (=0D). Encoded lines
 * are at most 76 characters, soft breaks "=" included; "=", controls,
 * bytes >= 0x80, and a space or TAB before a line end or the end are
 * encoded (=3D, =20, ...); hex is upper case. "From " at the start of an
 * encoded line is written "=46rom " so the text survives mbox files. A
 * "." at the start of a line is left alone: SMTP dot-stuffing (done by
 * libcurl) protects it. The output ends with CRLF only when body ends with
 * a line end.
 */
void mime_qp(struct sb *out, const char *body, size_t len);

/* Base64 (RFC 2045 6.8) of data, in lines of 76 characters each ended by
 * CRLF (the last one too); nothing for len 0. */
void mime_base64(struct sb *out, const void *data, size_t len);

/* "Mon, 23 Nov 2026 12:00:00 +0000" (RFC 5322 3.3, UTC, English names,
 * no locale); buf must hold 32 bytes. */
void mime_date(int64_t epoch, char buf[32]);

/*
 * A stable Message-ID "<32 hex digits@domain>" where the hex is the start
 * of SHA-256 of key: pass what identifies the message (campaign and
 * customer, or the outbox row) so that a retry carries the same id.
 * domain is LDH labels joined by dots. Returns -1 when domain is not valid
 * or out (of size n) is too small (it needs 36 + strlen(domain) bytes).
 */
int mime_message_id(char *out, size_t n, const char *key, const char *domain);

/* 1 when name is a header mime_build writes itself or that must never
 * come from a template (Date, From, Sender, To, Cc, Bcc, Reply-To,
 * Subject, Message-ID, MIME-Version, Content-*, Return-Path, Received),
 * ignoring case; crm-send checks template headers with it. */
int mime_header_reserved(const char *name);

struct mime_header {
	const char *name, *value;
};

struct mime_msg {
	const char *from_name, *from_addr;   /* name may be NULL */
	const char *to_name, *to_addr;       /* name may be NULL */
	const char *reply_to_name, *reply_to_addr; /* addr NULL: no Reply-To */
	const char *subject;                 /* NULL: no Subject header */
	const char *message_id;              /* "<left@right>" */
	int64_t date;                        /* seconds since the epoch */
	const char *text, *html;             /* UTF-8; NULL when absent */
	size_t text_len, html_len;
	const struct mime_header *headers;   /* extra headers, in order */
	size_t nheaders;
};

/*
 * Appends a complete message to out: Date, From, To, Reply-To, Subject,
 * Message-ID, MIME-Version, the extra headers (each through
 * mime_encode_header), then the body:
 *
 *   text only or HTML only   one text/plain or text/html part
 *   both                     multipart/alternative, text first, then HTML
 *
 * with charset=UTF-8. A part decodes to exactly its body: in a multipart
 * the CRLF before each delimiter belongs to the delimiter (RFC 2046
 * 5.1.1), so a body's final line end is kept; a single-part message ends
 * with CRLF. A part is quoted-printable when at most one byte in
 * six needs escaping (bytes >= 0x80, controls other than TAB and line
 * ends, '='), which is when QP is not longer than base64; otherwise
 * base64 of the text with CRLF line ends. The boundary is "=_" and 32 hex
 * digits of SHA-256 of the bodies: "=_" cannot occur in QP or base64
 * text, and the encoded parts are checked anyway.
 *
 * Returns 0, or -1 with *why (static, e.g. "invalid To address") when an
 * address is invalid, message_id is malformed, there is no body, or an
 * extra header has a bad or reserved name; out is then left as it was.
 */
int mime_build(struct sb *out, const struct mime_msg *m, const char **why);

#endif
