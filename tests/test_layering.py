"""Imports go one way (issue 18): collector/ is the shared ground, the sink is imported by nobody.

* ``sink`` is imported by no other package: readers open collector.db through
  ``collector.db.connect_reader`` and read the documented views;
* ``exporter`` imports no ``fetchers`` (the archiver talks to the sink through
  ``collector.sink_client``), ``fetchers`` and ``scheduler`` import neither each other nor the exporter;
* ``collector`` imports none of the process packages, except that its operator front ends
  (``FRONT_ENDS``: `collector export`, `collector archive`, `collector doctor`) call the exporter;
* no module in ``tests/`` or ``bench/`` imports a test module (``tests/test_*.py``): what several
  test files share lives in ``tests/conftest.py`` (fixtures) or in a helper module without the
  ``test_`` prefix (``tests/*_rig.py``, ``tests/*_helpers.py``), so each test file can be read, run
  and moved alone.

Imports are read with ``ast`` (also those inside functions), so a lazy import cannot hide.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("collector", "fetchers", "scheduler", "sink", "exporter", "simulator")
FORBIDDEN = {  # importer package -> packages it must not import
    "collector": {"fetchers", "scheduler", "sink", "exporter", "simulator"},
    "fetchers": {"sink", "scheduler", "exporter", "simulator"},
    "scheduler": {"sink", "fetchers", "exporter", "simulator"},
    "exporter": {"sink", "fetchers", "scheduler", "simulator"},
    "simulator": {"sink", "fetchers", "scheduler", "exporter"},
}
FRONT_ENDS = {"collector/cli.py": {"exporter"}, "collector/doctor.py": {"exporter"}}  # module -> what it may import


def imported_packages(source: str) -> set[str]:
    """Top-level packages a module's source imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def violations(root: Path) -> list[str]:
    out = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((root / package).glob("*.py")):
            rel = path.relative_to(root).as_posix()
            allowed = FRONT_ENDS.get(rel, set())
            for bad in sorted(imported_packages(path.read_text(encoding="utf-8")) & (banned - allowed)):
                out.append(f"{rel} imports {bad}")
    return out


def test_imports_go_one_way():
    assert violations(REPO) == []


def test_a_fetcher_importing_the_sink_is_caught(tmp_path):
    """The check is not vacuous: the same tree plus one `import sink...` in fetchers/ fails it."""
    for package in FORBIDDEN:
        (tmp_path / package).mkdir()
        for path in (REPO / package).glob("*.py"):
            (tmp_path / package / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    runner = tmp_path / "fetchers" / "runner.py"
    runner.write_text(runner.read_text() + "\n\ndef _reader(path):\n    from sink.schema import migrate\n")
    assert violations(tmp_path) == ["fetchers/runner.py imports sink"]


def private_reach_ins(root: Path, packages=PACKAGES) -> list[str]:
    """Private names (``_x``) one of our modules takes from another: ``from pkg.mod import _x`` or
    ``mod._x`` on an imported module. A name another module needs is public (issue 18)."""
    out = []
    for package in packages:
        for path in sorted((root / package).glob("*.py")):
            rel = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            modules = set()  # local names bound to one of our modules
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                        and node.module.split(".")[0] in PACKAGES:
                    for alias in node.names:
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            out.append(f"{rel} imports {node.module}.{alias.name}")
                        modules.add(alias.asname or alias.name)  # may be a submodule: checked below
                elif isinstance(node, ast.Import):
                    modules |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                                if alias.name.split(".")[0] in PACKAGES}
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id in modules and node.attr.startswith("_") and not node.attr.startswith("__"):
                    out.append(f"{rel} uses {node.value.id}.{node.attr}")
    return out


def test_no_module_takes_another_modules_private_names():
    assert private_reach_ins(REPO) == []


def test_a_private_reach_in_is_caught(tmp_path):
    (tmp_path / "exporter").mkdir()
    for path in (REPO / "exporter").glob("*.py"):
        (tmp_path / "exporter" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    versions = tmp_path / "exporter" / "versions.py"
    versions.write_text(versions.read_text() + "\n\ndef _f():\n    from exporter.archive import _rows\n"
                        "    from exporter import catalog\n    return catalog._extra\n")
    assert private_reach_ins(tmp_path, ("exporter",)) == ["exporter/versions.py imports exporter.archive._rows",
                                                          "exporter/versions.py uses catalog._extra"]


def imports_of_test_modules(folder: Path) -> list[str]:
    """Each import of a test module (``test_*``) by a module in folder, in any spelling:
    ``from tests.test_x import y``, ``import tests.test_x``, ``from tests import test_x``,
    ``from .test_x import y``, ``from . import test_x``."""
    out = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                package = "." * node.level + (node.module or "")
                modules = [package]
                if node.module in (None, "tests"):  # `from tests import test_x`, `from . import test_x`
                    modules += [f"{package}.{alias.name}" if node.module else package + alias.name
                                for alias in node.names]
            else:
                continue
            out += [f"{folder.name}/{path.name} imports {m}" for m in modules
                    if any(part.startswith("test_") for part in m.split("."))]
    return out


def test_no_test_module_imports_another():
    """Shared rigs, fixtures and helpers live in conftest.py or a helper module, never in a test file
    (the benchmarks, which reuse some rigs, included)."""
    assert imports_of_test_modules(REPO / "tests") + imports_of_test_modules(REPO / "bench") == []


def test_a_test_module_importing_another_is_caught(tmp_path):
    """The check is not vacuous: the same tests/ plus planted imports of test modules, one in each
    spelling and one inside a function, fails it with exactly those."""
    tests = tmp_path / "tests"
    tests.mkdir()
    for path in (REPO / "tests").glob("*.py"):
        (tests / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    plants = {"test_books_store.py": "from tests.test_sink import query",
              "test_wire.py": "def f():\n    import tests.test_sink as s",
              "conftest.py": "from tests import test_status",
              "exporter_rig.py": "from .test_sink import query\nfrom . import test_archive"}
    for name, plant in plants.items():
        (tests / name).write_text((tests / name).read_text(encoding="utf-8") + "\n" + plant + "\n")
    assert imports_of_test_modules(tests) == [
        "tests/conftest.py imports tests.test_status",
        "tests/exporter_rig.py imports .test_sink", "tests/exporter_rig.py imports .test_archive",
        "tests/test_books_store.py imports tests.test_sink", "tests/test_wire.py imports tests.test_sink"]
