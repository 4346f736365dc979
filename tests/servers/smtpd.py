#!/usr/bin/python3
"""A real SMTP server for crm-send's tests (aiosmtpd), on 127.0.0.1.

    smtpd.py SPOOL_DIR [--port-file F] [--rcpt-451-rate R] [--seed S]
             [--auth USER:PASSWORD] [--tls starttls|smtps --cert F --key F]

Every accepted message is written to SPOOL_DIR/NNNNNN.eml (with an
X-Test-Rcpt and an X-Test-From header line first naming the envelope
recipient and sender), and a line
"RCPT<TAB>MESSAGE-ID<TAB>CONNECTION" is appended to SPOOL_DIR/log (the
connection is the client's port, telling connections apart), before the reply to
the final "." is sent. The port (chosen by the system) is written to the
port file. Recipients' local parts choose misbehaviour:

    tempfail...@   451 to RCPT TO (every time)
    bounce...@     550 to RCPT TO
    full...@       552 5.2.2 to RCPT TO (mailbox full: a soft bounce)
    policy...@     550 5.7.1 to RCPT TO (refused as spam: a policy block)
    drop...@       the message is stored, then the connection is closed
                   without a reply to the final "." (the RFC 1047 case)
    slow...@       the message is stored, then the reply waits 30 s
    reject...@     554 to the final "." (content refused), not stored
    down...@       421 to RCPT TO, then the connection is closed
    flaky...@      451 to RCPT TO on the first try of each address only
    hang...@       the message is stored, then no reply ever comes
    late...@       the message is stored, then the reply comes after
                   --late-delay seconds (default 3), later than the client
                   waits
    closedata...@  the connection is closed on DATA, before any 354
    echoauth...@   550 to RCPT TO that repeats the --auth login: the
                   password, user:password and its base64, the PLAIN
                   form, as careless servers do in error texts

Whole-server misbehaviour, as real servers have it:

    --dot-delay S        every reply to the final "." waits S seconds
                         (the largest number of such waits at once is
                         written to SPOOL_DIR/inflight)
    --max-per-conn N     421 to MAIL after N messages on one connection,
                         then the connection is closed (Exim's
                         smtp_accept_max_per_connection)
    --connect-421 K      the first K connections are greeted with 421 and
                         closed
    --mail-421-rate R    421 to a fraction R of MAIL commands, then close
    --rate-limit N/S     450 4.7.1 to MAIL once N messages were taken in a
                         window of S seconds (Postfix's anvil); windows
                         start at the first message after the last
                         expired

Every refusal of these is counted in SPOOL_DIR/refusals, one line each
("421 mail", "450 rate", ...).

--tls starttls offers STARTTLS and requires it before MAIL (and AUTH);
--tls smtps speaks TLS from the first byte (port 465 style). Both use the
certificate and key given.

--rcpt-451-rate R answers 451 to a fraction R of all RCPT TO commands
(pseudo-random from --seed), to test retries. The server exits on SIGTERM
or when its parent process is gone.
"""
import argparse
import asyncio
import base64
import os
import random
import signal
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, spool, rate, seed, a):
        self.spool = spool
        self.rate = rate
        self.rng = random.Random(seed)
        self.seen = set()
        self.n = len([f for f in os.listdir(spool) if f.endswith(".eml")])
        self.a = a
        self.waiting = 0
        self.max_waiting = 0
        self.window_start = None
        self.window_n = 0
        if a.rate_limit:
            n, s = a.rate_limit.split("/")
            self.limit_n, self.limit_s = int(n), float(s)

    def refused(self, what):
        with open(os.path.join(self.spool, "refusals"), "a") as f:
            f.write(what + "\n")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        a = self.a
        done = getattr(session, "n_msgs", 0)
        if (a.max_per_conn and done >= a.max_per_conn) or \
                (a.mail_421_rate and self.rng.random() < a.mail_421_rate):
            self.refused("421 mail")
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
            return "421 4.7.0 too many messages in this connection"
        if a.rate_limit:
            now = time.monotonic()
            if self.window_start is None or now - self.window_start >= self.limit_s:
                self.window_start, self.window_n = now, 0
            if self.window_n >= self.limit_n:
                self.refused("450 rate")
                return "450 4.7.1 Error: too much mail from %s" % session.peer[0]
            self.window_n += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("closedata"):
            session.close_on_data = True
        if local.startswith("echoauth") and self.a.auth:
            user, pw = self.a.auth.split(":", 1)
            b64 = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
            plain = base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()
            return "550 5.7.1 not for you, %s (password %s, Basic %s, AUTH PLAIN %s)" % (
                user, pw, b64, plain)
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        if local.startswith("bounce"):
            return "550 5.1.1 no such user"
        if local.startswith("full"):
            return "552 5.2.2 mailbox full"
        if local.startswith("policy"):
            return "550 5.7.1 message refused as spam"
        if local.startswith("down"):
            session.closing = True
            return "421 4.3.2 shutting down"
        if local.startswith("flaky") and address not in self.seen:
            self.seen.add(address)
            return "451 4.3.0 greylisted"
        if self.rate and self.rng.random() < self.rate:
            return "451 4.3.0 random temporary failure"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def store(self, envelope, session):
        self.n += 1
        name = os.path.join(self.spool, "%06d.eml" % self.n)
        data = envelope.original_content or envelope.content
        msgid = ""
        for line in data.split(b"\r\n"):
            if not line:
                break
            if line.lower().startswith(b"message-id:"):
                msgid = line.split(b":", 1)[1].strip().decode("ascii", "replace")
        with open(name + ".tmp", "wb") as f:
            f.write(b"X-Test-Rcpt: " + envelope.rcpt_tos[0].encode() + b"\r\n" +
                    b"X-Test-From: " + (envelope.mail_from or "").encode() + b"\r\n" + data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(name + ".tmp", name)
        with open(os.path.join(self.spool, "log"), "a") as f:
            f.write("%s\t%s\t%s\n" % (envelope.rcpt_tos[0], msgid, session.peer[1]))
            f.flush()
            os.fsync(f.fileno())

    async def handle_DATA(self, server, session, envelope):
        local = envelope.rcpt_tos[0].split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "554 5.7.1 message refused"
        self.store(envelope, session)
        n = self.n
        session.n_msgs = getattr(session, "n_msgs", 0) + 1
        if local.startswith("drop"):
            server.transport.close()
            return "250 OK (never seen)"
        if local.startswith("slow"):
            await asyncio.sleep(30)
        if local.startswith("hang"):
            await asyncio.sleep(3600)
        if local.startswith("late"):
            await asyncio.sleep(self.a.late_delay)
        if self.a.dot_delay:
            self.waiting += 1
            if self.waiting > self.max_waiting:
                self.max_waiting = self.waiting
                with open(os.path.join(self.spool, "inflight"), "w") as f:
                    f.write("%d\n" % self.max_waiting)
            try:
                await asyncio.sleep(self.a.dot_delay)
            finally:
                self.waiting -= 1
        return "250 2.0.0 Ok: queued as %06d" % n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spool")
    ap.add_argument("--port-file")
    ap.add_argument("--rcpt-451-rate", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--auth")
    ap.add_argument("--tls", choices=["starttls", "smtps"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--late-delay", type=float, default=3.0)
    ap.add_argument("--dot-delay", type=float, default=0.0)
    ap.add_argument("--max-per-conn", type=int, default=0)
    ap.add_argument("--connect-421", type=int, default=0)
    ap.add_argument("--mail-421-rate", type=float, default=0.0)
    ap.add_argument("--rate-limit")
    a = ap.parse_args()
    os.makedirs(a.spool, exist_ok=True)
    kw = {}
    if a.auth:
        user, pw = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and
                  auth_data.login.decode() == user and auth_data.password.decode() == pw)
            return AuthResult(success=ok, handled=False)
        kw = dict(authenticator=authenticator, auth_require_tls=a.tls == "starttls")
    ctx = None
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    if a.tls == "starttls":
        kw.update(tls_context=ctx, require_starttls=True)
    handler = Handler(a.spool, a.rcpt_451_rate, a.seed, a)
    greeted = [0]

    class Busy(asyncio.Protocol):
        """A connection greeted with 421 and closed."""
        def connection_made(self, transport):
            handler.refused("421 connect")
            transport.write(b"421 4.3.2 too busy, try again later\r\n")
            transport.close()

    class Smtp(SMTP):
        async def smtp_DATA(self, arg):
            if getattr(self.session, "close_on_data", False):
                self.transport.close()
                return
            return await super().smtp_DATA(arg)

    def protocol():
        greeted[0] += 1
        if greeted[0] <= a.connect_421:
            return Busy()
        return Smtp(handler, **kw)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, "127.0.0.1", 0,
                                          ssl=ctx if a.tls == "smtps" else None)
        port = server.sockets[0].getsockname()[1]
        if a.port_file:
            with open(a.port_file + ".tmp", "w") as f:
                f.write("%d\n" % port)
            os.rename(a.port_file + ".tmp", a.port_file)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        parent = os.getppid()
        while not stop.is_set() and os.getppid() == parent:
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
        server.close()

    asyncio.run(serve())

if __name__ == "__main__":
    sys.exit(main())
