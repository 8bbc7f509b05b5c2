"""Build the book: execute the notebooks of ``_toc.yml`` with papermill, then Jupyter Book 1.x.

``python -m rmt_lite.book execute --profile smoke [--param KEY=VALUE ...]`` writes executed copies
under ``_build/executed`` (the sources in ``notebooks/`` stay without outputs);
``python -m rmt_lite.book build`` stages the book sources with those copies and builds
``_build/html`` with warnings as errors; ``python -m rmt_lite.book check`` opens every page in
headless Chromium and fails on what a reader must not see (one screenshot per page).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
EXECUTED = BUILD / "executed"
STAGE = BUILD / "stage"
BOOK_SOURCES = ("_config.yml", "_toc.yml", "_static", "book", "rmt_lite")  # rmt_lite: chapter 1 includes its source


class BookError(RuntimeError):
    pass


def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every ``file:`` entry of the table of contents, in order (root first)."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def toc_notebooks() -> list[Path]:
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]


def parse_params(pairs: list[str]) -> dict:
    """``KEY=VALUE`` pairs; values are Python literals when they parse as one, else strings."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise BookError(f"--param {pair!r} is not allowed: expected KEY=VALUE with KEY a Python name")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def check_parameters(notebook: Path, params: dict) -> None:
    """Every parameter must exist in the notebook's ``parameters`` cell (papermill would inject
    an unknown name silently)."""
    import papermill

    known = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise BookError(f"{notebook.name}: unknown parameter(s) {unknown}; this notebook takes {sorted(known)}")


# The set-up cell of every notebook (right after its parameters cell, hidden from the page): it is
# what a fresh Colab runtime runs before the chapter, so it must carry the repository's URL and
# branch, which live in _config.yml; `python -m rmt_lite.book colab` (make colab-cells) writes them.
SETUP_CELL_ID = "colab-setup"
SETUP_CELL = """import sys

if "google.colab" in sys.modules:   # Colab: the package, the committed results, the notebooks folder
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+{url}@{branch}"], check=True)
    from rmt_lite.book.colab import setup
    setup("{url}", "{branch}")"""


def repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The book's repository URL and branch, from ``_config.yml`` (their one place)."""
    import yaml

    repo = yaml.safe_load(config_path.read_text())["repository"]
    return repo["url"], repo["branch"]


def setup_cell_source(config_path: Path = ROOT / "_config.yml") -> str:
    url, branch = repository(config_path)
    return SETUP_CELL.format(url=url, branch=branch)


def write_setup_cells(notebooks: list[Path] | None = None) -> list[Path]:
    """Put the set-up cell, written from ``_config.yml``, after the parameters cell of every
    notebook (replacing the one there); returns the notebooks that changed."""
    import nbformat

    changed = []
    source = setup_cell_source()
    for path in notebooks if notebooks is not None else toc_notebooks():
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if c.get("id") != SETUP_CELL_ID]
        params = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        cell = nbformat.v4.new_code_cell(source, id=SETUP_CELL_ID, metadata={"tags": ["remove-cell"]})
        cells.insert(params + 1, cell)
        before = [c.get("source") for c in nb.cells]
        nb.cells = cells
        if [c.get("source") for c in nb.cells] != before:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def output_problems(notebook: Path) -> list[str]:
    """Error outputs and stray warnings (stderr text mentioning a warning) of an executed notebook."""
    import nbformat

    found = []
    for index, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {index}: error {out.get('ename')}: {out.get('evalue')}")
            elif (
                out.get("output_type") == "stream"
                and out.get("name") == "stderr"
                and "warn" in out.get("text", "").lower()
            ):
                found.append(f"cell {index}: warning on stderr: {out['text'].strip()[:300]}")
    return found


PARAMETER_TAGS = ("parameters", "injected-parameters")


def hide_parameters(notebook: Path) -> None:
    """Keep the parameters cell and the one papermill injects off the page (they are plumbing: the
    page's provenance lines say which profile and seed it ran with)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if set(tags) & set(PARAMETER_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, notebook)


def caption_images_only(notebook: Path) -> None:
    """MyST-NB wraps every display output of a cell with figure metadata (``mystnb.figure``) in a
    figure with that caption, the glue records and tables too. Move the images of such a cell into
    a cell of their own, right after it and shown without code, which alone keeps the caption."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cells = []
    for cell in nb.cells:
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure")
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if cell.cell_type != "code" or not figure or len(images) == len(cell.outputs):
            cells.append(cell)
            continue
        cell.outputs = [o for o in cell.outputs if o not in images]
        del cell.metadata["mystnb"]["figure"]
        shown = nbformat.v4.new_code_cell(
            "# the figure of the cell above (its code is there)",
            id=f"{cell.get('id', 'cell')}-fig"[:64],
            metadata={"tags": ["remove-input"], "mystnb": {"figure": figure}},
        )
        shown.outputs = images
        cells += [cell, shown]
    nb.cells = cells
    nbformat.write(nb, notebook)


def execute(params: dict, kernel: str, only: list[str] | None = None) -> None:
    import papermill

    notebooks = toc_notebooks()
    if only:  # any notebook of notebooks/, in the table of contents or not yet
        notebooks = [nb for nb in sorted((ROOT / "notebooks").glob("*.ipynb")) if nb.stem in only]
        missing = sorted(set(only) - {nb.stem for nb in notebooks})
        if missing:
            raise BookError(f"--only {missing} is not allowed: not a notebook of notebooks/")
    for nb in notebooks:  # check every notebook before running any
        check_parameters(nb, params)
    from .chapters.parameters import problems

    wrong = problems(params)  # the rules each notebook applies to itself after its parameters cell
    if wrong:
        raise BookError("--param " + "; ".join(wrong))
    EXECUTED.mkdir(parents=True, exist_ok=True)
    if params.get("PROFILE") == "smoke":  # tiny models: one thread is faster and immune to a loaded machine
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    for nb in notebooks:
        target = EXECUTED / nb.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial.ipynb")
        start = time.perf_counter()
        print(f"executing {nb.relative_to(ROOT)} with {params} ...", flush=True)
        try:
            papermill.execute_notebook(
                str(nb), str(partial), parameters=params, kernel_name=kernel, cwd=str(nb.parent), progress_bar=False
            )
        except papermill.PapermillExecutionError as err:
            raise BookError(
                f"{nb.relative_to(ROOT)} failed in cell {err.exec_count} "
                f"({err.ename}: {err.evalue}); the executed copy is {partial}"
            ) from None
        problems = output_problems(partial)
        if problems:
            raise BookError(f"{nb.relative_to(ROOT)} ran but its outputs hold: " + "; ".join(problems))
        hide_parameters(partial)
        caption_images_only(partial)
        partial.replace(target)
        print(f"  done in {time.perf_counter() - start:.0f} s -> {target.relative_to(ROOT)}", flush=True)


# MathJax served with the book (_config.yml: mathjax_path), so that maths renders offline and in the
# browser check; from the pinned django-static-mathjax package, which ships MathJax 3 (no Django needed)
MATHJAX_FILES = ("tex-chtml.js", "output/chtml", "input/tex/extensions", "ui", "a11y/assistive-mml.js")


def stage_mathjax(folder: Path) -> None:
    """Copy the parts of MathJax 3 that ``tex-chtml.js`` loads (its fonts, the TeX extensions it
    loads on demand, the menu) into ``folder``."""
    from importlib.resources import files

    es5 = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    for name in MATHJAX_FILES:
        src, dst = es5 / name, folder / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)


def build() -> Path:
    """Stage ``_config.yml``, ``_toc.yml``, ``book/`` and the executed notebooks, then build."""
    missing = [nb for nb in toc_notebooks() if not (EXECUTED / nb.relative_to(ROOT)).exists()]
    if missing:
        raise BookError(
            f"not executed yet: {[str(m.relative_to(ROOT)) for m in missing]}; "
            "run `make notebooks` (or `make book`) first"
        )
    shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir(parents=True)
    for name in BOOK_SOURCES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, STAGE / name)
    shutil.copytree(EXECUTED / "notebooks", STAGE / "notebooks")
    stage_mathjax(STAGE / "_extra" / "mathjax")  # not _static: Jupyter Book loads every script there
    html = BUILD / "html"
    shutil.rmtree(html, ignore_errors=True)
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(STAGE),
        "--path-output",
        str(BUILD / "jb"),
        "-W",
        "-n",
        "--keep-going",
    ]
    result = subprocess.run(cmd)
    if result.returncode:
        raise BookError(f"jupyter-book build failed (exit {result.returncode}); see the warnings above")
    shutil.move(str(BUILD / "jb" / "_build" / "html"), str(html))
    print(f"book: {html / 'index.html'}")
    return html


SCREENSHOTS = BUILD / "screenshots"
# what a reader must never see: a Python traceback, a parameters cell left on the page, or a glue
# role printed as text (MyST renders none inside a code span: `{glue:text}`name`` shows the markup)
PAGE_PROBLEMS_JS = """() => {
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const broken = Array.from(document.images).filter(i => i.src.startsWith('file:'))
    .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  const figures = Array.from(document.querySelectorAll('.cell_output img, .cell_output svg, figure img'))
    .filter(visible).length;
  const params = Array.from(document.querySelectorAll('.tag_parameters, .tag_injected-parameters'))
    .filter(visible).length;
  const traceback = document.body.innerText.includes('Traceback (most recent call last)');
  const glue = document.body.innerText.includes('{glue:');
  const rawMath = Array.from(document.querySelectorAll('span.math, div.math'))
    .filter(e => e.innerText.includes('\\(') || e.innerText.includes('\\[')).length;
  const column = document.querySelector('article.bd-article');
  const room = column ? column.getBoundingClientRect().width + 16 : Infinity;
  const wide = Array.from(document.querySelectorAll('article table')).filter(visible)
    .filter(t => t.innerText.trim() && t.getBoundingClientRect().width > room).length;
  // prose: visible text outside code, maths and links, where a reader meets identifiers and references
  const prose = [];
  if (column) {
    const walker = document.createTreeWalker(column, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const skip = 'code, pre, kbd, .math, .cell_input, .cell_output, script, style, .headerlink';
      if (el.closest(skip) || !visible(el)) continue;
      prose.push([n.textContent, !!el.closest('a')]);
    }
  }
  const identifiers = prose.map(([t]) => t.match(/\\b[A-Z]{2,}(?:_[A-Z0-9]+)+\\b/g) || []).flat();
  const unlinked = prose.filter(([t, link]) => !link).map(([t]) => t.match(/\\b[Cc]hapters? \\d+\\b/g) || []).flat();
  const dirty = (column ? column.innerText : '').match(/\\b[0-9a-f]{7,40}\\+dirty\\b/g) || [];
  const smoke = Array.from(document.querySelectorAll('article .cell_output')).filter(visible)
    .filter(o => /profile=smoke|smoke run/.test(o.innerText)).length;
  return {broken, figures, params, traceback, glue, rawMath, wide, identifiers, unlinked, dirty, smoke};
}"""


def _listed(values) -> str:
    return ", ".join(dict.fromkeys(values))


# what PAGE_PROBLEMS_JS found on a page -> the line that reports it
PAGE_PROBLEMS = {
    "traceback": lambda _: "a traceback is visible",
    "params": lambda _: "a parameters cell is visible",
    "glue": lambda _: "a glue role shows as text instead of its value",
    "wide": lambda n: f"{n} table(s) wider than the text column",
    "rawMath": lambda n: f"{n} formula(s) show as raw TeX (MathJax did not typeset them)",
    "identifiers": lambda found: f"code identifiers in the prose: {_listed(sorted(found))}",
    "unlinked": lambda found: f"chapter references that are not links: {_listed(found)}",
    "dirty": lambda found: f"a commit with local edits is named: {_listed(sorted(found))}",
    "smoke": lambda n: f"{n} smoke-run output(s) outside a folded block",
}


MATH_TYPESET_JS = "() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : true"


def browser() -> str:
    """The system's Chromium (the Debian package); check-book drives it with Playwright."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BookError("no Chromium found: install the Debian package `chromium` (.ci/run does when it is missing)")


REDIRECT = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def _own_error(message) -> bool:
    """A console error of the page itself, not a blocked request for something outside the book."""
    url = (message.location or {}).get("url", "")
    return message.type == "error" and not url.startswith(("http://", "https://"))


def check_pages(html: Path = BUILD / "html", shots: Path = SCREENSHOTS) -> list[str]:
    """Open every page of the built book in headless Chromium; return what is wrong with each (a
    console error, a broken image, a visible traceback, parameters cell or glue role, maths left as
    raw TeX, a table wider than the text column, a code identifier in the prose, a chapter reference
    that is not a link, a commit with local edits, smoke-run output left open, a chapter without a
    figure) and write one full-page screenshot per page under ``shots``."""
    from playwright.sync_api import sync_playwright

    pages = sorted(
        p
        for p in html.rglob("*.html")
        if not set(p.relative_to(html).parts[:1]) & {"_static", "_sources", "_images"}
        and p.name not in ("genindex.html", "search.html")
    )
    if not pages:
        raise BookError(f"no pages under {html}: run `make book` first")
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    problems = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=browser(), args=["--no-sandbox"])
        for path in pages:
            name = str(path.relative_to(html))
            redirect = REDIRECT.search(path.read_text(errors="replace"))
            if redirect:  # the book's index.html only forwards to the first page: check where to
                if not (path.parent / redirect.group(1)).exists():
                    problems.append(f"{name}: redirects to a missing page {redirect.group(1)}")
                continue
            page = chromium.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            # The check runs offline: what lives outside the book is not fetched, and the browser's
            # report of that is not a defect of the book (MathJax is served with the book).
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.on("console", lambda m, errors=errors: errors.append(m.text) if _own_error(m) else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            page.evaluate(MATH_TYPESET_JS)  # MathJax typesets after the page has loaded
            found = page.evaluate(PAGE_PROBLEMS_JS)
            page.screenshot(path=str(shots / (name.replace("/", "__")[:-5] + ".png")), full_page=True)
            page.close()
            problems += [f"{name}: console error: {e}" for e in errors]
            problems += [f"{name}: broken image {src}" for src in found["broken"]]
            problems += [f"{name}: {say(found[key])}" for key, say in PAGE_PROBLEMS.items() if found[key]]
            if name.startswith("notebooks/") and not found["figures"]:
                problems.append(f"{name}: a chapter without a figure")
        chromium.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rmt_lite.book", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute the notebooks of _toc.yml with papermill")
    ex.add_argument("--profile", default="smoke", choices=("smoke", "cpu", "paper"))
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another notebook parameter (checked against each notebook)",
    )
    ex.add_argument("--only", action="append", metavar="STEM", help="execute only these notebooks")
    ex.add_argument("--kernel", default="rmt-book")
    sub.add_parser("build", help="build _build/html from the executed notebooks")
    sub.add_parser(
        "check", help="open every page of _build/html in headless Chromium; screenshots in _build/screenshots"
    )
    sub.add_parser("colab", help="write every notebook's Colab set-up cell from _config.yml's repository")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            params = {"PROFILE": args.profile, "SEED": args.seed, **parse_params(args.param)}
            execute(params, args.kernel, args.only)
        elif args.command == "colab":
            for path in write_setup_cells():
                print(f"set-up cell written: {path.relative_to(ROOT)}")
        elif args.command == "check":
            problems = check_pages()
            for line in problems:
                print(f"check-book: {line}", file=sys.stderr)
            print(f"check-book: {len(problems)} problem(s); screenshots in {SCREENSHOTS.relative_to(ROOT)}")
            return 1 if problems else 0
        else:
            build()
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
