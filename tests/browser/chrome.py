"""Headless Chromium for the browser checks, started the same way for each."""

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
]


def add_arguments(ap):
    """The options every check takes: the profile and where Chromium is."""
    ap.add_argument("--profile", required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--driver", default="/usr/bin/chromedriver")


def start(args, logs):
    """Chromium under chromedriver, keeping the given log kinds."""
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in FLAGS + [f"--user-data-dir={args.profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {kind: "ALL" for kind in logs})
    return webdriver.Chrome(options=options, service=Service(executable_path=args.driver))
