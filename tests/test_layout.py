"""The package's shape: one folder per pipeline stage, imports only downwards, every import declared."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import PROJECT

PACKAGE = PROJECT / "newsletter"
# Each stage may import its own modules and those of the stages before it, never one after it.
# The order they run in: a send checks, then publishes, then delivers.
STAGES = ["", "sources", "compose", "render", "check", "preview", "publish", "deliver", "cli"]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PROJECT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def stage(module: str) -> int:
    if module == "newsletter.__main__":  # ``python -m newsletter`` is the command line
        return STAGES.index("cli")
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else 0


def test_every_import_goes_down_the_pipeline() -> None:
    upward = [f"{module} imports {target}"
              for module, path in modules().items() for target in imports(path)
              if target.startswith("newsletter.") and stage(target) > stage(module)]
    assert upward == []


def test_no_import_cycle_between_modules() -> None:
    known = modules()
    graph = {module: {t for t in imports(path) if t in known and t != module} for module, path in known.items()}
    # Package __init__ files that only document their stage take part like any module.
    visiting, done, cycles = set(), set(), []

    def visit(node: str, trail: list[str]) -> None:
        if node in visiting:
            cycles.append(" -> ".join(trail[trail.index(node):] + [node]))
            return
        if node in done:
            return
        visiting.add(node)
        for target in sorted(graph[node]):
            visit(target, trail + [node])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []


def test_the_top_level_holds_at_most_eight_modules() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    assert {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()} >= {
        "sources", "compose", "render", "deliver", "check", "preview", "cli"}


def test_every_imported_distribution_is_declared() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    optional = [spec for extra, specs in project["optional-dependencies"].items() if extra not in ("test", "bench")
                for spec in specs]  # e.g. [fast]: imported only when a setting asks for it
    declared = {_normalise(re.split(r"[<>=!~\[; ]", spec)[0]) for spec in [*project["dependencies"], *optional]}
    owners = packages_distributions()
    third_party = {target.split(".")[0] for path in modules().values() for target in imports(path)}
    third_party -= set(sys.stdlib_module_names) | {"newsletter"}
    missing = sorted(f"{name} ({', '.join(owners.get(name, ['?']))})" for name in third_party
                     if not declared & {_normalise(dist) for dist in owners.get(name, [name])})
    assert missing == []


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


CLOCK_READS = re.compile(r"\b(?:datetime\.now|datetime\.today|datetime\.utcnow|date\.today|time\.time|time\.localtime"
                         r"|time\.gmtime|time\.strftime)\(")


def test_the_product_reads_the_calendar_clock_in_one_place() -> None:
    """A test moves the whole product's clock through newsletter/clock.py (or libfaketime)."""
    readers = sorted(str(path.relative_to(PROJECT)) for path in PACKAGE.rglob("*.py")
                     if CLOCK_READS.search(path.read_text(encoding="utf-8")))
    assert readers == ["newsletter/clock.py"], readers


def test_generic_sending_code_asks_providers_what_they_can_do() -> None:
    """Capabilities are declared (deliver/providers' base classes), never probed or named."""
    for path in (PACKAGE / "deliver" / "send.py", PACKAGE / "compose" / "sendlog.py"):
        text = path.read_text(encoding="utf-8")
        assert "hasattr(" not in text, path
        names = [line for line in text.splitlines()
                 if re.search(r"(?i)sendgrid|smtp|outbox", line) and "LEGACY_REFERENCE =" not in line]
        assert names == [], f"{path.name} names a provider: {names}"


def test_no_private_api_of_the_standard_library() -> None:
    stdlib = set(sys.stdlib_module_names)
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.asname or alias.name: alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and imported.get(node.value.id, "").split(".")[0] in stdlib
                    and node.attr.startswith("_") and not node.attr.startswith("__") and node.attr != "_exit"):
                found.append(f"{path.relative_to(PROJECT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert found == []


def test_each_table_of_the_settings_belongs_to_the_stage_that_reads_it() -> None:
    """A stage's table lives in that stage's settings module, and the command checks every one."""
    import importlib

    from newsletter.cli.commands import SETTINGS_TABLES
    from newsletter.workspace import SettingsTable

    for stage_name in STAGES[1:-1]:
        if (PACKAGE / stage_name / "settings.py").exists():
            importlib.import_module(f"newsletter.{stage_name}.settings")
    owners = sorted((cls.TABLE, cls.__module__) for cls in SettingsTable.__subclasses__())
    assert set(SettingsTable.__subclasses__()) == set(SETTINGS_TABLES)
    assert owners == [("brand", "newsletter.render.settings"), ("check", "newsletter.check.settings"),
                      ("fetch", "newsletter.sources.settings"), ("publish", "newsletter.publish.settings"),
                      ("send", "newsletter.deliver.settings"), ("summary", "newsletter.compose.settings"),
                      ("utm", "newsletter.render.settings")]
