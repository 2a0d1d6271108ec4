"""Checks the HTML impact report in headless Chromium against its JSON.

    python check.py --json report.json --html report.html --screenshot report.png --profile DIR

Asserts that the page renders (title, a world map of more than 500 cells, no
script element), that Chromium logs no error, that nothing but file: and data:
URLs is requested, and that every element carrying `data-figure="<path>"` has
exactly the JSON value at that path as its text content — with figures present
for every total and every model group. Saves a full-page screenshot.
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "browser"))
import chrome  # noqa: E402  (tests/browser/chrome.py)



def resolve(doc, path):
    """The JSON value at a figure path: dotted fields, and at most one `[key]`
    selecting the array element whose `key` (or `directive`) equals it. The key
    runs to the last `]`, so it may itself contain dots and brackets."""

    def dotted(value, p):
        for part in filter(None, p.split(".")):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(path)
            value = value[part]
        return value

    if "[" not in path:
        return dotted(doc, path)
    open_, close = path.index("["), path.rindex("]")
    key = path[open_ + 1:close]
    items = dotted(doc, path[:open_])
    for item in items:
        if item.get("key", item.get("directive")) == key:
            return dotted(item, path[close + 1:])
    raise KeyError(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--html", required=True)
    ap.add_argument("--screenshot", required=True)
    chrome.add_arguments(ap)
    args = ap.parse_args()

    report = json.loads(pathlib.Path(args.json).read_text(encoding="utf-8"))
    url = pathlib.Path(args.html).resolve().as_uri()

    driver = chrome.start(args, ["browser", "performance"])
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    try:
        driver.get(url)
        title = driver.title
        check("Directive impact report" in title, f"page title is {title!r}")
        page = driver.execute_script(
            """
            return {
              cells: document.querySelectorAll('svg.map rect').length,
              scripts: document.scripts.length,
              figures: Array.from(document.querySelectorAll('[data-figure]'))
                .map(e => [e.getAttribute('data-figure'), e.textContent]),
              resources: performance.getEntriesByType('resource').map(e => e.name),
              height: Math.ceil(document.documentElement.scrollHeight),
            };
            """
        )
        check(page["cells"] > 500, f"the world map has {page['cells']} cells, expected > 500")
        check(page["scripts"] == 0, f"the page has {page['scripts']} script elements")

        # Figures: each equals the JSON; totals and model groups are all present.
        paths = set()
        for path, text in page["figures"]:
            paths.add(path)
            try:
                want = resolve(report, path)
            except (KeyError, TypeError, AttributeError):
                check(False, f"data-figure {path!r}: no such value in the JSON")
                continue
            check(isinstance(want, int) and text == str(want),
                  f"data-figure {path!r}: page shows {text!r}, JSON has {want!r}")
        wanted = [f"totals.{k}" for k in report["totals"]]
        wanted += ["accounts", "cells", "affected_accounts"]
        wanted += [f"accounts_by_transition.{k}" for k in report["accounts_by_transition"]]
        for g in report["by_model"]:
            wanted += [f"by_model[{g['key']}].accounts", f"by_model[{g['key']}].affected_accounts"]
        for p in wanted:
            check(p in paths, f"no data-figure for {p}")

        # Console: no errors of any kind (CSP violations included).
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        check(not severe, f"console errors: {severe}")

        # Network: the page requests nothing but itself and data: URLs, and the
        # browser as a whole (its own chrome:// pages included) fetches no
        # http(s) or WebSocket URL while it shows the report.
        requested = list(page["resources"])
        everything = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                params = message["params"]
                everything.append(params["request"]["url"])
                if params.get("documentURL") == url:
                    requested.append(params["request"]["url"])
        outside = [u for u in requested if not u.startswith(("file:", "data:"))]
        outside += [u for u in everything if u.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp")]
        check(url in requested, "the performance log does not show the page being loaded")
        check(not outside, f"requests outside file:/data: {outside}")

        driver.set_window_size(1280, min(max(page["height"], 900), 20000))
        driver.save_screenshot(args.screenshot)
        print(f"report-check: {len(page['figures'])} figures, {page['cells']} map cells, "
              f"{len(requested)} requests (all local), page {page['height']} px high")
    finally:
        driver.quit()

    if failures:
        for f in failures:
            print(f"report-check: FAIL {f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
