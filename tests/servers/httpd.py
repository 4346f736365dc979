#!/usr/bin/python3
"""A real HTTP server for crm-send's tests (Python's http.server), on 127.0.0.1.

    httpd.py LOG [--port-file F] [--retry-after N] [--hang S] [--token T]

HTTP/1.1 with keep-alive, one thread per connection. Every request is
appended to LOG as a JSON line before the reply is sent:

    {"n": 1, "conn": 1, "method": "POST", "path": "/bot.../sendMessage",
     "headers": {"idempotency-key": "...", ...}, "body": "...",
     "complete": true, "address": "12345", "mode": "ok", "status": 200,
     "reply": {...}}

(header names in lower case; "status" is null when no reply was sent).
A request whose connection ended before its body did (no Content-Length,
or fewer bytes than it says) is logged with "complete": false and
nothing else is done with it: no provider would take it, and it does
not count as the first request of its address.
The port (chosen by the system) is written to the port file.

The recipient's address (the first of these found: JSON chat_id, to,
receiver, message.token, customer; form To) chooses the behaviour, by
a word it starts with or, for phone numbers, by its last four digits:

    rate...      ...0429   429 with Retry-After: N (--retry-after, default
                           3600) to the first request for the address,
                           then as usual
    ratedate...            the same with an HTTP date N seconds ahead
    flaky...     ...0503   500 to the first request for the address, then
                           as usual
    fail...      ...0500   500, every time
    bad...       ...0400   400 with the provider's kind of error (Viber:
                           200 with status 6, its way of refusing)
    hang...      ...0408   no reply for S seconds (--hang, default 30),
                           then the connection is closed
    close...     ...0444   the connection is closed without a reply
    garble...    ...0299   200 with a body that is not JSON
    echoid...    ...0201   200 whose message id is the echo below
    echo...      ...0401   400 (Viber: 200 with status 6) whose error text
                           echoes the request's credentials, as a careless
                           provider might: the method and path (with a
                           token in it), its Authorization header, that
                           header's basic credentials decoded, and its
                           X-Viber-Auth-Token

With --token T, a request that does not carry T (in its path, a bearer or
basic Authorization header, or X-Viber-Auth-Token) gets 401.

Replies look like the provider the path belongs to: Telegram
(/bot.../sendMessage), Twilio (/2010-04-01/Accounts/.../Messages.json),
WhatsApp Cloud API (/.../messages), Viber (/pa/send_message), FCM
(/v1/projects/.../messages:send); anything else is a webhook ({"id":
"wh-N"}). The server exits on SIGTERM or when its parent process is gone.
"""
import argparse
import base64
import email.utils
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"n": 0, "conn": 0, "seen": set()}
ARGS = None

WORDS = [("ratedate", "ratedate"), ("rate", "rate"), ("flaky", "flaky"), ("fail", "fail"),
         ("bad", "bad"), ("hang", "hang"), ("close", "close"), ("garble", "garble"),
         ("echoid", "echoid"), ("echo", "echo")]
DIGITS = {"0429": "rate", "0503": "flaky", "0500": "fail", "0400": "bad", "0408": "hang",
          "0444": "close", "0299": "garble", "0201": "echoid", "0401": "echo"}


def address_of(ctype, body):
    if "json" in ctype:
        try:
            j = json.loads(body)
        except ValueError:
            return None
        if isinstance(j, dict):
            for k in ("chat_id", "to", "receiver", "customer"):
                if k in j:
                    return str(j[k])
            m = j.get("message")
            if isinstance(m, dict) and "token" in m:
                return str(m["token"])
    elif "x-www-form-urlencoded" in ctype:
        f = urllib.parse.parse_qs(body, keep_blank_values=True)
        if "To" in f:
            return f["To"][0]
    return None


def mode_of(addr):
    if not addr:
        return "ok"
    a = addr.lower()
    for w, m in WORDS:
        if a.startswith(w):
            return m
    digits = a.lstrip("+")
    if digits.isdigit() and digits[-4:] in DIGITS:
        return DIGITS[digits[-4:]]
    return "ok"


def provider(path):
    if "/bot" in path and path.endswith("/sendMessage"):
        return "telegram"
    if "/Accounts/" in path and path.endswith("/Messages.json"):
        return "twilio"
    if path.endswith("/pa/send_message"):
        return "viber"
    if path.endswith("/messages:send"):
        return "fcm"
    if path.endswith("/messages"):
        return "whatsapp"
    return "webhook"


def success(kind, n, addr):
    if kind == "telegram":
        return 200, {"ok": True, "result": {"message_id": 1000 + n, "chat": {"id": addr},
                                            "date": int(time.time())}}
    if kind == "twilio":
        return 201, {"sid": "SM%032x" % n, "status": "queued", "to": addr}
    if kind == "whatsapp":
        return 200, {"messaging_product": "whatsapp",
                     "contacts": [{"input": addr, "wa_id": addr.lstrip("+")}],
                     "messages": [{"id": "wamid.HBgL%08d" % n}]}
    if kind == "viber":
        # beyond 2^53: a double would not keep the digits
        return 200, {"status": 0, "status_message": "ok",
                     "message_token": 5098034272017990000 + n, "chat_hostname": "SN-CHAT-01"}
    if kind == "fcm":
        return 200, {"name": "projects/test/messages/0:%d" % n}
    return 200, {"id": "wh-%d" % n, "received": True}


def echo_of(handler):
    """What a careless provider says back: the request's credentials."""
    auth = handler.headers.get("Authorization", "")
    decoded = ""
    if auth.startswith("Basic "):
        try:
            decoded = base64.b64decode(auth[6:]).decode()
        except ValueError:
            decoded = "?"
    return ("denied %s %s with Authorization: %s (user:password %s) X-Viber-Auth-Token: %s"
            % (handler.command, handler.path, auth, decoded,
               handler.headers.get("X-Viber-Auth-Token", "")))


def with_id(kind, reply, ident):
    """A success reply whose message id is ident."""
    if kind == "telegram":
        reply["result"]["message_id"] = ident
    elif kind == "twilio":
        reply["sid"] = ident
    elif kind == "whatsapp":
        reply["messages"][0]["id"] = ident
    elif kind == "viber":
        reply["message_token"] = ident
    elif kind == "fcm":
        reply["name"] = ident
    else:
        reply["id"] = ident
    return reply


def failure(kind, status, retry_after=None, msg=None):
    if kind == "telegram":
        desc = msg or {400: "Bad Request: chat not found", 401: "Unauthorized",
                       429: "Too Many Requests: retry after %s" % retry_after,
                       500: "Internal Server Error"}.get(status, "Error")
        j = {"ok": False, "error_code": status, "description": desc}
        if status == 429:
            j["parameters"] = {"retry_after": retry_after}
        return status, j
    if kind == "twilio":
        msg = msg or {400: "The 'To' number is not a valid phone number.", 401: "Authenticate",
                      429: "Too Many Requests", 500: "Internal Server Error"}.get(status, "Error")
        return status, {"code": {400: 21211, 401: 20003, 429: 20429}.get(status, 20500),
                        "message": msg, "status": status}
    if kind == "viber" and status == 400:
        return 200, {"status": 6, "status_message": msg or "notSubscribed"}
    msg = msg or {400: "Invalid parameter: recipient", 401: "Invalid OAuth access token",
                  429: "Too many requests", 500: "Internal error"}.get(status, "Error")
    if kind in ("whatsapp", "fcm"):
        return status, {"error": {"message": msg, "code": status}}
    return status, {"error": msg}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with LOCK:
            STATE["conn"] += 1
            self.conn_id = STATE["conn"]

    def log_message(self, fmt, *args):
        pass

    def authorized(self):
        t = ARGS.token
        if not t:
            return True
        if t in urllib.parse.unquote(self.path):
            return True
        auth = self.headers.get("Authorization", "")
        if auth == "Bearer " + t:
            return True
        if auth.startswith("Basic "):
            try:
                user_pw = base64.b64decode(auth[6:]).decode()
            except ValueError:
                return False
            if user_pw.split(":", 1)[-1] == t:
                return True
        return self.headers.get("X-Viber-Auth-Token") == t

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        complete = ((self.headers.get("Content-Length") is not None and len(raw) == length) or
                    (self.command == "GET" and not self.headers.get("Content-Length")))
        body = raw.decode("utf-8", "replace")
        ctype = self.headers.get("Content-Type", "")
        addr = address_of(ctype, body)
        mode = mode_of(addr)
        kind = provider(self.path)
        with LOCK:
            STATE["n"] += 1
            n = STATE["n"]
            first = (mode, addr) not in STATE["seen"]
            if complete:
                STATE["seen"].add((mode, addr))
        extra = {}
        if not complete:
            status, reply = None, None
        elif not self.authorized():
            status, reply = failure(kind, 401)
        elif mode in ("hang", "close"):
            status, reply = None, None
        elif mode in ("rate", "ratedate") and first:
            status, reply = failure(kind, 429, ARGS.retry_after)
            if mode == "rate":
                extra["Retry-After"] = str(ARGS.retry_after)
            else:
                extra["Retry-After"] = email.utils.formatdate(
                    time.time() + ARGS.retry_after, usegmt=True)
        elif (mode == "flaky" and first) or mode == "fail":
            status, reply = failure(kind, 500)
        elif mode == "bad":
            status, reply = failure(kind, 400)
        elif mode == "echo":
            status, reply = failure(kind, 400, msg=echo_of(self))
        elif mode == "echoid":
            status, reply = success(kind, n, addr or "")
            reply = with_id(kind, reply, echo_of(self))
        else:
            status, reply = success(kind, n, addr or "")
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        rec = {"n": n, "conn": self.conn_id, "method": self.command, "path": self.path,
               "headers": headers, "body": body, "complete": complete, "address": addr,
               "mode": mode, "status": status, "reply": reply}
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                f.flush()
                os.fsync(f.fileno())
        if mode == "hang" and status is None and complete:
            time.sleep(ARGS.hang)
        if status is None:
            self.close_connection = True
            return
        data = json.dumps(reply).encode()
        if mode == "garble" and status == 200:
            data = b"<html><body>Service temporarily unavailable</body></html>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = handle_one


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--port-file")
    ap.add_argument("--retry-after", type=int, default=3600)
    ap.add_argument("--hang", type=float, default=30.0)
    ap.add_argument("--token")
    ARGS = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:
        stop.wait(0.2)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    sys.exit(main())
