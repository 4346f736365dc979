"""An independent model of crm-loyalty's rules (crm-loyalty(1)), for the
tests: given customers, orders and events, the ledger rows and accounts
that one run at `now` must give. Written from the man page, not from
lib/loyalty.c: lots in time order, FIFO by expiry, pending, debts paid by
the next lots, expiry of what is left, tiers up at once and down at the
end of a review period.

Times are epoch seconds (UTC); money in minor units.
"""
import calendar
import datetime
import math

DAY = 86400


def ts(s):
    s = s.strip()
    if len(s) == 10:
        s += " 00:00:00"
    return calendar.timegm(datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").timetuple())


def fmt(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def review_end(review, t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    y, m = d.year, d.month
    if review == "year":
        y, m = y + 1, 1
    elif review == "quarter":
        m = (m - 1) // 3 * 3 + 4
    else:
        m += 1
    if m > 12:
        y, m = y + 1, m - 12
    return calendar.timegm((y, m, 1, 0, 0, 0))


class Rules:
    def __init__(self, earn, point_value, pending=0, expire=0, welcome=0, birthday=0,
                 events=None, tiers=None, review="year", unit=100):
        self.earn, self.pv = earn, point_value
        self.pending, self.expire = pending, expire
        self.welcome, self.birthday = welcome, birthday
        self.events = events or {}
        self.tiers = tiers or []          # [(name, spend, mult)], ascending
        self.review, self.unit = review, unit


def tier_timeline(R, orders, now):
    """[(t, tier index or -1)] from the purchases (purchase 1) and refunds (-1)."""
    if not R.tiers or not orders:
        return []
    counted = [o for o in orders if o["purchase"] != 0]
    changes, cur = [], -1

    def spend(t):
        return sum(o["amount"] for o in counted if t - 365 * DAY < o["t"] <= t) / R.unit

    def qual(s):
        q = -1
        for k, (_, need, _) in enumerate(R.tiers):
            if s >= need - 1e-9:
                q = k
        return q
    b = review_end(R.review, orders[0]["t"])
    for o in counted + [None]:
        t = o["t"] if o else float("inf")
        while b <= t and b <= now:
            q = qual(spend(b))
            if q < cur:
                cur = q
                changes.append((b, cur))
            b = review_end(R.review, b)
        if o is None:
            break
        if o["purchase"] > 0:
            q = qual(spend(o["t"]))
            if q > cur:
                cur = q
                changes.append((o["t"], cur))
    return changes


def run(R, cust, orders, events, now):
    """cust: {"id", "created", "bday": (m, d) or None}; orders: [{"id", "t",
    "amount", "purchase"}] of the customer in (t, id) order; events: [{"id",
    "type", "t"}] in (t, id) order. Returns (rows, account): rows as
    (key, kind, points, occurred_at, available_at, expires_at) in ledger
    order, account as {"points", "pending", "tier"}."""
    cid = cust["id"]
    tl = tier_timeline(R, orders, now)

    def tier_before(t):
        tier = -1
        for (ct, k) in tl:
            if ct < t:
                tier = k
        return tier
    cand = []   # (t, seq, kind, key, fixed points or None, payload)
    if R.welcome > 0 and cust["created"] <= now:
        cand.append([cust["created"], "welcome", "welcome:%d" % cid, R.welcome, None])
    if R.birthday > 0 and cust["bday"]:
        y0 = datetime.datetime.fromtimestamp(cust["created"] // DAY * DAY, datetime.timezone.utc).year
        y1 = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).year
        for y in range(y0, y1 + 1):
            m, d = cust["bday"]
            if m == 2 and d == 29 and not calendar.isleap(y):
                d = 28
            t = calendar.timegm((y, m, d, 0, 0, 0))
            if cust["created"] // DAY * DAY <= t <= now:
                cand.append([t, "birthday", "birthday:%d:%d" % (cid, y), R.birthday, None])
    for o in orders:
        if o["purchase"] == 1:
            cand.append([o["t"], "earn", "earn:%d" % o["id"], None, o])
        elif o["purchase"] == -1 and o["amount"] < 0:
            cand.append([o["t"], "reverse", "reverse:%d" % o["id"], None, o])
    for e in events:
        if e["type"] in R.events and R.events[e["type"]] > 0:
            cand.append([e["t"], "event", "event:%d" % e["id"], R.events[e["type"]], None])
    order = sorted(range(len(cand)), key=lambda i: (cand[i][0], i))

    rows, lots = [], []     # lot: dict(t, avail, exp, rem, usable, done, key)
    st = {"debt": 0, "net": 0}

    def events_upto(t):
        while True:
            best, when, expiry = None, None, False
            for l in lots:
                if l["done"]:
                    continue
                if l["exp"] and (when is None or l["exp"] < when or (l["exp"] == when and not expiry)):
                    best, when, expiry = l, l["exp"], True
                a = l["avail"] or l["t"]
                if not l["usable"] and (when is None or a < when):
                    best, when, expiry = l, a, False
            if best is None or when > t or when > now:
                return
            if expiry:
                if best["rem"] > 0:
                    rows.append(("expire:" + best["key"], "expire", -best["rem"], best["exp"], None, None))
                best["rem"] = 0
                best["done"] = True
                best["usable"] = False
            else:
                best["usable"] = True
                best["avail"] = 0
                if st["debt"] > 0 and best["rem"] > 0:
                    k = min(st["debt"], best["rem"])
                    best["rem"] -= k
                    st["debt"] -= k

    def take(n):
        while n > 0:
            best = None
            for l in lots:
                if not l["usable"] or l["done"] or l["rem"] <= 0:
                    continue
                if best is None or (l["exp"] and (not best["exp"] or l["exp"] < best["exp"])):
                    best = l
            if best is None:
                break
            k = min(best["rem"], n)
            best["rem"] -= k
            n -= k
        return n

    for i in order:
        t, kind, key, pts, o = cand[i]
        if t > now:
            continue
        events_upto(t)
        if kind == "earn":
            k = tier_before(o["t"])
            mult = R.tiers[k][2] if k >= 0 else 1
            pts = math.floor((o["amount"] + o.get("extra", 0)) / R.unit * R.earn * mult / R.pv + 1e-9)
        elif kind == "reverse":
            pts = -min(math.floor(-o["amount"] / R.unit * R.earn / R.pv + 1e-9), st["net"])
        if pts == 0:
            continue
        if kind in ("earn", "reverse"):
            st["net"] += pts
        if pts > 0:
            avail = t + R.pending if kind == "earn" and R.pending else 0
            exp = t + R.expire if R.expire else 0
            rows.append((key, kind, pts, t, avail or None, exp or None))
            lots.append({"t": t, "avail": avail, "exp": exp, "rem": pts, "usable": False,
                         "done": False, "key": key})
            events_upto(t)
        else:
            rows.append((key, kind, pts, t, None, None))
            st["debt"] += take(-pts)
    events_upto(now)
    avail = sum(l["rem"] for l in lots if l["usable"] and not l["done"])
    pending = sum(l["rem"] for l in lots if not l["usable"] and not l["done"])
    tier = -1
    for (ct, k) in tl:
        if ct <= now:
            tier = k
    return rows, {"points": avail - st["debt"], "pending": pending,
                  "tier": R.tiers[tier][0] if tier >= 0 else None}
