"""The normalised Qini coefficient of an uplift score, for the tests: the
formulas of scikit-uplift's qini_curve, perfect_qini_curve and
qini_auc_score (negative_effect=True) written out, not lib/uplift_fit.c.

    python3 tests/uplift_qini.py ROWS.csv   # crm-score uplift --rows: the Qini of its predictions
"""
import csv
import sys


def curve(y, s, t):
    """Points (rows targeted, incremental outcome) at the end of each run
    of equal scores, in decreasing order of the score, from (0, 0)."""
    order = sorted(range(len(s)), key=lambda i: -s[i])
    xs, vs = [0], [0.0]
    yt = yc = nt = nc = 0.0
    for k, i in enumerate(order):
        if t[i]:
            nt += 1
            yt += y[i]
        else:
            nc += 1
            yc += y[i]
        if k + 1 < len(order) and s[order[k + 1]] == s[i]:
            continue
        xs.append(k + 1)
        vs.append(yt - (yc * nt / nc if nc else 0))
    return xs, vs


def auc(xs, vs):
    return sum((xs[i] - xs[i - 1]) * (vs[i] + vs[i - 1]) / 2 for i in range(1, len(xs)))


def qini(y, s, t):
    xa, va = curve(y, s, t)
    xp, vp = curve(y, [y[i] if t[i] else -y[i] for i in range(len(y))], t)
    base = xp[-1] * vp[-1] / 2
    return (auc(xa, va) - base) / (auc(xp, vp) - base)


if __name__ == "__main__":
    rows = list(csv.DictReader(open(sys.argv[1])))
    print("%.6f" % qini([float(r["outcome"]) for r in rows], [float(r["predicted"]) for r in rows],
                        [r["group"] == "treatment" for r in rows]))
