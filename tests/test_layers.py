"""The two floors: the library never imports the chapters' helpers or the figures; the figures
never train, evaluate or read records (they draw what the chapters hand them)."""

import ast
from pathlib import Path

import rmt_lite

PACKAGE = Path(rmt_lite.__file__).parent
UPPER = {"chapters", "plots", "book", "colab"}  # the book's floor and its tooling
# what a figure module may not import: training, evaluation, records, claims, the chapters' helpers
NOT_FOR_PLOTS = {"chapters", "trainer", "evaluate", "records", "claims", "experiments", "runner", "reproduce"}


def imported_submodules(source: str, here: tuple[str, ...]) -> set[str]:
    """The rmt_lite submodules (first name below the package) that a module imports, relative or
    absolute; ``here``: the module's folders below the package (``("plots",)`` for plots/lm.py)."""
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names if a.name.startswith("rmt_lite.")]
            found |= {n[1] for n in names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's folder
                base = list(here[: len(here) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "rmt_lite":
                parts = node.module.split(".")[1:]
            else:
                continue
            if parts:
                found.add(parts[0])
            else:  # from . import x, y
                found |= {a.name for a in node.names}
    return found


def imports_of(path: Path) -> set[str]:
    return imported_submodules(path.read_text(), path.relative_to(PACKAGE).parts[:-1])


def modules(*floors: str) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0].removesuffix(".py") in floors)


def library_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0].removesuffix(".py") not in UPPER)


def test_the_library_never_imports_the_chapters_or_the_figures():
    assert len(library_modules()) > 10
    offenders = {str(p.relative_to(PACKAGE)): sorted(imports_of(p) & {"chapters", "plots"}) for p in library_modules()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_figure_modules_only_draw():
    plots = modules("plots")
    assert len(plots) >= 5
    offenders = {str(p.relative_to(PACKAGE)): sorted(imports_of(p) & NOT_FOR_PLOTS) for p in plots}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_finder_sees_relative_and_absolute_imports():
    source = "from ..chapters import runs\nfrom rmt_lite.trainer import x\nimport rmt_lite.claims\n"
    source += "from . import stamp\n"
    assert imported_submodules(source, ("plots",)) == {"chapters", "trainer", "claims", "plots"}
    assert imported_submodules("from . import paper\nfrom .config import X\n", ()) == {"paper", "config"}
