"""Headless Chromium for the page tests: Debian's browser driven by Playwright, axe-core
injected from node_modules, and screenshots kept under test-output/ for a reviewer."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


# Runs in every document before its own content, whatever the page's CSP (init scripts come
# from the browser, not the page): each violation Chromium reports is handed to Python.
WATCH_CSP = """document.addEventListener("securitypolicyviolation", (e) => window.abiertoCspViolation({
  page: document.location.href, directive: e.effectiveDirective, blocked: e.blockedURI,
  source: e.sourceFile, line: e.lineNumber, sample: e.sample}));"""


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


def watch_csp(page):
    """The list that every CSP violation on any document `page` shows is appended to."""
    found = []
    page.expose_binding("abiertoCspViolation", lambda _source, report: found.append(report))
    page.add_init_script(WATCH_CSP)
    return found


def axe_violations(page):
    """WCAG 2.x A/AA violations on the page as axe-core reports them."""
    # Evaluated by the browser, not added as an inline <script>, which the pages' CSP refuses.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]]


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def explain(violations):
    return json.dumps(violations, indent=1, ensure_ascii=False)
