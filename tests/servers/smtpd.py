#!/usr/bin/python3
"""A real SMTP server for crm-send's tests (aiosmtpd), on 127.0.0.1.

    smtpd.py SPOOL_DIR [--port-file F] [--rcpt-451-rate R] [--seed S]
             [--auth USER:PASSWORD] [--tls starttls|smtps --cert F --key F]

Every accepted message is written to SPOOL_DIR/NNNNNN.eml (with an
X-Test-Rcpt header line first naming the envelope recipient), and a line
"RCPT<TAB>MESSAGE-ID<TAB>CONNECTION" is appended to SPOOL_DIR/log (the
connection is the client's port, telling connections apart), before the reply to
the final "." is sent. The port (chosen by the system) is written to the
port file. Recipients' local parts choose misbehaviour:

    tempfail...@   451 to RCPT TO (every time)
    bounce...@     550 to RCPT TO
    drop...@       the message is stored, then the connection is closed
                   without a reply to the final "." (the RFC 1047 case)
    slow...@       the message is stored, then the reply waits 30 s
    reject...@     554 to the final "." (content refused), not stored
    down...@       421 to RCPT TO, then the connection is closed
    flaky...@      451 to RCPT TO on the first try of each address only

--tls starttls offers STARTTLS and requires it before MAIL (and AUTH);
--tls smtps speaks TLS from the first byte (port 465 style). Both use the
certificate and key given.

--rcpt-451-rate R answers 451 to a fraction R of all RCPT TO commands
(pseudo-random from --seed), to test retries. The server exits on SIGTERM
or when its parent process is gone.
"""
import argparse
import asyncio
import os
import random
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, spool, rate, seed):
        self.spool = spool
        self.rate = rate
        self.rng = random.Random(seed)
        self.seen = set()
        self.n = len([f for f in os.listdir(spool) if f.endswith(".eml")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        if local.startswith("bounce"):
            return "550 5.1.1 no such user"
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
            f.write(b"X-Test-Rcpt: " + envelope.rcpt_tos[0].encode() + b"\r\n" + data)
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
        if local.startswith("drop"):
            server.transport.close()
            return "250 OK (never seen)"
        if local.startswith("slow"):
            await asyncio.sleep(30)
        return "250 2.0.0 Ok: queued as %06d" % self.n


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
    handler = Handler(a.spool, a.rcpt_451_rate, a.seed)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, **kw), "127.0.0.1", 0,
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
