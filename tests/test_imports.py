"""The import rules between apps (DESIGN §2, §7; STYLE §1), checked on the real code by walking its imports.

Every `import` and `from ... import` counts, also those inside functions (a lazy import is still a
dependency). Migrations are left out: they reference models by name, not by import.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("marketing_ai", "accounts", "integrations", "ai", "chat", "campaigns")
# app -> apps it must never import (chat -> ai, campaigns; campaigns -> ai; ai is below both).
FORBIDDEN = {
    "ai": {"chat", "campaigns"},
    "campaigns": {"chat"},
}
MODEL_SDKS = ("openai", "anthropic", "google.genai", "groq")
SDK_HOME = "ai.providers"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The absolute names an import statement refers to (for `from x import y`: `x.y` and `x`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    return [source] + [f"{source}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a module's parent packages count: importing runs them)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for name in _imported(node, module, path.name == "__init__.py"):
                parts = name.split(".")
                for end in range(1, len(parts) + 1):
                    candidate = ".".join(parts[:end])
                    if candidate in modules and candidate != module:
                        targets.add(candidate)
        graph[module] = targets
    return graph


def external_imports() -> dict[str, set[str]]:
    """Module -> the absolute names it imports (for third-party rules)."""
    result = {}
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        result[module] = {
            name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
            for name in _imported(node, module, path.name == "__init__.py")
        }
    return result


def cycles(graph: dict[str, set[str]], within: str) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself) under `within`."""
    nodes = [n for n in graph if n == within or n.startswith(within + ".")]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in nodes:
                continue
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
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_real_code():
    graph = import_graph()

    assert "ai.router" in graph and "ai.providers.local" in graph["ai.router"]
    assert "ai.router" in graph["chat.services"]  # a lazy import inside a function counts
    assert cycles({"x": {"x.a"}, "x.a": {"x.b"}, "x.b": {"x.a"}}, "x") == [["x.a", "x.b"]]


def test_no_app_imports_an_app_above_it():
    graph = import_graph()

    forbidden = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if target.split(".")[0] in FORBIDDEN.get(module.split(".")[0], set())
    )

    assert forbidden == []


def test_there_is_no_import_cycle_inside_the_ai_app():
    assert cycles(import_graph(), "ai") == []


def test_chat_and_campaigns_do_not_import_each_other_both_ways():
    graph = import_graph()

    def app_imports(source: str, target: str) -> bool:
        return any(t.split(".")[0] == target for m, ts in graph.items() if m.split(".")[0] == source for t in ts)

    assert not (app_imports("chat", "campaigns") and app_imports("campaigns", "chat"))


def test_only_the_provider_modules_import_a_model_sdk():
    outside = sorted(
        f"{module} imports {name}"
        for module, names in external_imports().items()
        if not module.startswith(SDK_HOME)
        for name in names
        if any(name == sdk or name.startswith(sdk + ".") for sdk in MODEL_SDKS)
    )

    assert outside == []
