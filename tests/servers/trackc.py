#!/usr/bin/python3
"""trackc.py - a client of crm-track for the tests, independent of crmkit's C
code: it makes the signed URLs itself (HMAC-SHA256 with the base's secret,
as lib/token.h documents) and drives the server with http.client.

  trackc.py DB url unsub|open ID        the path of a message's URL
  trackc.py DB url click ID N TARGET
  trackc.py DB token PURPOSE ID         a token (telegram deep links)
  trackc.py DB load BASE IDS SECS OUT [THREADS]
      clicks on unique targets of the outbox rows IDS (1,2,3) for SECS
      seconds, or until the server is gone (10 refused connections in a
      row), appending each target whose 302 arrived
      to OUT, one a line, flushed at once
"""
import hashlib
import hmac
import http.client
import sqlite3
import sys
import threading
import time
import urllib.parse


def secret(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    return con.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0].encode()


def token(sec, purpose, i, data=None):
    m = purpose.encode() + b"\0" + str(i).encode()
    if data is not None:
        m += b"\0" + data
    return "%d-%s" % (i, hmac.new(sec, m, hashlib.sha256).hexdigest()[:16])


def click_path(sec, i, n, target):
    t = token(sec, "click", i, str(n).encode() + b"\0" + target.encode())
    return "/c/%s/%d?u=%s" % (t, n, urllib.parse.quote(target, safe="-._~"))


def load(sec, base, ids, secs, out, threads):
    u = urllib.parse.urlsplit(base)
    lock = threading.Lock()
    fp = open(out, "a")
    end = time.time() + secs
    counter = [0]

    def worker(k):
        con = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        fails = 0
        while time.time() < end and fails < 10:
            with lock:
                counter[0] += 1
                c = counter[0]
            i = ids[c % len(ids)]
            target = "https://shop.example/p/%d-%d-%d" % (k, c, time.time_ns())
            try:
                con.request("GET", click_path(sec, i, 1, target),
                            headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"})
                r = con.getresponse()
                r.read()
                fails = 0
                if r.status == 302 and r.getheader("Location") == target:
                    with lock:
                        fp.write(target + "\n")
                        fp.flush()
            except Exception:
                fails += 1
                con.close()
                time.sleep(0.02)
                con = http.client.HTTPConnection(u.hostname, u.port, timeout=10)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def main():
    db, cmd = sys.argv[1], sys.argv[2]
    sec = secret(db)
    if cmd == "token":
        print(token(sec, sys.argv[3], int(sys.argv[4])))
    elif cmd == "url":
        kind, i = sys.argv[3], int(sys.argv[4])
        if kind == "unsub":
            print("/u/" + token(sec, "unsubscribe", i))
        elif kind == "open":
            print("/o/%s.gif" % token(sec, "open", i))
        else:
            print(click_path(sec, i, int(sys.argv[5]), sys.argv[6]))
    elif cmd == "load":
        ids = [int(x) for x in sys.argv[4].split(",")]
        load(sec, sys.argv[3], ids, float(sys.argv[5]), sys.argv[6],
             int(sys.argv[7]) if len(sys.argv) > 7 else 4)


main()
