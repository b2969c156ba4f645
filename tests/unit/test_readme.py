"""The README tells the truth about what the code generates."""
from pathlib import Path

from shared.events import markdown_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_event_catalogue_in_readme_matches_the_schemas():
    """The README's event table is exactly what `abierto events` prints."""
    table = README.split("<!-- events:begin -->\n")[1].split("\n<!-- events:end -->")[0]
    assert table == markdown_table()


def test_readme_names_every_process_of_the_procfile():
    """Each process the local run starts is explained in the README."""
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text().splitlines()
    for name in (line.split(":")[0] for line in procfile if line.strip()):
        assert f"`{name}`" in README
