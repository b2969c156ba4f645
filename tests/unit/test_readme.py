"""The README and docs/ tell the truth about what the code generates and runs, and their links lead somewhere."""
import re
from pathlib import Path

from shared.events import markdown_table

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DOC = (ROOT / "docs" / "events.md").read_text()
OPERATIONS_DOC = (ROOT / "docs" / "operations.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_event_catalogue_in_the_docs_matches_the_schemas():
    """docs/events.md's event table is exactly what `abierto events` prints."""
    table = EVENTS_DOC.split("<!-- events:begin -->\n")[1].split("\n<!-- events:end -->")[0]
    assert table == markdown_table()


def test_operations_doc_names_every_process_of_the_procfile():
    """Each process the local run starts is explained in docs/operations.md's processes table."""
    processes = OPERATIONS_DOC.split("\n## Processes\n")[1].split("\n## ")[0]
    procfile = (ROOT / "Procfile").read_text().splitlines()
    for name in (line.split(":")[0] for line in procfile if line.strip()):
        assert f"`{name}`" in processes


def _anchors(page):
    """The anchors GitHub makes from a page's headings."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_links_in_readme_and_docs_lead_to_files_and_headings_that_exist():
    """Every relative link in the README and docs/ reaches a file, and a heading when it names one."""
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            if "://" in target:
                continue
            linked = (page.parent / target) if target else page
            assert linked.exists(), f"{page.relative_to(ROOT)} links to {target}"
            if anchor:
                assert anchor in _anchors(linked), f"{page.relative_to(ROOT)} links to {target}#{anchor}"
