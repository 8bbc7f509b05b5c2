"""Chapter 10's first table: every claim at a glance, with a link to the chapter that shows it."""

from __future__ import annotations

import html

import pandas as pd

from .tables import table as styled

# claim number -> (short title, the notebook that shows it; "" = the details on chapter 10 itself)
CLAIMS = {
    1: ("A segmented transformer is at chance on copy and reverse", "02_copy_reverse"),
    2: ("RMT matches or beats Transformer-XL at equal memory; the gap grows with segments", "02_copy_reverse"),
    3: ("Memory at the start only (MT) is no better than none", "02_copy_reverse"),
    4: ("Retrieval: both near 1.0 with 2 segments, RMT ahead with 3", "03_retrieval"),
    5: (
        "Quadratic equations: RMT above Transformer-XL, close to the whole-sample transformer",
        "05_quadratic_equations",
    ),
    6: ("Language modelling: RMT beats the transformer, matches Transformer-XL", "06_language_modelling"),
    7: ("BPTT depth 1 or more beats depth 0", "06_language_modelling"),
    8: ("Long documents: memory beats truncation", "08_classification"),
    9: ("Longer samples at a fixed segment (Fig. 5): RMT level with or ahead of Transformer-XL", "04_longer_sequences"),
    10: ("Samples up to twice as long as trained on (the needle: more segments, the same content each)", "09_needle"),
    11: ("Beyond the paper: a needle far beyond the trained length", "09_needle"),
    12: ("Memory tokens improve Transformer-XL (rmt_xl)", ""),
    13: ("Not the paper's: copy and reverse twice as long with the memory fixed (capacity)", "04_longer_sequences"),
}
DETAILS = "#the-claims-in-full"
VERDICTS = "10_claims"  # the chapter that holds the details


def summary(table: pd.DataFrame, links: str = "") -> pd.DataFrame:
    """One row per claim of ``rmt_lite.repro.claims.claims_table``: the claim (linked to its chapter;
    ``links`` is the path from the page to the chapters' folder), the paper's deciding number, ours
    (mean ± standard deviation over seeds), the verdict and how our setting differs from the
    paper's where that may decide it."""
    rows = []
    for number, row in table.iterrows():
        title, notebook = CLAIMS.get(number, (row["claim"], ""))
        href = f"{links}{notebook}.html" if notebook else (f"{links}{VERDICTS}.html" if links else "") + DETAILS
        rows.append(
            {
                "#": number,
                "claim": f'<a href="{href}">{html.escape(title)}</a>',
                "paper": html.escape(row["paper_short"]),
                "ours": html.escape(row["ours_short"]),
                "verdict": f"<b>{html.escape(row['verdict'])}</b>",
                "where it may come from": html.escape(row["differs"]),
            }
        )
    return pd.DataFrame(rows)


def show(table: pd.DataFrame, links: str = ""):
    """:func:`summary` as a page table that fits the text column: small type, text wrapped."""
    st = styled(summary(table, links))
    return st.set_table_styles(
        [
            {
                "selector": "th, td",
                "props": [("font-size", "0.78em"), ("white-space", "normal"), ("vertical-align", "top")],
            }
        ],
        overwrite=False,
    )
