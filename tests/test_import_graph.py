"""ideal_mm's layers point one way (docs/DESIGN: datasets <- models <-
engine / evaluation <- apis / analysis <- tools), read from the source with
``ast``.

Every ``import`` / ``from ... import`` in ideal_mm (module level or inside a
function) that names another ideal_mm subpackage is an edge. An edge to a
higher layer fails, and so does a cycle between subpackages.
"""
from __future__ import annotations

import ast
import os
import os.path as osp
from typing import Dict, List, Set, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(REPO, 'ideal_mm')

#: layer of each top-level part of ideal_mm; an import may only point to a
#: lower layer, or sideways (same layer) without a cycle.
LAYERS: Dict[str, int] = {
    # shared helpers that import no ideal_mm layer
    'errors': 0,
    'version': 0,
    'compat': 0,
    'geometry': 0,
    'correspondence': 0,
    'visualization': 0,
    'nifti_names': 0,
    'atomic_files': 0,
    'progress': 0,
    'model_config': 0,
    'datasets': 1,
    'models': 2,
    'engine': 3,
    'evaluation': 3,
    # what users and tools/ call: inference, studies and reports
    'apis': 4,
    'analysis': 4,
    # imports every registering part (configs' custom_imports)
    'registration': 5,
}

#: (importing file, imported subpackage) allowed against the layer order, each
#: with its reason; empty since the NIfTI writer moved to the data layer.
KNOWN_EXCEPTIONS: Set[Tuple[str, str]] = set()

Edge = Tuple[str, str, str, int]  # (from part, to part, file, line)


def _module_name(path: str) -> Tuple[str, str]:
    """(dotted module, dotted package a relative import starts from)."""
    rel = osp.relpath(path, REPO)[:-len('.py')].replace(os.sep, '.')
    if rel.endswith('.__init__'):
        rel = rel[:-len('.__init__')]
        return rel, rel
    return rel, rel.rsplit('.', 1)[0]


def _part(dotted: str) -> str:
    """'ideal_mm.models.heads' -> 'models'; the package itself -> ''."""
    parts = dotted.split('.')
    return parts[1] if len(parts) > 1 else ''


def import_edges() -> List[Edge]:
    """Every import between two top-level parts of ideal_mm."""
    edges: List[Edge] = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = osp.join(folder, name)
            module, package = _module_name(path)
            src = _part(module)
            if not src:
                continue  # ideal_mm/__init__.py imports every part
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = package.split('.')
                        base = base[:len(base) - (node.level - 1)]
                        target = '.'.join(
                            base + ([node.module] if node.module else []))
                    else:
                        target = node.module or ''
                    targets = [target] if _part(target) else \
                        [f'{target}.{a.name}' for a in node.names]
                elif isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                else:
                    continue
                for target in targets:
                    if not target.startswith('ideal_mm.'):
                        continue
                    dst = _part(target)
                    if dst != src:
                        edges.append(
                            (src, dst, osp.relpath(path, REPO), node.lineno))
    return edges


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The cycles a depth-first search meets (each as a path)."""
    found, state = [], {}

    def visit(node: str, path: List[str]) -> None:
        state[node] = 'open'
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def _graph(edges: List[Edge]) -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for src, dst, path, _ in edges:
        if (path.replace(os.sep, '/'), dst) not in KNOWN_EXCEPTIONS:
            graph.setdefault(src, set()).add(dst)
    return graph


def test_every_part_has_a_layer():
    parts = {
        n[:-3] if n.endswith('.py') else n
        for n in os.listdir(PACKAGE) if not n.startswith(('_', '.')) and (
            n.endswith('.py') or osp.isdir(osp.join(PACKAGE, n)))
    }
    assert parts - set(LAYERS) == set(), \
        'give the new part of ideal_mm a layer in LAYERS'


def test_no_import_points_up():
    edges = import_edges()
    assert len(edges) > 10  # the parser sees the imports
    upward = [
        f'{path}:{line}: {src} imports {dst}' for src, dst, path, line in edges
        if LAYERS[dst] > LAYERS[src] and (path.replace(os.sep, '/'),
                                          dst) not in KNOWN_EXCEPTIONS
    ]
    assert upward == []


def test_no_cycle_between_subpackages():
    assert _cycles(_graph(import_edges())) == []


def test_known_exceptions_still_exist():
    """An exception that issue #12 has removed must leave the list too."""
    seen = {(path.replace(os.sep, '/'), dst)
            for _, dst, path, _ in import_edges()}
    assert KNOWN_EXCEPTIONS <= seen


def test_checker_sees_a_cycle_and_an_upward_import():
    edges = [('engine', 'apis', 'ideal_mm/engine/x.py', 1),
             ('apis', 'engine', 'ideal_mm/apis/y.py', 2),
             ('models', 'datasets', 'ideal_mm/models/z.py', 3)]
    assert _cycles(_graph(edges)) == [['apis', 'engine', 'apis']]
    assert [e for e in edges if LAYERS[e[1]] > LAYERS[e[0]]] == [edges[0]]
