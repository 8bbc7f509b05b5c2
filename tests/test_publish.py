"""Publishing: the workflows call the README's commands and deploy the book; the repository URL
lives in _config.yml and every copy of it agrees; the Colab set-up works on a fresh clone."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from rmt_lite.book import build as book
from rmt_lite.book.colab import setup

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def _steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def test_the_book_workflow_runs_the_readme_commands_and_deploys_the_html():
    flow = _load("book.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert {"pages": "write", "id-token": "write"}.items() <= flow["permissions"].items()
    runs = [s.get("run", "") for s in _steps(flow)]
    readme = (ROOT / "README.md").read_text()
    for command in ("make book", "make test"):
        assert command in runs and f"{command} " in readme
    uploads = [s for s in _steps(flow) if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(uploads) == 1 and uploads[0]["with"]["path"] == "_build/html"
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])


def test_pull_requests_run_the_ci_script():
    flow = _load("ci.yml")
    assert "pull_request" in flow["on"]
    assert "bash .ci/run" in [s.get("run", "") for s in _steps(flow)]
    assert "make test" in (ROOT / ".ci" / "run").read_text() and "make book" in (ROOT / ".ci" / "run").read_text()


def test_every_notebook_carries_the_set_up_cell_written_from_config():
    url, branch = book.repository()
    assert url.startswith("https://github.com/") and branch
    expected = book.setup_cell_source()
    for path in book.toc_notebooks():
        cells = nbformat.read(path, as_version=4).cells
        found = [c for c in cells if c.get("id") == book.SETUP_CELL_ID]
        assert len(found) == 1, f"{path.name}: run `make colab-cells`"
        assert found[0].source == expected, (
            f"{path.name}: its set-up cell disagrees with _config.yml; run `make colab-cells`"
        )
        assert "remove-cell" in found[0].metadata.get("tags", [])
        params = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        assert cells[params + 1] is found[0]
    assert url in (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_the_colab_set_up_clones_the_book_and_finds_the_committed_records(tmp_path):
    origin = tmp_path / "origin"  # a clone with a branch of its own, as the remote
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(origin)], check=True)
    subprocess.run(["git", "-C", str(origin), "checkout", "--quiet", "-b", "book"], check=True)
    before = os.getcwd()
    try:
        where = setup(f"file://{origin}", "book", tmp_path / "runtime")
        assert Path.cwd() == where / "notebooks"
        assert (
            subprocess.run(
                ["git", "-C", str(where), "rev-list", "--count", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
            == "1"
        )  # shallow
        probe = (
            "import rmt_lite; from rmt_lite import load_records; "
            "print(rmt_lite.__file__); print(len(load_records('../results')))"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(where)},
        ).stdout.split()
        assert out[0].startswith(str(where)) and int(out[1]) > 0
        assert setup(f"file://{origin}", "book", tmp_path / "runtime") == where  # a second call reuses it
    finally:
        os.chdir(before)


def test_the_colab_set_up_refuses_a_folder_that_is_not_a_clone(tmp_path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(ValueError, match="where=.* is not allowed: it exists and is not a clone"):
        setup("file:///nowhere", "main", tmp_path)
