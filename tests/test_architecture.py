"""The architecture as the imports draw it: every module on a shelf, shelves import only the shelves below
them, no import cycles (function-local imports included, so none can hide one), and test helpers only in
tests/fixtures. docs/architecture.md describes the same order."""
import ast
import re

from tests.fixtures.shared import REPO

# Bottom to top: a shelf may import itself and the shelves before it, never one after it.
SHELVES = ("common", "backend", "data", "model", "checkpoints", "prep", "deploy", "evaluate", "train", "infer")


def module_name(path):
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path):
    """Every src module a file imports, wherever the import statement stands."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from src.data import layout`
    return {m for m in found if m == "src" or m.startswith("src.")}


def src_graph():
    files = sorted((REPO / "src").rglob("*.py"))
    modules = {module_name(f): f for f in files}
    return {name: {m for m in imports_of(f) if m in modules and m != name} for name, f in modules.items()}


def shelf(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_every_module_is_on_a_shelf():
    loose = [m for m in src_graph() if m != "src" and (shelf(m) not in SHELVES)
             and not (m.count(".") == 1 and m.split(".")[1] in SHELVES)]
    assert not loose, f"modules outside the shelves {SHELVES}: {loose}"


def test_shelves_import_only_downward():
    upward = []
    for module, deps in src_graph().items():
        if shelf(module) is None:
            continue
        for dep in deps:
            if shelf(dep) is not None and SHELVES.index(shelf(dep)) > SHELVES.index(shelf(module)):
                upward.append(f"{module} -> {dep}")
    assert not upward, "imports up the shelves:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    graph = src_graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # `src` itself (the CPU speed switch) is imported first by every entry point: not a cycle of logic.
    cycles = [c for c in cycles if not c.startswith("src ->") and " -> src -> " not in c and not c.endswith("-> src")]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_graph_is_read_from_real_imports():
    """The checks above see what they claim to: known edges of the network and the trainer are in the graph."""
    graph = src_graph()
    assert "src.backend.conv3d" in graph["src.model.i3d"]
    assert "src.data.layout" in graph["src.model.i3d"]
    assert "src.evaluate.video_logits" in graph["src.train.trainer"]  # a function-local import
    assert "src.model.arch" in graph["src.checkpoints.checkpoint"]  # `from src.model import arch`


def test_product_code_never_imports_test_code():
    offenders = [str(f.relative_to(REPO)) for f in sorted(REPO.glob("*.py")) + sorted((REPO / "src").rglob("*.py"))
                 + sorted((REPO / "tools").glob("*.py"))
                 if any(n.startswith("tests") for n in _all_imports(f))]
    assert not offenders, offenders


def test_test_modules_import_helpers_from_fixtures_only():
    offenders = []
    for f in sorted((REPO / "tests").rglob("*.py")):
        offenders += [f"{f.relative_to(REPO)}: {name}" for name in _all_imports(f) if _is_test_module(name)]
    assert not offenders, offenders


def test_the_fixture_rule_sees_every_import_form():
    for source in ("from tests import test_x", "from . import test_x", "import tests.test_x", "from tests.test_x import a",
                   "from conftest import shared_path", "from .test_x import a", "from tests import conftest"):
        assert any(_is_test_module(n) for n in _imports_in(source)), source
    assert not any(_is_test_module(n) for n in _imports_in("from tests.fixtures.runs import run"))


def test_docs_list_the_shelves_in_the_order_checked_here():
    text = (REPO / "docs" / "architecture.md").read_text()
    table = text.split("## Shelves, bottom to top", 1)[1].split("## Modules", 1)[0]
    assert re.findall(r"^\| `src/(\w+)/` \|", table, re.M) == list(SHELVES)


def _is_test_module(dotted):
    last = dotted.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def _imports_in(source):
    """Every module a source imports, with `from X import name` also counted as X.name (a module may be a name)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{a.name}" if base.strip(".") else f"{base}{a.name}" for a in node.names)
    return names


def _all_imports(path):
    return _imports_in(path.read_text())


def test_docs_architecture_lists_every_module():
    """docs/architecture.md names each module once, under its shelf, and names no module that is gone."""
    text = (REPO / "docs" / "architecture.md").read_text()
    block = text.split("## Modules\n```\n", 1)[1].split("```", 1)[0]
    listed, shelf_dir = set(), None
    for line in block.splitlines():
        first = line.split()[0] if line.strip() else ""
        if line.startswith("src/") and first.endswith("/"):
            shelf_dir = first
        elif line.startswith("src/"):
            listed.add(first)
        elif line.startswith("  ") and first.endswith(".py"):
            listed.add(shelf_dir + first)
    present = {str(f.relative_to(REPO)) for f in (REPO / "src").rglob("*.py")
               if f.name != "__init__.py" or f.parent == REPO / "src"}
    assert sorted(present - listed) == [], "modules missing from docs/architecture.md"
    assert sorted(listed - present) == [], "docs/architecture.md lists modules that do not exist"
