"""Accessibility checks of a page in the real Chromium: axe-core against
WCAG 2.2 A and AA, reflow at 320 CSS pixels, and keyboard focus.

axe-core is the copy tests/browser/lib.sh installs (`install_axe`: the
version and integrity hash tests/browser/package-lock.json pins). It is
injected through WebDriver, which the page's Content Security Policy does
not govern: the page itself still runs no script.
"""

import json
import pathlib

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

# Every WCAG 2.0, 2.1 and 2.2 success criterion of levels A and AA that axe
# tests, and its best practices (landmarks, heading order, one main, skip
# links): a violation of any of them fails the check.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# The narrowest viewport WCAG 1.4.10 (Reflow) asks content to work at.
NARROW = 320

# WCAG 1.4.11: a focus indicator contrasts at least 3:1 with what is around it.
FOCUS_CONTRAST = 3.0

_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]},
                   resultTypes: ['violations', 'incomplete']})
  .then(r => done(JSON.stringify({violations: r.violations, incomplete: r.incomplete})))
  .catch(e => done(JSON.stringify({error: String(e)})));
"""

# What is wider than the narrow viewport outside a container that scrolls,
# named for the failure message; and every container that does scroll
# sideways, with whether a keyboard user can reach and name it (focusable,
# role `region`, a label).
_OVERFLOW = """
const width = document.documentElement.clientWidth;
const name = el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
const scroller = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const inScroller = el => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (scroller(p) || getComputedStyle(p).overflowX === 'hidden') return true;
  }
  return false;
};
const all = [...document.body.querySelectorAll('*')];
return {
  scroll: document.documentElement.scrollWidth,
  client: width,
  wide: all
    .filter(el => !inScroller(el) && (el.getBoundingClientRect().right > width + 0.5
                  || (!scroller(el) && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)))
    .slice(0, 8)
    .map(el => name(el) + ' ' + Math.round(el.getBoundingClientRect().right) + 'px'),
  unreachable: all
    .filter(el => scroller(el) && el.scrollWidth > el.clientWidth + 1)
    .filter(el => !(el.tabIndex >= 0 && el.getAttribute('role') === 'region'
                    && (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'))))
    .map(name),
};
"""

# The focused element and how its focus shows: the outline's style, width
# and colour, and the background behind it (the first opaque one among the
# element's ancestors, the outline being drawn outside the element).
_FOCUS = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const s = getComputedStyle(el);
let bg = 'rgb(255, 255, 255)';
for (let p = el.parentElement; p; p = p.parentElement) {
  const c = getComputedStyle(p).backgroundColor;
  if (c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c)) { bg = c; break; }
}
const r = el.getBoundingClientRect();
return {
  tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || '').trim().slice(0, 60),
  name: el.getAttribute('name'), href: el.getAttribute('href'), cls: el.className,
  visible: el.matches(':focus-visible'),
  outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0,
  outlineColor: s.outlineColor, background: bg,
  inView: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 &&
          r.right <= window.innerWidth && r.bottom <= window.innerHeight,
};
"""


class Failure(Exception):
    """A page that fails an accessibility check, and why."""


class Checker:
    """The accessibility checks, run on each page a browser check visits."""

    def __init__(self, driver, axe_js, out):
        self.driver = driver
        self.axe = pathlib.Path(axe_js).read_text(encoding="utf-8")
        self.out = pathlib.Path(out)
        self.warnings = []
        self.pages = 0

    def page(self, name):
        """Every check of the page now shown: axe, then reflow at 320 px
        (with a screenshot, `NAME-320.png`)."""
        self.audit(name)
        self.reflow(name)
        self.pages += 1

    def audit(self, name):
        """axe-core on the page: any violation of a WCAG A/AA rule or best
        practice fails; what axe cannot decide (`incomplete`) is a warning."""
        self.driver.execute_script(self.axe)
        result = json.loads(self.driver.execute_async_script(_RUN_AXE, TAGS))
        if "error" in result:
            raise Failure(f"{name}: axe-core did not run: {result['error']}")
        if result["violations"]:
            raise Failure(f"{name}: axe-core found:\n" + describe(result["violations"]))
        for r in result["incomplete"]:
            why = next((c["message"] for n in r["nodes"] for c in n["any"] + n["all"] if c.get("message")), "")
            self.warnings.append(f"{name}: axe-core could not decide {r['id']} ({r['help']}) on "
                                 + ", ".join(" ".join(n["target"]) for n in r["nodes"][:3]) + f": {why}")

    def reflow(self, name):
        """At 320 CSS px wide the document itself does not scroll sideways
        (WCAG 1.4.10); only a container of its own (a wide table) may."""
        cdp = self.driver.execute_cdp_cmd
        cdp("Emulation.setDeviceMetricsOverride",
            {"width": NARROW, "height": 720, "deviceScaleFactor": 1, "mobile": False})
        try:
            found = self.driver.execute_script(_OVERFLOW)
            self.driver.save_screenshot(str(self.out / f"{name}-{NARROW}.png"))
        finally:
            cdp("Emulation.clearDeviceMetricsOverride", {})
        if found["scroll"] > found["client"]:
            raise Failure(f"{name}: at {NARROW} px the page is {found['scroll']} px wide; "
                          f"wider than the viewport: {found['wide']}")
        if found["unreachable"]:
            raise Failure(f"{name}: at {NARROW} px these scroll sideways but are not a labelled, "
                          f"focusable region (role, tabindex, aria-label): {found['unreachable']}")

    def tab(self, backwards=False):
        """One press of Tab (Shift+Tab backwards) and what then has focus,
        which must show it (:focus-visible, an outline of at least 2 px
        contrasting 3:1 with the background, in view)."""
        chain = ActionChains(self.driver)
        if backwards:
            chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
        else:
            chain.send_keys(Keys.TAB)
        chain.perform()
        focus = self.driver.execute_script(_FOCUS)
        if focus is None:
            return None
        where = f"{focus['tag']} {focus['text'] or focus['name'] or focus['href']!r}"
        if not focus["visible"]:
            raise Failure(f"keyboard focus on {where} does not match :focus-visible")
        if focus["outlineStyle"] == "none" or focus["outlineWidth"] < 2:
            raise Failure(f"keyboard focus on {where} shows no outline of 2 px or more: "
                          f"{focus['outlineStyle']} {focus['outlineWidth']} px")
        ratio = contrast(focus["outlineColor"], focus["background"])
        if ratio < FOCUS_CONTRAST:
            raise Failure(f"keyboard focus on {where}: the outline {focus['outlineColor']} "
                          f"contrasts {ratio:.2f}:1 with {focus['background']}, under {FOCUS_CONTRAST}:1")
        if not focus["inView"]:
            raise Failure(f"keyboard focus on {where} is outside the viewport")
        return focus

    def tab_to(self, wanted, what, presses=40):
        """Tab until `wanted(focus)` holds, checking each stop's focus."""
        seen = []
        for _ in range(presses):
            focus = self.tab()
            if focus is not None and wanted(focus):
                return focus
            seen.append(focus and f"{focus['tag']} {focus['text'] or focus['name']!r}")
        raise Failure(f"{what} is not reached by Tab in {presses} presses; focus went: {seen}")

    def press(self, key):
        """A key pressed on whatever has focus."""
        ActionChains(self.driver).send_keys(key).perform()


def describe(violations):
    """axe's violations as lines: rule, impact, help, and where."""
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']} [{', '.join(v['tags'])}]")
        for n in v["nodes"][:5]:
            why = " ".join(line.strip() for line in n.get("failureSummary", "").splitlines()[1:])
            lines.append(f"    at {' '.join(n['target'])}: {why[:300]}")
    return "\n".join(lines)


def _rgb(css):
    parts = css[css.index("(") + 1:css.index(")")].split(",")
    return [float(p) for p in parts[:3]]


def _luminance(rgb):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    """The WCAG contrast ratio of two CSS `rgb()`/`rgba()` colours."""
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)
