"""The shape of the house, checked: no import circles, views that only parse, call a service and render,
audit actions from one enumeration, and every page's roles declared in policy/.

Each rule has a self-test on a planted violation, so a checker that silently stopped
finding anything would fail too.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest
from flask import Flask

from casefeedback.audit.actions import Action
from casefeedback.policy import pages

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "casefeedback"
SCRIPTS = ROOT / "scripts"


# --- the import graph -------------------------------------------------------------------------------


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path, top: str) -> dict[str, Path]:
    found = {}
    for path in sorted((root / top).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic loads migrations by path; nothing imports them
        found[_module_name(path, root)] = path
    return found


def _under_type_checking(node: ast.AST, parents: Mapping[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(name: str, path: Path, known: Iterable[str], top: str) -> set[str]:
    """Modules of ``known`` that ``name`` imports, at the top or inside a function (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.walk(tree):
        if _under_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = (t for alias in node.names for t in (alias.name, f"{top}.{alias.name}"))
            edges |= {target for target in targets if target in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            elif base not in known and f"{top}.{base}" in known:
                base = f"{top}.{base}"  # scripts import their siblings by bare name (``from common import``)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    edges.add(f"{base}.{alias.name}")
                elif base in known:
                    edges.add(base)
    edges.discard(name)
    return edges


def import_graph(root: Path, top: str) -> dict[str, set[str]]:
    modules = _modules(root, top)
    return {name: _imports(name, path, modules, top) for name, path in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(("root", "top"), [(ROOT, "casefeedback"), (SCRIPTS, "bench_lib")])
def test_no_import_cycles(root: Path, top: str) -> None:
    found = cycles(import_graph(root, top))
    assert not found, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_cycle_check_finds_a_planted_cycle(tmp_path: Path) -> None:
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from planted.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from planted import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from planted import a\n")
    (package / "d.py").write_text("from e import thing\n")  # a script importing its sibling by bare name
    (package / "e.py").write_text("import d\n")
    assert cycles(import_graph(tmp_path, "planted")) == [["planted.a", "planted.b"], ["planted.d", "planted.e"]]


# --- views: parse, call one service, render -----------------------------------------------------------

# Opening a transaction or building an audit event is a service's job.
TRANSACTION_HELPERS = frozenset({"write", "read"})


def route_modules() -> dict[str, Path]:
    """Every module that declares routes on a blueprint."""
    return {name: path for name, path in _modules(ROOT, "casefeedback").items()
            if "@bp.route" in path.read_text() or (".route(" in path.read_text() and "Blueprint" in path.read_text())}


def view_violations(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            if name in TRANSACTION_HELPERS or name == "AuditEvent" or (
                    name in ("append", "append_many") and "audit" in ast.unparse(callee)):
                found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_views_open_no_transaction_and_build_no_audit_event() -> None:
    modules = route_modules()
    assert len(modules) >= 10, sorted(modules)
    problems = {name: v for name, path in modules.items() if (v := view_violations(path.read_text()))}
    assert not problems, "\n".join(f"{name}: {'; '.join(v)}" for name, v in sorted(problems.items()))


def test_view_check_finds_a_planted_transaction() -> None:
    planted = textwrap.dedent("""
        @bp.route("/x")
        def x():
            with write(services().engine) as connection:
                services().audit.append(connection, AuditEvent(action=Action.CASE_CLOSE, outcome="ok"))
    """)
    assert len(view_violations(planted)) == 3


# --- audit actions ------------------------------------------------------------------------------------


def action_literals(source: str) -> list[str]:
    """String constants that spell an audit action, outside docstrings."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    values = {action.value for action in Action}
    return [f"line {node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values
            and id(node) not in docstrings]


# Names in other namespaces that happen to be spelled like an action.
NOT_ACTIONS = {
    "casefeedback/policy/pages.py": {"insight.export"},  # the export page's endpoint
    "casefeedback/worker/jobs.py": {"retention.purge"},  # the purge job's name
}


def test_no_audit_action_is_a_string_literal() -> None:
    actions_module = PACKAGE / "audit" / "actions.py"
    problems = {}
    for path in _source_files():
        name = str(path.relative_to(ROOT))
        allowed = NOT_ACTIONS.get(name, set())
        found = [f for f in action_literals(path.read_text()) if f.split(": ", 1)[1].strip("'") not in allowed]
        if path != actions_module and found:
            problems[name] = found
    assert not problems, "\n".join(f"{p}: {', '.join(f)}" for p, f in sorted(problems.items()))


def _source_files() -> Iterator[Path]:
    yield from (p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts)
    yield from sorted((SCRIPTS / "bench_lib").rglob("*.py"))


def test_action_check_finds_a_planted_literal() -> None:
    assert action_literals('"""case.close in a docstring is fine."""\nAuditEvent(action="case.close")\n') == [
        "line 2: 'case.close'"]


def test_every_action_names_its_object_kind_and_is_unique() -> None:
    assert len({a.value for a in Action}) == len(Action)
    for action in Action:
        assert action.value == action.value.lower() and " " not in action.value
        assert action.object_kind is None or action.object_kind.isidentifier(), action


# --- pages: public marked, every staff page gated by declared roles ---------------------------------


def test_every_endpoint_is_public_or_declares_its_roles(app: Flask) -> None:
    undeclared = [e for e in app.view_functions
                  if not pages.is_public(app, e) and not pages.roles_for(e)]
    assert not undeclared, f"endpoints with no public marker and no roles in policy/pages.py: {undeclared}"


def test_every_staff_blueprint_installs_its_role_gate(app: Flask) -> None:
    for name in pages.BLUEPRINT_ROLES:
        hooks = [f.__name__ for f in app.before_request_funcs.get(name, [])]
        assert "_role_gate" in hooks, f"blueprint {name} has no role gate"
