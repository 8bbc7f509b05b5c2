"""make check-book: the browser check finds what a reader must not see (headless Chromium)."""

import shutil

import pytest

from rmt_lite.book import build as book

needs_browser = pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium on this machine (.ci/run installs it)",
)

PNG = bytes.fromhex(  # a 1x1 image
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101001825dd5a0000000049454e44ae426082"
)


def page(body: str) -> str:
    return f"<html><body>{body}</body></html>"


def book_folder(tmp_path):
    """An empty built book (html/notebooks/), its screenshot folder and a cell output with a figure."""
    html, shots = tmp_path / "html", tmp_path / "shots"
    (html / "notebooks").mkdir(parents=True)
    (html / "fig.png").write_bytes(PNG)
    return html, shots, '<div class="cell_output"><img src="../fig.png"></div>'


def assert_reported(problems: list[str], expected: list[tuple[str, str]]) -> None:
    """Every (notebook page, words) of ``expected`` is among the lines check_pages reported."""
    for name, what in expected:
        assert any(p.startswith(f"notebooks/{name}.html: ") and what in p for p in problems), (name, problems)


@needs_browser
def test_every_problem_is_reported_and_every_page_screenshotted(tmp_path):
    html, shots, figure = book_folder(tmp_path)
    # outside the book (a CDN): not fetched offline, and not a defect of the book
    (html / "index.html").write_text(page('<p>Intro</p><script src="https://cdn.example.org/mathjax.js"></script>'))
    (html / "notebooks" / "01_good.html").write_text(page(figure))
    (html / "notebooks" / "02_no_figure.html").write_text(page("<p>text only</p>"))
    (html / "notebooks" / "03_broken.html").write_text(page(figure + '<img src="missing.png">'))
    (html / "notebooks" / "04_console.html").write_text(page(figure + "<script>console.error('boom')</script>"))
    (html / "notebooks" / "05_params.html").write_text(page(figure + '<div class="tag_parameters">PROFILE = 1</div>'))
    (html / "notebooks" / "06_traceback.html").write_text(
        page(figure + "<pre>Traceback (most recent call last):</pre>")
    )
    (html / "notebooks" / "08_glue.html").write_text(
        page(figure + '<p>a <code><span class="pre">{glue:text}</span></code>seed`` run</p>')
    )
    (html / "notebooks" / "09_tex.html").write_text(  # no MathJax served: the formula stays TeX
        page(figure + r'<p>layer <span class="math notranslate nohighlight">\(l+1\)</span></p>')
    )
    cells = "".join(f"<td>column {i} of a run table</td>" for i in range(30))
    (html / "notebooks" / "10_wide.html").write_text(
        page(f'<article class="bd-article" style="width:600px">{figure}<table><tr>{cells}</tr></table></article>')
    )
    (html / "notebooks" / "07_hidden.html").write_text(  # removed from view: not a problem
        page(figure + '<div class="tag_parameters" style="display:none">PROFILE = 1</div>')
    )
    problems = book.check_pages(html, shots)
    assert {p.split(":")[0] for p in problems} == {
        f"notebooks/0{i}_{n}.html"
        for i, n in [(2, "no_figure"), (3, "broken"), (4, "console"), (5, "params"), (6, "traceback"), (8, "glue")]
    } | {"notebooks/09_tex.html", "notebooks/10_wide.html"}, problems
    assert_reported(
        problems,
        [
            ("02_no_figure", "without a figure"),
            ("03_broken", "broken image"),
            ("04_console", "console error: boom"),
            ("05_params", "parameters cell is visible"),
            ("06_traceback", "traceback is visible"),
            ("08_glue", "glue role shows as text"),
            ("09_tex", "1 formula(s) show as raw TeX"),
            ("10_wide", "1 table(s) wider than the text column"),
        ],
    )
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        ["index.png"] + [f"notebooks__{p.stem}.png" for p in (html / "notebooks").glob("*.html")]
    )


@needs_browser
def test_the_prose_names_no_identifier_no_edited_commit_and_links_its_chapters(tmp_path):
    html, shots, figure = book_folder(tmp_path)

    def article(body: str) -> str:
        return page(f'<article class="bd-article">{figure}{body}</article>')

    pages = {
        "01_clean": article(  # identifiers in code, a linked chapter, smoke output folded: all fine
            '<p>Pass <code><span class="pre">ENWIK8_PATH</span></code>; see <a href="x.html">chapter 2</a>; '
            "memory M_0.</p><details><summary>Run it</summary>"
            '<div class="cell_output"><pre>this run: profile=smoke</pre></div></details>'
        ),
        "02_identifier": article("<p>each model of FRESH_MODELS is trained</p>"),
        "03_unlinked": article("<p>as chapter 4 shows</p>"),
        "04_dirty": article("<table><caption>3 runs, commits 1465d1c+dirty</caption><tr><td>1</td></tr></table>"),
        "05_smoke": article('<div class="cell_output"><pre>this run: profile=smoke, seed=0</pre></div>'),
    }
    for name, body in pages.items():
        (html / "notebooks" / f"{name}.html").write_text(body)
    problems = book.check_pages(html, shots)
    assert sorted({p.split(":")[0] for p in problems}) == [f"notebooks/{n}.html" for n in sorted(pages)[1:]], problems
    assert_reported(
        problems,
        [
            ("02_identifier", "code identifiers in the prose: FRESH_MODELS"),
            ("03_unlinked", "not links: chapter 4"),
            ("04_dirty", "local edits is named: 1465d1c+dirty"),
            ("05_smoke", "1 smoke-run output(s) outside a folded block"),
        ],
    )


def test_an_unbuilt_book_is_an_error(tmp_path):
    with pytest.raises(book.BookError, match="no pages"):
        book.check_pages(tmp_path, tmp_path / "shots")


def test_a_caption_goes_to_the_images_of_a_cell_only(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    image = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    status = nbformat.v4.new_output("display_data", data={"text/markdown": "**committed runs**"})
    cell = nbformat.v4.new_code_cell("fig = plot()", metadata={"mystnb": {"figure": {"caption": "A curve."}}})
    cell.outputs = [status, image]
    plain = nbformat.v4.new_code_cell("fig = other()", metadata={"mystnb": {"figure": {"caption": "Only a figure."}}})
    plain.outputs = [image]
    nb.cells = [cell, plain]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    book.caption_images_only(path)
    code, figure, alone = nbformat.read(path, as_version=4).cells
    assert code.outputs == [status] and "figure" not in code.metadata.get("mystnb", {})
    assert figure.outputs == [image] and figure.metadata["mystnb"]["figure"]["caption"] == "A curve."
    assert "remove-input" in figure.metadata["tags"]
    assert alone.outputs == [image] and alone.metadata["mystnb"]["figure"]["caption"] == "Only a figure."
