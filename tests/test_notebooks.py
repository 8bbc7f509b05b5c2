"""Notebook hygiene and the book pipeline's own checks."""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from rmt_lite.book import build as book

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))  # the chapters and the benchmarks page


def test_there_are_notebooks_and_each_is_in_the_toc():
    assert NOTEBOOKS
    in_toc = {p.resolve() for p in book.toc_notebooks()}
    assert {p.resolve() for p in NOTEBOOKS} == in_toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_tagged_parameters_and_holds_literals_only(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])
    names = set()
    for stmt in ast.parse(first.source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, ast.dump(stmt)
        ast.literal_eval(stmt.value)  # raises unless a literal
        names.add(stmt.targets[0].id)
    assert {"PROFILE", "SEED", "DEVICE", "RESULTS_DIR"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(path):
    """papermill silently drops a parameter line it cannot parse (e.g. a comment holding '=')."""
    import papermill

    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    names = {stmt.targets[0].id for stmt in ast.parse(first.source).body}
    assert set(papermill.inspect_notebook(str(path))) == names


def write_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def test_unknown_parameter_is_refused_before_running(tmp_path):
    cell = nbformat.v4.new_code_cell("PROFILE = 'smoke'\nSEED = 0", metadata={"tags": ["parameters"]})
    nb = write_notebook(tmp_path / "nb.ipynb", [cell])
    book.check_parameters(nb, {"PROFILE": "cpu", "SEED": 1})
    with pytest.raises(book.BookError, match=r"unknown parameter\(s\) \['SEEDS'\]"):
        book.check_parameters(nb, {"SEEDS": 1})


def test_param_parsing():
    assert book.parse_params(["SEED=3", "DEVICE=cuda", "SIZES=[1, 2]"]) == {
        "SEED": 3,
        "DEVICE": "cuda",
        "SIZES": [1, 2],
    }
    with pytest.raises(book.BookError, match="KEY=VALUE"):
        book.parse_params(["SEED"])


def test_error_outputs_and_stray_warnings_are_reported(tmp_path):
    clean = nbformat.v4.new_code_cell("1", outputs=[nbformat.v4.new_output("stream", name="stdout", text="fine\n")])
    warned = nbformat.v4.new_code_cell(
        "2", outputs=[nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something odd\n")]
    )
    failed = nbformat.v4.new_code_cell(
        "3", outputs=[nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])]
    )
    assert book.output_problems(write_notebook(tmp_path / "a.ipynb", [clean])) == []
    problems = book.output_problems(write_notebook(tmp_path / "b.ipynb", [clean, warned, failed]))
    assert len(problems) == 2
    assert "cell 1: warning" in problems[0] and "cell 2: error ValueError" in problems[1]


@pytest.mark.slow
def test_chapter_8_trains_on_hyperpartisan_files_given_as_parameters(tmp_path):
    import papermill
    from data_fixtures import write_hyperpartisan_like

    pa, pg = write_hyperpartisan_like(tmp_path / "data", n=40)
    out = tmp_path / "08.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "08_classification.ipynb"),
        str(out),
        kernel_name="rmt-book",
        parameters={"PROFILE": "smoke", "HP_ARTICLES_XML": str(pa), "HP_GROUND_TRUTH_XML": str(pg)},
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    text = "\n".join(o.get("text", "") for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []))
    assert "Hyperpartisan: skipped" not in text and "cannot switch" not in text
    assert "Hyperpartisan" in text  # its comparison sentence, printed after the runs
