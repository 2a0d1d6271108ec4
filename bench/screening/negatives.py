#!/usr/bin/env python3
"""Writes the screening negative set: synthetic people and companies from many locales.

Every name is drawn with Faker from a fixed seed, so the same Faker version writes
the same file byte for byte. The names are ordinary customers, not listed parties:
the precision benchmark (`cargo bench -p cordon-screening --bench precision`) screens
them all and counts how many the screener holds for review, per locale.

Persons are `fake.name()` in the locale's own order and script. Draws that begin
with a prefix or end with a suffix of the locale (`Dr.`, `Mr.`, `MD`, `Jr.`) are
drawn again: titles say nothing about who a person is, and the screener drops most
of them anyway.
Organisations are `fake.company()`.

    negatives.py --out crates/screening/tests/data/negatives.tsv

bench/screening/negatives.sh installs the pinned Faker into a venv and runs this.
"""

import argparse
import sys
import zlib

from faker import Faker

# Changing the seed, the locales or the counts changes every figure measured on the
# set: the benchmark's "before" and "after" must use the same file.
SEED = 20251208
PERSONS_PER_LOCALE = 250
ORGS_PER_LOCALE = 50

# Latin-script locales first, then the others; each gets the same counts.
LOCALES = (
    "en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "pl_PL", "tr_TR",
    "id_ID", "nl_NL", "vi_VN",
    "ru_RU", "uk_UA", "el_GR", "he_IL", "ar_AA", "fa_IR", "hi_IN", "bn_BD",
    "th_TH", "zh_CN", "zh_TW", "ja_JP", "ko_KR",
)

# A name that cannot be drawn without a repeat this many times in a row ends the
# locale's draws early; the set is then smaller and the script says so.
MAX_DRAWS_PER_NAME = 200


def locale_seed(locale):
    """The locale's own seed: adding or removing a locale leaves the others' names alone."""
    return SEED ^ zlib.crc32(locale.encode("ascii"))


def affixes(fake):
    """The prefixes and suffixes the locale's person provider can put around a name."""
    out = set()
    for provider in fake.providers:
        for attr in ("prefixes", "prefixes_male", "prefixes_female", "prefixes_nonbinary",
                     "suffixes", "suffixes_male", "suffixes_female", "suffixes_nonbinary"):
            values = getattr(provider, attr, None)
            if values:
                out.update(v.strip() for v in values if v.strip())
    return out


def clean(text):
    """One line of one field: no tab, newline or double quote, single spaces."""
    text = text.replace('"', " ")
    return " ".join(text.split())


def draw(make, n, seen, accept=lambda s: True):
    """Up to `n` new distinct names from `make`, skipping repeats and rejects."""
    out = []
    misses = 0
    while len(out) < n and misses < MAX_DRAWS_PER_NAME:
        name = clean(make())
        if not name or name in seen or not accept(name):
            misses += 1
            continue
        misses = 0
        seen.add(name)
        out.append(name)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the TSV to write")
    args = ap.parse_args()

    rows = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(locale_seed(locale))
        titles = affixes(fake)

        def untitled(name):
            # Affixes can be several words (`سرکار خانم دکتر`) or glued to the
            # surname (Hindi `जी`), so whole-string ends are compared, not words.
            return not any(name.startswith(t) or name.endswith(t) for t in titles)

        persons = draw(fake.name, PERSONS_PER_LOCALE, set(), untitled)
        orgs = draw(fake.company, ORGS_PER_LOCALE, set())
        for label, names, want in (("person", persons, PERSONS_PER_LOCALE),
                                   ("org", orgs, ORGS_PER_LOCALE)):
            if len(names) < want:
                print(f"negatives.py: {locale}: only {len(names)} distinct {label} names",
                      file=sys.stderr)
            rows.extend((name, label, locale) for name in names)

    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("query\tkind\tlocale\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    persons = sum(1 for r in rows if r[1] == "person")
    print(f"negatives.py: {persons} persons, {len(rows) - persons} organisations, "
          f"{len(LOCALES)} locales -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
