"""Drives the compliance console in headless Chromium, as an officer would.

    python check.py --url URL --user NAME --password PW --out DIR --profile DIR

Logs in through the form, checks each page renders with its heading and no
browser error (a CSP violation is one), searches for the `unverified` demo
account and reads its attributes, visits the screening queue and the audit
log, logs out, and saves a screenshot of every page.
"""

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "browser"))
import chrome  # noqa: E402  (tests/browser/chrome.py)
from selenium.webdriver.common.by import By



def fail(message):
    print(f"console-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", required=True)
    chrome.add_arguments(ap)
    args = ap.parse_args()
    out = pathlib.Path(args.out)

    driver = chrome.start(args, ["browser"])
    try:
        def page(name, heading):
            h1 = driver.find_element(By.TAG_NAME, "h1").text
            if h1 != heading:
                fail(f"{name}: the page's heading is {h1!r}, not {heading!r}")
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            if errors:
                fail(f"{name}: the browser logged {errors}")
            if driver.find_elements(By.TAG_NAME, "script"):
                fail(f"{name}: the page has a script element")
            driver.save_screenshot(str(out / f"{name}.png"))

        driver.get(args.url)
        page("login", "Cordon console")
        driver.find_element(By.NAME, "username").send_keys(args.user)
        driver.find_element(By.NAME, "password").send_keys(args.password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        page("overview", "Overview")
        if "foreign-national-frontier-2026" not in driver.page_source:
            fail("the overview does not list the foreign-national directive")

        driver.find_element(By.LINK_TEXT, "Accounts").click()
        page("accounts", "Accounts")
        box = driver.find_element(By.NAME, "q")
        box.send_keys("unverified")
        box.submit()
        page("search", "Accounts")
        driver.find_element(By.LINK_TEXT, "unverified").click()
        page("account", "Account unverified")
        text = driver.find_element(By.TAG_NAME, "main").text
        # Why it is refused: only self-declared, not verified.
        if "self_declared" not in text or "signup-form" not in text:
            fail(f"the account page does not show its verification and source: {text[:400]}")

        driver.find_element(By.LINK_TEXT, "Screening").click()
        page("screening", "Screening review")
        driver.find_element(By.LINK_TEXT, "Audit").click()
        page("audit", "Audit log")
        if "decision" not in driver.page_source and "change:" not in driver.page_source:
            fail("the audit page lists no entry")

        driver.find_element(By.CSS_SELECTOR, "form.who button").click()
        page("logged-out", "Cordon console")
        driver.get(args.url.rstrip("/") + "/overview")
        page("after-logout", "Cordon console")
    finally:
        driver.quit()
    print("console-check: logged in, searched, read an account, screening and audit, logged out")


if __name__ == "__main__":
    main()
