"""How a table looks in the book: no index column, no NaN, numbers to a few digits, an optional
caption above it saying where the numbers come from."""

from __future__ import annotations

import pandas as pd


def table(df: pd.DataFrame, caption: str | None = None, *, digits: int = 3, formats: dict | None = None):
    """A pandas Styler of ``df`` for a page: floats to ``digits`` decimals (``formats`` maps a
    column to its own format string or function), missing values as a dash, no index column,
    readable cell padding, and ``caption`` above the table."""
    floats = df.select_dtypes("float").columns
    fmt = {c: f"{{:.{digits}f}}" for c in floats} | dict(formats or {})
    st = df.style.format(fmt, na_rep="–").hide(axis="index")
    styles = [{"selector": "th, td", "props": [("padding", "0.15em 0.7em"), ("text-align", "left")]}]
    if caption:
        st = st.set_caption(caption)
        styles.append(
            {"selector": "caption", "props": [("caption-side", "top"), ("font-size", "0.85em"), ("color", "#555")]}
        )
    return st.set_table_styles(styles)
