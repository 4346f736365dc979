"""tests/cdnow.py - the CDNOW sample as the models see it, for the
independent checks of tests/cli/t04*.sh (written from the papers, not
from crmkit's code).

    import sys, os; sys.path.insert(0, os.environ["CRM_TOP"] + "/tests")
    import cdnow
    rows = cdnow.rows(path, "1997-09-30", 7)   # [(x, t_x, T), ...]
"""
import datetime
import math


def rows(path, end, unit=7):
    """Each customer's repeat purchase days x, recency t_x and age T (in
    days / unit) from the CDNOW file, counting the days up to end."""
    end = datetime.date.fromisoformat(end)
    days = {}
    for line in open(path):
        f = line.split()
        d = datetime.date(int(f[2][:4]), int(f[2][4:6]), int(f[2][6:]))
        if d <= end:
            days.setdefault(f[1], set()).add(d)
    return [(len(ds) - 1, (max(ds) - min(ds)).days / unit, (end - min(ds)).days / unit)
            for ds in days.values()]


def bgnbd_ll(rows, r, al, a, b):
    """The BG/NBD log-likelihood (Fader, Hardie and Lee 2005, eq. 6)."""
    tot = 0
    for x, t, T in rows:
        A = (math.lgamma(r + x) - math.lgamma(r) + r * math.log(al) + math.lgamma(a + b)
             + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x))
        l = math.exp(A - (r + x) * math.log(al + T))
        if x:
            l += math.exp(A + math.log(a / (b + x - 1)) - (r + x) * math.log(al + t))
        tot += math.log(l)
    return tot


def best_nearby(f, v, steps=(1.01, 0.99), tol=1e-9):
    """Whether f(v) is at least f at v with any one coordinate scaled by
    a step (a maximum, to that resolution)."""
    best = f(v)
    return all(f([z * (s if i == j else 1) for j, z in enumerate(v)]) <= best + tol
               for i in range(len(v)) for s in steps)


def hyp2f1(a, b, c, z, tol=1e-16):
    """The Gaussian hypergeometric series, 0 <= z < 1."""
    term, total, n = 1.0, 1.0, 0
    while abs(term) > tol * abs(total) or n < 5:
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
        if n > 1000000:
            raise ValueError("hyp2f1 does not converge")
    return total


def bgnbd_expected(t, r, al, a, b):
    """Expected repeat purchases of a new customer in (0, t] (Fader, Hardie
    and Lee 2005, eq. 7)."""
    if t <= 0:
        return 0.0
    z = t / (al + t)
    return (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b, a + b - 1, z))
