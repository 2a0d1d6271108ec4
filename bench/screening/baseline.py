#!/usr/bin/env python3
"""Brute-force rapidfuzz screening baseline, and the scorer for the accuracy set.

Subcommands:

  queries  accuracy.tsv -> queries JSON lines ({"name","kind","country","expected"}),
           optionally repeated to at least N rows for timing.
  run      every query against every exported name with rapidfuzz; writes one JSON
           object per query ({"query", "hits": [{"score","list","uid","name",...}]})
           in input order and a timing summary as JSON.
  score    recall and precision of one result file against accuracy.tsv.
  tune     runs the baseline over the accuracy set for several scorers and
           thresholds and prints recall, precision and F1 for each, which is how the
           default scorer and threshold were chosen.
  report   the side-by-side table printed by run.sh.
  negatives
           screens the synthetic negative set (negatives.tsv) and prints, per
           locale, how many people and organisations the baseline holds (any hit).

Needs Python 3.9+ and rapidfuzz (only for `run` and `tune`).
"""

import argparse
import csv
import json
import statistics
import sys
import time
import unicodedata

# The default scorer and threshold, chosen with `tune` on the accuracy set: the
# highest recall among the settings with precision >= 0.9 (it is also the best F1).
# Tuned on the set it is scored on, so the baseline's figures are optimistic.
DEFAULT_SCORER = "token_sort_ratio"
DEFAULT_THRESHOLD = 84.0
DEFAULT_LIMIT = 10

SCORERS = ("token_sort_ratio", "token_set_ratio", "WRatio", "ratio", "QRatio")
NON_PERSON_KINDS = {"vessel", "aircraft"}
# accuracy.tsv kinds -> the query kinds `cordon screen` reads (`PartyKind`, snake_case).
QUERY_KINDS = {"person": "person", "org": "organization"}


# ---------------------------------------------------------------- accuracy set


def read_cases(path):
    """The rows of accuracy.tsv as dicts, in file order."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        want = ["query", "kind", "country", "expected", "category", "note"]
        if reader.fieldnames != want:
            header = "\t".join(want)
            sys.exit(f"{path}:1: header must be {header!r}, got {reader.fieldnames!r}")
        cases = []
        for line, row in enumerate(reader, start=2):
            if not row["query"]:
                sys.exit(f"{path}:{line}: empty query")
            if row["kind"] not in ("", *QUERY_KINDS):
                sys.exit(f"{path}:{line}: kind must be person, org or empty, got {row['kind']!r}")
            exp = row["expected"]
            row["expected_set"] = set() if exp == "-" else set(exp.split("|"))
            cases.append(row)
    return cases


def cmd_queries(args):
    cases = read_cases(args.cases)
    rows = []
    for c in cases:
        q = {"name": c["query"]}
        if c["kind"]:
            q["kind"] = QUERY_KINDS[c["kind"]]
        if c["country"]:
            q["country"] = c["country"]
        q["expected"] = c["expected"]
        rows.append(json.dumps(q, ensure_ascii=False))
    n = len(rows)
    total = max(n, args.repeat_to)
    reps = -(-total // n)
    out = sys.stdout
    for _ in range(reps):
        for r in rows:
            out.write(r + "\n")
    print(f"{n} queries x {reps} = {n * reps} rows", file=sys.stderr)


# ---------------------------------------------------------------- baseline


def fold(s):
    """Unicode compatibility decomposition without combining marks (é -> e)."""
    d = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in d if not unicodedata.combining(ch))


def load_names(path):
    names = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                n = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{line_no}: not JSON: {e}")
            for key in ("list", "uid", "kind", "name"):
                if key not in n:
                    sys.exit(f"{path}:{line_no}: missing `{key}`")
            names.append(n)
    return names


def load_queries(path):
    qs = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if line:
                try:
                    qs.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{line_no}: not JSON: {e}")
    return qs


class Baseline:
    """Every name pre-processed once; each query is scored against all of them."""

    def __init__(self, names, scorer_name, threshold, limit):
        from rapidfuzz import fuzz, process, utils

        self._process = process
        self._pre = lambda s: utils.default_process(fold(s))
        self.scorer = getattr(fuzz, scorer_name)
        self.threshold = threshold
        self.limit = limit
        self.names = names
        # Two choice lists so that a person query never scans vessels and aircraft.
        self.all_choices = [self._pre(n["name"]) for n in names]
        self.person_idx = [i for i, n in enumerate(names) if n["kind"] not in NON_PERSON_KINDS]
        self.person_choices = [self.all_choices[i] for i in self.person_idx]

    def screen(self, query, raw_scores=False):
        """Hits for one query, best entry first; scores in 0-1 unless `raw_scores` (0-100)."""
        q = self._pre(query.get("name", ""))
        if not q:
            return []
        if query.get("kind") == "person":
            choices, index = self.person_choices, self.person_idx
        else:
            choices, index = self.all_choices, None
        found = self._process.extract(
            q, choices, scorer=self.scorer, processor=None,
            score_cutoff=self.threshold, limit=None,
        )
        best = {}
        for _choice, score, pos in found:
            i = index[pos] if index is not None else pos
            n = self.names[i]
            key = (n["list"], n["uid"])
            if key not in best or score > best[key][0]:
                best[key] = (score, n)
        hits = sorted(best.values(), key=lambda h: (-h[0], h[1]["list"], h[1]["uid"]))
        return [
            {
                "score": score if raw_scores else round(score / 100.0, 4),
                "list": n["list"],
                "uid": n["uid"],
                "name": n["name"],
                "kind": n["kind"],
                "name_kind": n.get("name_kind"),
            }
            for score, n in hits[: self.limit]
        ]


def cmd_run(args):
    t0 = time.perf_counter()
    names = load_names(args.names)
    queries = load_queries(args.queries)
    if args.max_queries:
        queries = queries[: args.max_queries]
    t1 = time.perf_counter()
    base = Baseline(names, args.scorer, args.threshold, args.limit)
    t2 = time.perf_counter()
    per = []
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    for q in queries:
        s = time.perf_counter()
        hits = base.screen(q)
        per.append(time.perf_counter() - s)
        out.write(json.dumps({"query": q.get("name", ""), "hits": hits}, ensure_ascii=False) + "\n")
    t3 = time.perf_counter()
    if out is not sys.stdout:
        out.close()
    per_sorted = sorted(per)
    summary = {
        "scorer": args.scorer,
        "threshold": args.threshold,
        "limit": args.limit,
        "names": len(names),
        "queries": len(queries),
        "read_s": t1 - t0,
        "prepare_s": t2 - t1,
        "query_total_s": t3 - t2,
        "per_query_mean_ms": 1000 * statistics.fmean(per) if per else 0.0,
        "per_query_p50_ms": 1000 * percentile(per_sorted, 0.50),
        "per_query_p99_ms": 1000 * percentile(per_sorted, 0.99),
    }
    if args.timing:
        with open(args.timing, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    print(json.dumps(summary), file=sys.stderr)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(p * (len(sorted_values) - 1))))
    return sorted_values[i]


# ---------------------------------------------------------------- scoring


def read_results(path, n):
    """The first n result rows; rows beyond n are repeats of the same queries."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if len(rows) == n:
                break
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{line_no}: not JSON: {e}")
            if not isinstance(r.get("hits"), list):
                sys.exit(f"{path}:{line_no}: no `hits` array")
            rows.append(r)
    if len(rows) < n:
        sys.exit(f"{path}: {len(rows)} result rows for {n} cases")
    return rows


def evaluate(cases, results):
    """Counts and per-case outcomes: found / missed / wrong (positives), clean / fp (negatives)."""
    mismatched = 0
    outcomes = []
    for c, r in zip(cases, results):
        if "query" in r and r["query"] != c["query"]:
            mismatched += 1
        got = {f'{h.get("list")}:{h.get("uid")}' for h in r["hits"]}
        if c["expected_set"]:
            if got & c["expected_set"]:
                outcomes.append("found")
            elif got:
                outcomes.append("wrong")
            else:
                outcomes.append("missed")
        else:
            outcomes.append("fp" if got else "clean")
    pos = sum(1 for c in cases if c["expected_set"])
    neg = len(cases) - pos
    tp = outcomes.count("found")
    fp = outcomes.count("fp") + outcomes.count("wrong")
    recall = tp / pos if pos else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "cases": len(cases),
        "positives": pos,
        "negatives": neg,
        "tp": tp,
        "fp_negative": outcomes.count("fp"),
        "fp_wrong_entry": outcomes.count("wrong"),
        "missed": outcomes.count("missed"),
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "negatives_hit_rate": outcomes.count("fp") / neg if neg else 0.0,
        "query_mismatches": mismatched,
        "outcomes": outcomes,
    }


def by_category(cases, outcomes):
    cats = {}
    for c, o in zip(cases, outcomes):
        d = cats.setdefault(c["category"], {"n": 0, "ok": 0})
        d["n"] += 1
        d["ok"] += o in ("found", "clean")
    return cats


def cmd_score(args):
    cases = read_cases(args.cases)
    ev = evaluate(cases, read_results(args.results, len(cases)))
    if args.json:
        ev = {k: v for k, v in ev.items() if k != "outcomes"}
        print(json.dumps(ev, indent=2))
        return
    label = args.label or args.results
    print(f"{label}: recall {ev['recall']:.3f} ({ev['tp']}/{ev['positives']}), "
          f"precision {ev['precision']:.3f}, F1 {ev['f1']:.3f}; "
          f"negatives hit {ev['fp_negative']}/{ev['negatives']}, "
          f"positives hitting only other entries {ev['fp_wrong_entry']}")
    if ev["query_mismatches"]:
        print(f"warning: {ev['query_mismatches']} result rows echo a different query than the case "
              "in the same position", file=sys.stderr)
    print("by category (positives: found; negatives: no hit):")
    for cat, d in sorted(by_category(cases, ev["outcomes"]).items()):
        print(f"  {cat:16} {d['ok']:4}/{d['n']:<4}")
    if args.verbose:
        for c, o, r in zip(cases, ev["outcomes"], read_results(args.results, len(cases))):
            if o in ("found", "clean"):
                continue
            top = r["hits"][0] if r["hits"] else None
            top_s = f'{top.get("list")}:{top.get("uid")} {top.get("name")!r} {top.get("score")}' if top else "-"
            print(f"  {o:6} {c['category']:15} {c['query']!r} expected {c['expected']} top {top_s}")


def cmd_tune(args):
    cases = read_cases(args.cases)
    names = load_names(args.names)
    queries = []
    for c in cases:
        q = {"name": c["query"]}
        if c["kind"]:
            q["kind"] = c["kind"]
        queries.append(q)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    low = min(thresholds)
    print(f"{'scorer':18} {'thr':>5} {'recall':>7} {'prec':>7} {'F1':>7} {'neg hit':>8} {'wrong':>6}")
    for scorer in args.scorers.split(","):
        # One pass at the lowest threshold; higher thresholds filter its hits.
        base = Baseline(names, scorer, low, 10**9)
        raw = [base.screen(q, raw_scores=True) for q in queries]
        for t in thresholds:
            results = [{"hits": [h for h in hs if h["score"] >= t][: args.limit]} for hs in raw]
            ev = evaluate(cases, results)
            print(f"{scorer:18} {t:5.0f} {ev['recall']:7.3f} {ev['precision']:7.3f} {ev['f1']:7.3f} "
                  f"{ev['fp_negative']:8} {ev['fp_wrong_entry']:6}")


# ---------------------------------------------------------------- report


def cmd_report(args):
    cases = read_cases(args.cases)
    with open(args.timings, encoding="utf-8") as f:
        t = json.load(f)
    c_ev = evaluate(cases, read_results(args.cordon, len(cases)))
    b_ev = evaluate(cases, read_results(args.baseline, len(cases)))
    bt = t["baseline"]
    ct = t["cordon"]
    names = load_names(args.names)
    entries = len({(n["list"], n["uid"]) for n in names})

    c_per_ms = 1000 * ct["wall_s"] / ct["rows"]
    c_per_net_ms = 1000 * max(0.0, ct["wall_s"] - ct["startup_wall_s"]) / ct["rows"]
    b_per_ms = bt["per_query_mean_ms"]
    ratio = b_per_ms / c_per_net_ms if c_per_net_ms > 0 else float("inf")

    rows = [
        ("names screened against", f"{len(names):,} names of {entries:,} entries", "the same names"),
        ("queries timed", f"{ct['rows']:,} rows ({len(cases)} cases x {ct['rows'] / len(cases):.3g})",
         f"{bt['queries']:,} rows ({len(cases)} cases x {bt['queries'] / len(cases):.3g})"),
        ("wall time, whole run", f"{ct['wall_s']:.2f} s", f"{t['baseline_wall_s']:.2f} s"),
        ("  of which start-up (lists loaded, 1 query)", f"{ct['startup_wall_s']:.2f} s",
         f"{bt['read_s'] + bt['prepare_s']:.2f} s (read + prepare)"),
        ("per query, wall / rows", f"{c_per_ms:.3f} ms", f"{1000 * t['baseline_wall_s'] / bt['queries']:.3f} ms"),
        ("per query, start-up excluded", f"{c_per_net_ms:.3f} ms", f"{b_per_ms:.3f} ms (mean), p99 {bt['per_query_p99_ms']:.3f} ms"),
        ("speed ratio (baseline / cordon, start-up excluded)", f"{ratio:.1f}x", ""),
        ("matching", "cordon screen (its own threshold)",
         f"rapidfuzz {bt['scorer']} >= {bt['threshold']:g}, top {bt['limit']} entries"),
        ("recall", f"{c_ev['recall']:.3f} ({c_ev['tp']}/{c_ev['positives']})",
         f"{b_ev['recall']:.3f} ({b_ev['tp']}/{b_ev['positives']})"),
        ("precision", f"{c_ev['precision']:.3f}", f"{b_ev['precision']:.3f}"),
        ("F1", f"{c_ev['f1']:.3f}", f"{b_ev['f1']:.3f}"),
        ("negatives with any hit", f"{c_ev['fp_negative']}/{c_ev['negatives']}", f"{b_ev['fp_negative']}/{b_ev['negatives']}"),
        ("positives hitting only other entries", f"{c_ev['fp_wrong_entry']}", f"{b_ev['fp_wrong_entry']}"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows + [("", "cordon", "")])
    print(f"{'':{w0}}  {'cordon':{w1}}  rapidfuzz baseline")
    for a, b, c in rows:
        print(f"{a:{w0}}  {b:{w1}}  {c}")
    print()
    cc = by_category(cases, c_ev["outcomes"])
    bc = by_category(cases, b_ev["outcomes"])
    print(f"{'category':16} {'cases':>5}  {'cordon':>7}  {'baseline':>8}   (positives: found; negatives: no hit)")
    for cat in sorted(cc):
        print(f"{cat:16} {cc[cat]['n']:5}  {cc[cat]['ok']:7}  {bc[cat]['ok']:8}")
    for label, ev in (("cordon", c_ev), ("baseline", b_ev)):
        if ev["query_mismatches"]:
            print(f"warning: {ev['query_mismatches']} {label} rows echo a different query than the case "
                  "in the same position", file=sys.stderr)


# ---------------------------------------------------------------- negative set


def read_negatives(path):
    """The rows of negatives.tsv as (query, kind, locale), in file order."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != ["query", "kind", "locale"]:
            sys.exit(f"{path}:1: header must be 'query<TAB>kind<TAB>locale', got {header!r}")
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(row) != 3 or row[1] not in QUERY_KINDS:
                sys.exit(f"{path}:{line}: want query, person|org, locale; got {row!r}")
            rows.append(tuple(row))
    return rows


def cmd_negatives(args):
    names = load_names(args.names)
    rows = read_negatives(args.negatives)
    if args.max_queries:
        rows = rows[: args.max_queries]
    base = Baseline(names, args.scorer, args.threshold, args.limit)
    # (locale, kind) -> [screened, held], in file order.
    tally = {}
    per = []
    for query, kind, locale in rows:
        s = time.perf_counter()
        hits = base.screen({"name": query, "kind": QUERY_KINDS[kind]})
        per.append(time.perf_counter() - s)
        t = tally.setdefault((locale, kind), [0, 0])
        t[0] += 1
        t[1] += bool(hits)
    locales = list(dict.fromkeys(locale for locale, _ in tally))

    def cell(locale, kind):
        screened, held = tally.get((locale, kind), (0, 0))
        pct = 100.0 * held / screened if screened else 0.0
        return f"{screened} | {held} | {pct:.2f}"

    print(f"rapidfuzz baseline, {args.scorer} >= {args.threshold:g}, "
          f"{len(names)} names, {len(rows)} negatives (no namesake labels)\n")
    print("| locale | persons | held | held % | orgs | held | held % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for locale in locales:
        print(f"| {locale} | {cell(locale, 'person')} | {cell(locale, 'org')} |")
    totals = {}
    for (_, kind), (screened, held) in tally.items():
        t = totals.setdefault(kind, [0, 0])
        t[0] += screened
        t[1] += held
    all_cells = []
    for kind in ("person", "org"):
        screened, held = totals.get(kind, (0, 0))
        all_cells.append(f"{screened} | {held} | {100.0 * held / screened if screened else 0.0:.2f}")
    print(f"| **all** | {all_cells[0]} | {all_cells[1]} |")
    per.sort()
    print(f"\nper query: p50 {1000 * percentile(per, 0.50):.1f} ms, "
          f"p99 {1000 * percentile(per, 0.99):.1f} ms (one core)")


# ---------------------------------------------------------------- main


def add_screening_args(parser):
    """The names, scorer, threshold and limit of a baseline run, and a query cap."""
    parser.add_argument("--names", required=True, help="names JSON lines (`cordon lists names`)")
    parser.add_argument("--scorer", default=DEFAULT_SCORER, choices=SCORERS)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="0-100")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="hits kept per query (entries)")
    parser.add_argument("--max-queries", type=int, default=0, help="only the first N queries")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    q = sub.add_parser("queries", help="accuracy.tsv -> queries JSON lines")
    q.add_argument("--cases", required=True)
    q.add_argument("--repeat-to", type=int, default=0, help="repeat the set until at least this many rows")
    q.set_defaults(func=cmd_queries)

    r = sub.add_parser("run", help="brute-force rapidfuzz over every name")
    r.add_argument("--queries", required=True, help="queries JSON lines")
    add_screening_args(r)
    r.add_argument("--out", help="results file (default stdout)")
    r.add_argument("--timing", help="write the timing summary JSON here")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("score", help="recall and precision of a result file")
    s.add_argument("--cases", required=True)
    s.add_argument("--results", required=True)
    s.add_argument("--label")
    s.add_argument("--json", action="store_true")
    s.add_argument("-v", "--verbose", action="store_true", help="list every miss and false positive")
    s.set_defaults(func=cmd_score)

    t = sub.add_parser("tune", help="recall/precision grid over scorers and thresholds")
    t.add_argument("--cases", required=True)
    t.add_argument("--names", required=True)
    t.add_argument("--scorers", default=",".join(SCORERS))
    t.add_argument("--thresholds", default="70,75,80,82,84,85,86,88,90,92,95")
    t.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    t.set_defaults(func=cmd_tune)

    rep = sub.add_parser("report", help="the side-by-side table")
    rep.add_argument("--cases", required=True)
    rep.add_argument("--cordon", required=True)
    rep.add_argument("--baseline", required=True)
    rep.add_argument("--timings", required=True)
    rep.add_argument("--names", required=True, help="the names file both screened against")
    rep.set_defaults(func=cmd_report)

    n = sub.add_parser("negatives", help="per-locale hold rates on negatives.tsv")
    n.add_argument("--negatives", required=True, help="crates/screening/tests/data/negatives.tsv")
    add_screening_args(n)
    n.set_defaults(func=cmd_negatives)

    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
