"""Writes a small synthetic population as JSON Lines for `cordon accounts import`.

Deterministic (fixed seed), spread over many countries of citizenship, with
dual nationals, every verification level, missing citizenships and an
organisation whose name is markup, so the report exercises every section.

    python3 tests/report/population.py accounts.jsonl [COUNT]
"""

import json
import random
import sys

COUNTRIES = [
    ("US", 400), ("IN", 90), ("GB", 60), ("DE", 55), ("CN", 50), ("CA", 40), ("FR", 35),
    ("BR", 30), ("JP", 28), ("KR", 22), ("AU", 20), ("MX", 18), ("RU", 15), ("NG", 14),
    ("ES", 14), ("IT", 13), ("ID", 12), ("PK", 11), ("TR", 10), ("NL", 10), ("PL", 9),
    ("VN", 9), ("EG", 8), ("AR", 8), ("ZA", 7), ("SE", 7), ("UA", 6), ("KE", 5), ("CO", 5),
    ("SA", 5), ("TH", 5), ("PH", 5), ("CL", 4), ("NO", 4), ("IL", 4), ("SG", 4), ("NZ", 3),
    ("KZ", 3), ("MA", 3), ("ET", 3), ("PE", 3), ("FI", 3), ("DZ", 2), ("MN", 1), ("MC", 1),
]
LEVELS = [("none", 30), ("self_declared", 30), ("document_verified", 35), ("attested", 5)]
ORGS = ["Northwind Labs", "Contoso Research", "<script>alert('x')</script> Ltd",
        "Fabrikam & Söhne GmbH", "Tailspin Analytics", "Litware Inc."]


def pick(rng, weighted):
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    rng = random.Random(20261120)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            record = {"id": f"acct-{i:06d}", "verification": pick(rng, LEVELS), "source": "synthetic"}
            roll = rng.random()
            if roll > 0.03:
                first = pick(rng, COUNTRIES)
                citizenships = [first]
                if roll > 0.93:
                    second = pick(rng, COUNTRIES)
                    if second != first:
                        citizenships.append(second)
                record["citizenships"] = citizenships
                record["residence_country"] = first if rng.random() < 0.8 else pick(rng, COUNTRIES)
                if rng.random() < 0.7:
                    # Complete records: a non-U.S. citizen is then known not to be a U.S. person.
                    record["permanent_residencies"] = []
                    record["protected_individual"] = False
            if rng.random() < 0.35:
                record["organization"] = {"name": rng.choice(ORGS)}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
