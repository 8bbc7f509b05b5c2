"""Chapter 10's first table: one row per claim, linked to a chapter that exists."""

from pathlib import Path

import pandas as pd

from rmt_lite.book.chapters import verdicts
from rmt_lite.repro import claims

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_every_claim_has_a_short_title_and_a_chapter_that_exists():
    assert set(verdicts.CLAIMS) == set(range(1, len(claims.CLAIMS) + 1))
    for title, notebook in verdicts.CLAIMS.values():
        assert title and (not notebook or (NOTEBOOKS / f"{notebook}.ipynb").exists()), notebook


def test_the_summary_links_each_claim_and_escapes_the_text():
    table = claims.claims_table(pd.DataFrame())
    table.loc[1, "differs"] = "memory <5>"
    out = verdicts.summary(table)
    assert list(out["#"]) == list(table.index)
    assert out.loc[1, "claim"].startswith('<a href="02_copy_reverse.html">')
    assert out.loc[11, "claim"].startswith(f'<a href="{verdicts.DETAILS}">')
    assert out.loc[0, "where it may come from"] == "memory &lt;5&gt;"
    assert (out["verdict"] == f"<b>{claims.NOT_RUN}</b>").all()


def test_from_another_page_the_links_reach_the_chapters_folder():
    out = verdicts.summary(claims.claims_table(pd.DataFrame()), links="../notebooks/")
    assert out.loc[0, "claim"].startswith('<a href="../notebooks/02_copy_reverse.html">')
    assert out.loc[11, "claim"].startswith(f'<a href="../notebooks/{verdicts.VERDICTS}.html{verdicts.DETAILS}">')
    assert (NOTEBOOKS / f"{verdicts.VERDICTS}.ipynb").exists()
