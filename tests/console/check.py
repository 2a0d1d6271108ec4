"""Drives the compliance console in headless Chromium, as its users would.

    python check.py --url URL --gateway URL --keys FILE --axe AXE_JS \
        --user NAME --password PW --officer NAME --officer-password PW \
        --reviewer NAME --reviewer-password PW --directive FILE --out DIR --profile DIR

Every page visited (`page`) must render with its heading, no browser error
(a CSP violation is one) and no script, pass axe-core on WCAG 2.2 A/AA and
best practices, and reflow at 320 CSS px without sideways scrolling; a
screenshot of each, at full width and at 320 px, is saved in DIR.

The administrator logs in and finds the `unverified` account with the
keyboard alone (the skip link first, a visible focus at every stop), sees
why it is refused, records a verification by hand and sees the gateway let
it through; proposes a directive change that fails its check, then fixed. A
reviewer clears the demo's pending screening hit and the gateway lets that
account through too. A second officer approves the change for three days
later and sees it scheduled on the overview, then finds a
decision in the audit log and downloads its receipt.
"""

import argparse
import datetime
import json
import pathlib
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "browser"))
import a11y  # noqa: E402  (tests/browser/a11y.py)
import chrome  # noqa: E402  (tests/browser/chrome.py)
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait


def fail(message):
    print(f"console-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def gateway_status(gateway, key, model):
    """The demo gateway's status for a chat request with `key`."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hello"}]}).encode()
    request = urllib.request.Request(
        gateway.rstrip("/") + "/v1/chat/completions", data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--officer", required=True)
    ap.add_argument("--officer-password", required=True)
    ap.add_argument("--reviewer", required=True)
    ap.add_argument("--reviewer-password", required=True)
    ap.add_argument("--directive", required=True)
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--axe", required=True)
    ap.add_argument("--out", required=True)
    chrome.add_arguments(ap)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    keys = json.loads(pathlib.Path(args.keys).read_text(encoding="utf-8"))

    driver = chrome.start(args, ["browser"])
    access = a11y.Checker(driver, args.axe, out)
    try:
        def heading_now():
            try:
                return driver.find_element(By.TAG_NAME, "h1").text
            except WebDriverException:
                # Between pages: no element yet, a stale one, or a document
                # being replaced.
                return None

        def page(name, heading):
            # Every page the check visits comes through here, so a page
            # added to the console is held to all of this by visiting it.
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
            try:
                access.page(name)
            except a11y.Failure as e:
                fail(str(e))
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            if errors:
                fail(f"{name}: the browser logged {errors} while axe-core ran")

        def replaced(element):
            # A page answered under the same heading as the one before:
            # the old page goes first.
            WebDriverWait(driver, 10).until(staleness_of(element))

        def keyboard(step):
            try:
                return step()
            except a11y.Failure as e:
                fail(f"keyboard: {e}")

        def typed(text):
            ActionChains(driver).send_keys(text).perform()

        def what_if(name, country):
            driver.find_element(By.NAME, "country").send_keys(country)
            driver.find_element(By.XPATH, "//button[text()='Decide without saving']").click()
            page(name, "What if")
            decision = driver.find_element(By.CSS_SELECTOR, "main pre:last-of-type").text
            driver.find_element(By.CSS_SELECTOR, "main p a").click()
            page(f"{name}-back", "Account unverified")
            return decision

        # The keyboard alone: log in, then find the account.
        driver.get(args.url)
        page("login", "Cordon console")
        first = keyboard(access.tab)
        if not first or "skip" not in first["cls"] or first["href"] != "#main":
            fail(f"keyboard: the first stop on the login page is not the skip link: {first}")
        keyboard(lambda: access.tab_to(lambda f: f["name"] == "username", "the user name"))
        typed(args.user)
        keyboard(lambda: access.tab_to(lambda f: f["name"] == "password", "the password"))
        typed(args.password)
        access.press(Keys.ENTER)
        page("overview", "Overview")
        if "foreign-national-frontier-2026" not in driver.page_source:
            fail("the overview does not list the foreign-national directive")

        keyboard(lambda: access.tab_to(lambda f: f["tag"] == "a" and f["text"] == "Accounts", "the Accounts link"))
        access.press(Keys.ENTER)
        page("accounts", "Accounts")
        first = keyboard(access.tab)
        if not first or first["text"] != "Skip to content":
            fail(f"keyboard: the first stop on the accounts page is not the skip link: {first}")
        driver.save_screenshot(str(out / "accounts-skip-link-focused.png"))
        access.press(Keys.ENTER)
        after_skip = keyboard(access.tab)
        if not after_skip or after_skip["name"] != "q":
            fail(f"keyboard: after the skip link focus is not on the search box: {after_skip}")
        driver.save_screenshot(str(out / "accounts-search-focused.png"))
        typed("unverified")
        box = driver.find_element(By.NAME, "q")
        access.press(Keys.ENTER)
        replaced(box)
        page("search", "Accounts")
        keyboard(lambda: access.tab_to(
            lambda f: f["tag"] == "a" and (f["href"] or "").endswith("/accounts/unverified"), "the account's link"))
        access.press(Keys.ENTER)
        page("account", "Account unverified")
        text = driver.find_element(By.TAG_NAME, "main").text
        # Why it is refused: only self-declared, and the gateway asked for
        # verification (run.sh sent its request first).
        if "self_declared" not in text or "signup-form" not in text:
            fail(f"the account page does not show its verification and source: {text[:400]}")
        if "verification_required" not in text:
            fail(f"the account page does not show its request refused for verification: {text[:600]}")
        decision = what_if("what-if-before", "US")
        if "verification_required" not in decision or "verify:          subject.citizenships" not in decision:
            fail(f"what if does not say the account must verify its citizenships: {decision[:600]}")

        # A verification recorded by hand, then the gateway lets it through.
        Select(driver.find_element(By.NAME, "verification")).select_by_value("document_verified")
        driver.find_element(By.NAME, "citizenships").send_keys("FR, US")
        driver.find_element(By.NAME, "how").send_keys("French and U.S. passports seen in person")
        button = driver.find_element(By.XPATH, "//button[text()='Record the verification']")
        button.click()
        replaced(button)
        page("account-verified", "Account unverified")
        text = driver.find_element(By.TAG_NAME, "main").text
        if f"console:{args.user}" not in text or "document_verified" not in text:
            fail(f"the account page does not show the verification recorded by hand: {text[:600]}")
        decision = what_if("what-if-after", "US")
        if not decision.startswith("effect:") or decision.splitlines()[0].split()[-1] != "allow":
            fail(f"what if does not allow the verified account: {decision[:600]}")
        status = gateway_status(args.gateway, keys["unverified"], "fable-5")
        if status != 200:
            fail(f"the gateway answers {status} to the account verified by hand, not 200")

        driver.find_element(By.LINK_TEXT, "Screening").click()
        page("screening", "Screening review")
        driver.find_element(By.LINK_TEXT, "Audit").click()
        page("audit", "Audit log")
        if "decision" not in driver.page_source and "change:" not in driver.page_source:
            fail("the audit page lists no entry")

        # One directive: its citation, the decisions it made lately, its source.
        driver.find_element(By.LINK_TEXT, "Directives").click()
        page("directives-index", "Directives")
        driver.find_element(By.PARTIAL_LINK_TEXT, "foreign-national-frontier-2026").click()
        page("directive", "foreign-national-frontier-2026")
        if "Decisions lately" not in driver.page_source or "verification_required" not in driver.page_source:
            fail("the order's page does not list the refusal it made lately")

        # A directive change: first with a mistake, then fixed.
        original = pathlib.Path(args.directive).read_text(encoding="utf-8")
        name = pathlib.Path(args.directive).name
        broken = original.replace('mode = "enforced"', 'mode = "enforcd"')
        # Fixed, in shadow with a fresh grace period, which must outlast the
        # later effective time the approver gives it.
        grace = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=17)).strftime("%Y-%m-%dT00:00:00Z")
        fixed = original.replace('mode = "enforced"', 'mode = "shadow"')
        fixed = fixed.replace("grace_until = 2026-12-04T00:00:00Z", f"grace_until = {grace}")
        if grace not in fixed:
            fail("the directive's grace period was not found to move")

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

        # A reviewer clears the demo's pending screening hit: a common name
        # like a listed one's, not the listed party.
        if gateway_status(args.gateway, keys["ali-hassan"], "fable-5") != 451:
            fail("the account with a pending screening hit is not held for review")
        driver.find_element(By.NAME, "username").send_keys(args.reviewer)
        driver.find_element(By.NAME, "password").send_keys(args.reviewer_password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        page("reviewer-overview", "Overview")
        driver.find_element(By.LINK_TEXT, "Screening").click()
        page("screening-pending", "Screening review")
        held = "//section[.//a[text()='ali-hassan']]"
        hits = driver.find_elements(By.XPATH, held)
        if not hits:
            fail("the screening queue does not list the demo's pending hit")
        for n in range(len(hits)):
            hit = driver.find_element(By.XPATH, held)
            Select(hit.find_element(By.NAME, "decision")).select_by_value("cleared")
            hit.find_element(By.NAME, "note").send_keys("Not the listed party: born 1990 in Ohio, a U.S. citizen")
            hit.find_element(By.TAG_NAME, "button").click()
            replaced(hit)
            page(f"screening-cleared-{n + 1}", "Screening review")
        if driver.find_elements(By.XPATH, held):
            fail("a cleared hit is still awaiting review")
        status = gateway_status(args.gateway, keys["ali-hassan"], "fable-5")
        if status != 200:
            fail(f"the gateway answers {status} once the hit is cleared, not 200")
        driver.find_element(By.CSS_SELECTOR, "form.who button").click()
        page("reviewer-logged-out", "Cordon console")

        # The second officer approves.
        driver.find_element(By.NAME, "username").send_keys(args.officer)
        driver.find_element(By.NAME, "password").send_keys(args.officer_password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        page("officer-overview", "Overview")
        driver.get(proposal_url)
        # Scheduled three days out: the overview must count down to it.
        later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
        field = driver.find_element(By.NAME, "effective")
        driver.execute_script("arguments[0].value = arguments[1];", field, later)
        driver.find_element(By.XPATH, "//button[text()='Approve and apply']").click()
        page("approved", heading)
        if f"approved by {args.officer}" not in driver.page_source:
            fail("the approval is not shown")
        driver.find_element(By.LINK_TEXT, "Overview").click()
        page("overview-after", "Overview")
        row = driver.find_element(By.XPATH, "//tr[td/strong[text()='foreign-national-frontier-2026']]").text
        if "shadow" not in row or "scheduled" not in row:
            fail(f"the approved change is not scheduled in shadow: {row}")

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

        # axe-core ran on every page without lifting the CSP: an inline
        # style put in now is still refused, and the refusal still reaches
        # the log the pages are checked against.
        driver.execute_script("const s = document.createElement('style');"
                              "s.textContent = 'body { color: red }'; document.head.appendChild(s);")
        try:
            WebDriverWait(driver, 5).until(
                lambda d: [e for e in d.get_log("browser")
                           if e["level"] == "SEVERE" and "Content Security Policy" in e["message"]])
        except WebDriverException:
            fail("an inline style is not refused by the CSP after axe-core ran")
    finally:
        driver.quit()
    for w in access.warnings:
        print(f"console-check: warning: {w}", file=sys.stderr)
    print(f"console-check: {access.pages} pages pass axe-core (WCAG 2.2 A/AA, best practices) and reflow at "
          f"{a11y.NARROW} px; logged in and found an account with the keyboard alone; an account verified by "
          "hand and let through, a screening hit cleared and let through; a directive change refused with its "
          "line, fixed, approved by a second officer and scheduled")


if __name__ == "__main__":
    main()
