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
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "browser"))
import chrome  # noqa: E402  (tests/browser/chrome.py)
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait



def fail(message):
    print(f"console-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--officer", required=True)
    ap.add_argument("--officer-password", required=True)
    ap.add_argument("--directive", required=True)
    ap.add_argument("--out", required=True)
    chrome.add_arguments(ap)
    args = ap.parse_args()
    out = pathlib.Path(args.out)

    driver = chrome.start(args, ["browser"])
    try:
        def heading_now():
            try:
                return driver.find_element(By.TAG_NAME, "h1").text
            except WebDriverException:
                # Between pages: no element yet, a stale one, or a document
                # being replaced.
                return None

        def page(name, heading):
            # A click that navigates may return before the next page is in.
            try:
                WebDriverWait(driver, 10).until(lambda d: heading_now() == heading)
            except WebDriverException:
                fail(f"{name}: the page's heading is {heading_now()!r}, not {heading!r} after 10 s")
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

        # A directive change: first with a mistake, then fixed.
        original = pathlib.Path(args.directive).read_text(encoding="utf-8")
        name = pathlib.Path(args.directive).name
        broken = original.replace('mode = "enforced"', 'mode = "enforcd"')
        fixed = original.replace('mode = "enforced"', 'mode = "shadow"')

        def propose(text):
            driver.find_element(By.LINK_TEXT, "Directives").click()
            page("directives", "Directives")
            driver.find_element(By.NAME, "file").send_keys(name)
            driver.find_element(By.NAME, "text").send_keys(text)
            driver.find_element(By.NAME, "text").submit()

        def proposal_heading(before):
            WebDriverWait(driver, 10).until(
                lambda d: "/proposals/" in d.current_url and d.current_url != before
            )
            return heading_now()

        propose(broken)
        heading = proposal_heading(None)
        page("proposal-broken", heading)
        if "does not check" not in driver.page_source or f"{name}:" not in driver.page_source:
            fail("a broken proposal is not shown with its finding and line")
        if driver.find_elements(By.XPATH, "//button[text()='Approve and apply']"):
            fail("a broken proposal can be approved")
        broken_url = driver.current_url
        propose(fixed)
        heading = proposal_heading(broken_url)
        page("proposal", heading)
        proposal_url = driver.current_url
        if "The set checks with it" not in driver.page_source:
            fail("the fixed proposal does not check")
        if driver.find_elements(By.XPATH, "//button[text()='Approve and apply']"):
            fail("the proposer is offered to approve their own change")
        # Its impact on the demo's accounts, and the full report framed.
        if "Impact on the accounts in the store" not in driver.page_source:
            fail("the proposal does not show its impact simulation")
        driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "iframe.report"))
        try:
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "headline"))
        except WebDriverException:
            fail("the framed impact report shows no headline figures")
        finally:
            driver.switch_to.default_content()
        page("proposal-impact", heading)
        driver.find_element(By.CSS_SELECTOR, "iframe.report").screenshot(str(out / "proposal-report.png"))

        driver.find_element(By.CSS_SELECTOR, "form.who button").click()
        page("logged-out", "Cordon console")
        driver.get(args.url.rstrip("/") + "/overview")
        page("after-logout", "Cordon console")

        # The second officer approves.
        driver.find_element(By.NAME, "username").send_keys(args.officer)
        driver.find_element(By.NAME, "password").send_keys(args.officer_password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        page("officer-overview", "Overview")
        driver.get(proposal_url)
        driver.find_element(By.XPATH, "//button[text()='Approve and apply']").click()
        page("approved", heading)
        if f"approved by {args.officer}" not in driver.page_source:
            fail("the approval is not shown")
        driver.find_element(By.LINK_TEXT, "Overview").click()
        page("overview-after", "Overview")
        row = driver.find_element(By.XPATH, "//tr[td/strong[text()='foreign-national-frontier-2026']]").text
        if "shadow" not in row:
            fail(f"the approved change is not in force: {row}")

        # The U.S. citizen's decision, found by search, and its receipt,
        # fetched with the browser's session once a signed checkpoint covers it.
        driver.find_element(By.LINK_TEXT, "Audit").click()
        page("audit-after", "Audit log")
        driver.find_element(By.NAME, "account").send_keys("us-citizen")
        driver.find_element(By.NAME, "effect").send_keys("allow")
        driver.find_element(By.NAME, "account").submit()
        page("decisions", "Decisions")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        if not rows or "us-citizen" not in rows[0].text or "fable-5" not in rows[0].text:
            fail(f"the search does not find the U.S. citizen's decision: {[r.text for r in rows]}")
        first = rows[0].find_element(By.TAG_NAME, "a")
        index = first.text
        first.click()
        page("entry", f"Audit log entry {index}")
        if "foreign-national-frontier-2026" not in driver.page_source:
            fail("the decision's page does not name the directives it consulted")
        href = driver.find_element(By.PARTIAL_LINK_TEXT, "Download the receipt").get_attribute("href")
        session = driver.get_cookie("__Host-cordon-session")["value"]
        request = urllib.request.Request(href, headers={"Cookie": f"__Host-cordon-session={session}"})
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(request) as r:
                    (out / "receipt.tlog-proof").write_bytes(r.read())
                    break
            except urllib.error.HTTPError as e:
                if e.code != 409 or time.time() > deadline:
                    fail(f"the receipt of entry {index}: HTTP {e.code}")
                time.sleep(1)
    finally:
        driver.quit()
    print("console-check: logged in, searched, read an account, screening and audit; a directive change refused with its line, fixed, approved by a second officer and in force")


if __name__ == "__main__":
    main()
