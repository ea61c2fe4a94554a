"""Syntax-tree helpers for the reload diff: what changed between two versions of a module, compared without
positions (as IPython's deduperreload does), and which names each top-level statement binds or reads when it runs."""
import ast
import __future__

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMPREHENSIONS = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def dump(node):
    """The node's shape without line and column numbers, as nested tuples (hashable, and several times faster to
    build than ast.dump's text): a function that merely moved has the same shape."""
    if isinstance(node, ast.AST):
        return (type(node).__name__,) + tuple(dump(getattr(node, f, None)) for f in node._fields)
    if isinstance(node, list):
        return tuple(dump(x) for x in node)
    return (type(node).__name__, node)  # a leaf: 1, 1.0 and True differ


def statement_texts(source, tree):
    """The source text of each top-level statement (decorators included), or None for one that shares a line
    with another (`a = 1; b = 2`): equal texts mean equal shapes, so unchanged statements need no shape rebuilt."""
    lines = source.splitlines(True)
    out = []
    prev_end = 0
    body = tree.body
    for i, stmt in enumerate(body):
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
        end = getattr(stmt, "end_lineno", None) or stmt.lineno
        shared = first <= prev_end or (i + 1 < len(body) and body[i + 1].lineno <= end) or stmt.col_offset != 0
        out.append(None if shared else "".join(lines[first - 1:end]))
        prev_end = end
    return out


def bound_names(stmt):
    """Names a top-level statement binds (or deletes) in its namespace; '*' for a star import."""
    out = []

    def visit(n):
        if isinstance(n, _SCOPES):
            out.append(n.name)
            return
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                out.append("*" if a.name == "*" else (a.asname or a.name.split(".")[0]))
            return
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.append(n.id)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.append(n.name)
        elif isinstance(n, _COMPREHENSIONS):
            return
        for c in ast.iter_child_nodes(n):
            visit(c)

    visit(stmt)
    return out


def _loads(nodes):
    names = set()
    for node in nodes:
        if node is None:
            continue
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                names.add(n.id)
    return names


def definition_time_loads(stmt):
    """Names a def or class statement reads while it runs (decorators, defaults, bases, class-body statements), not
    the names its function bodies read later. A re-run statement that rebinds one of these makes the definition
    re-run too, so `def f(x=LIMIT)` picks up a new LIMIT."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = stmt.args
        return _loads(list(stmt.decorator_list) + list(a.defaults) + [d for d in a.kw_defaults if d is not None])
    if isinstance(stmt, ast.ClassDef):
        names = _loads(list(stmt.decorator_list) + list(stmt.bases) + [k.value for k in stmt.keywords])
        local = set()
        for s in stmt.body:
            if isinstance(s, _SCOPES):
                names |= definition_time_loads(s) - local
            else:
                names |= _loads([s]) - local
            local.update(bound_names(s))
        return names
    return set()


def future_flags(tree):
    flags = 0
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            for a in stmt.names:
                feature = getattr(__future__, a.name, None)
                if feature is not None:
                    flags |= feature.compiler_flag
    return flags


def definitions(tree):
    """qualname -> list of def/class nodes (in source order; a property's getter and setter share a name)."""
    out = {}

    def visit(body, prefix):
        for stmt in body:
            for node in _defs_in(stmt):
                q = prefix + node.name
                out.setdefault(q, []).append(node)
                if isinstance(node, ast.ClassDef):
                    visit(node.body, q + ".")
                else:
                    visit(node.body, q + ".<locals>.")

    visit(tree.body, "")
    return out


def _defs_in(stmt):
    """Defs directly in a statement, including those nested in if/try/with/for blocks (same scope)."""
    if isinstance(stmt, _SCOPES):
        return [stmt]
    found = []
    for field in ("body", "orelse", "finalbody", "handlers"):
        for s in getattr(stmt, field, ()) or ():
            if isinstance(s, ast.ExceptHandler):
                for x in s.body:
                    found.extend(_defs_in(x))
            elif isinstance(s, ast.stmt):
                found.extend(_defs_in(s))
    return found


def shell_dump(node):
    """A class without its methods' bodies: changes when its own statements, bases or decorators change."""
    if not isinstance(node, ast.ClassDef):
        return dump(node)
    parts = [dump(b) for b in node.bases] + [dump(k) for k in node.keywords] + [dump(d) for d in node.decorator_list]
    for s in node.body:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts.append("def " + s.name)
        elif isinstance(s, ast.ClassDef):
            parts.append("class " + s.name)
        else:
            parts.append(dump(s))
    return tuple(parts)


def class_body_names(node):
    """(names bound by the class body, dump of each non-def statement with the names it binds)."""
    names = set()
    stmts = []
    for s in node.body:
        b = bound_names(s)
        names.update(b)
        if not isinstance(s, _SCOPES):
            stmts.append((dump(s), b))
    return names, stmts


def unchanged_class_values(old_node, new_node):
    """Class attributes whose assignment is the same in both versions: they keep their current value (a counter
    kept on the class survives an edit of a method)."""
    _, old_stmts = class_body_names(old_node)
    pool = {}
    for d, _ in old_stmts:
        pool[d] = pool.get(d, 0) + 1
    keep = set()
    for d, names in class_body_names(new_node)[1]:
        if pool.get(d, 0) > 0:
            pool[d] -= 1
            keep.update(names)
    return keep


def statement_at(body, line):
    """Index of the top-level statement spanning `line`, or -1."""
    for i, stmt in enumerate(body):
        end = getattr(stmt, "end_lineno", None) or stmt.lineno
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
        if first <= line <= end:
            return i
    return -1
