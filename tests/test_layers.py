"""The package's floors, bottom to top: the core (the modules at the top of ``rmt_lite``: model,
runner, trainer, runs, records, ...), the reproduction (``rmt_lite.repro``), then the book
(``rmt_lite.book``); the tools (``rmt_lite.tools``) stand beside the reproduction. A floor imports
only the floors below it, the figures (``rmt_lite.book.plots``) only draw, and the package's
``__init__`` imports the core plus the book's experiments (data) into the registry."""

import ast
import re
from pathlib import Path

import rmt_lite

PACKAGE = Path(rmt_lite.__file__).parent
FLOORS = {"core": 0, "repro": 1, "tools": 1, "book": 2}
# below each floor: what it may import
MAY_IMPORT = {"core": {"core"}, "repro": {"core", "repro"}, "tools": {"core", "tools"}, "book": set(FLOORS)}
# what a figure module may not import: training, evaluation, records, the reproduction, the chapters
NOT_FOR_PLOTS = ("trainer", "runs", "regimes", "evaluate", "records", "runner", "run_config", "repro", "book.chapters")


def imported_modules(source: str, here: tuple[str, ...]) -> set[str]:
    """The rmt_lite modules a module imports, dotted below the package (``"repro.claims"``,
    ``"trainer"``), relative or absolute; ``here``: the module's folders below the package
    (``("book", "plots")`` for book/plots/lm.py). ``from p import x`` names the module ``p.x`` where
    the package ``p`` has one, else ``p``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names if a.name.startswith("rmt_lite.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's folder
                parts = list(here[: len(here) - node.level + 1]) + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "rmt_lite":
                parts = node.module.split(".")[1:]
            else:
                continue
            for a in node.names:  # from <package> import x: the submodule x where there is one
                sub = PACKAGE.joinpath(*parts, a.name)
                found.add(".".join([*parts, a.name] if sub.is_dir() or sub.with_suffix(".py").exists() else parts))
    return found


def floor(dotted: str) -> str:
    first = dotted.split(".")[0]
    return first if first in FLOORS else "core"


def package_modules() -> dict[str, Path]:
    """Every module but the package's own ``__init__``, by its dotted name below the package."""
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        rel = p.relative_to(PACKAGE).with_suffix("")
        if rel.parts != ("__init__",):
            out[".".join(rel.parts)] = p
    return out


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(), path.relative_to(PACKAGE).parts[:-1])


def test_every_floor_imports_only_the_floors_below_it():
    mods = package_modules()
    assert {floor(m) for m in mods} == set(FLOORS) and len(mods) > 40
    offenders = {}
    for name, path in mods.items():
        wrong = sorted(m for m in imports_of(path) if floor(m) not in MAY_IMPORT[floor(name)])
        if wrong:
            offenders[name] = wrong
    assert offenders == {}


def test_the_package_init_imports_the_core_and_the_registered_experiments_only():
    imported = imports_of(PACKAGE / "__init__.py")
    assert "repro.experiments" in imported  # the book's experiments join the registry
    assert {m for m in imported if floor(m) != "core"} == {"repro.experiments"}


def test_figure_modules_only_draw():
    plots = {n: p for n, p in package_modules().items() if n.startswith("book.plots")}
    assert len(plots) >= 5
    offenders = {n: sorted(m for m in imports_of(p) if m.startswith(NOT_FOR_PLOTS)) for n, p in plots.items()}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_is_over_500_lines():
    modules = list(package_modules().values()) + sorted((PACKAGE.parent / "data_gen").rglob("*.py"))
    long = {str(p.relative_to(PACKAGE.parent)): len(p.read_text().splitlines()) for p in modules}
    assert len(long) > 50 and {n: k for n, k in long.items() if k > 500} == {}


def test_the_import_finder_sees_relative_and_absolute_imports():
    source = "from ..chapters import provenance\nfrom rmt_lite.trainer import Trainer\nimport rmt_lite.repro.claims\n"
    source += "from . import lm\nfrom .. import colab\n"
    found = imported_modules(source, ("book", "plots"))
    assert found == {"book.chapters.provenance", "trainer", "repro.claims", "book.plots.lm", "book.colab"}
    found = imported_modules("from . import paper\nfrom .config import X\n", ("repro",))
    assert found == {"repro.paper", "repro.config"}
    assert imported_modules("from ...runs import x\n", ("book", "chapters")) == {"runs"}
    assert floor("repro.claims.rule") == "repro" and floor("runs") == "core" and floor("book.plots") == "book"


def test_the_api_page_documents_every_name_the_package_exports():
    page = (PACKAGE.parent / "book" / "api.md").read_text()
    missing = [name for name in rmt_lite.__all__ if not re.search(rf"rmt_lite\.{name}\b", page)]
    assert missing == []
