"""The hot-reload engine: transactional, in place, indexed.

- Diff like IPython's deduperreload: top-level statements are compared as syntax trees without positions; only the
  changed ones run again (plus a def/class whose decorators, defaults or bases read a name a re-run statement
  rebinds). Unchanged statements are not re-run, so `world = World()` keeps its world.
- Patch like jurigged: a function that exists in both versions keeps its identity and gets the new `__code__`,
  `__defaults__`, `__kwdefaults__`, annotations, doc and `__dict__` items; a class keeps its identity and gets the
  new methods and class attributes (instances use them; `__init__` is not re-run).
- Roll back like superreload: every module dict, function and class touched is snapshotted first; any exception
  (from the new code or from a step of applying it) restores them exactly.
- Index instead of scanning: the functions and classes of a module are found by walking that module's namespace
  and its classes (decorator chains, properties, static/class methods, lru_cache wrappers, closure cells), never by
  gc.get_referrers or a heap scan, so the cost does not grow with the heap.

`Engine.prepare` (parse, compile, diff) may run on any thread; `Engine.apply` must run on the main thread at a safe
point (the agent does that from a signal handler; tests call `Engine.reload`, which does both on the caller's
thread). See electron/agent/README.md for the full semantics.
"""
import ast
import gc
import importlib.machinery
import importlib.util
import os
import time
import traceback
import types

from . import astdiff
from .patch import Apply, Transaction, _dunder, _qual, thread_stacks

_CO_GENERATORISH = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator
_AGENT_DIR = os.path.dirname(os.path.abspath(__file__))


#: What reading a source file can raise: no file, or bytes its coding cookie (else UTF-8) cannot decode.
READ_ERRORS = (OSError, SyntaxError, UnicodeDecodeError)


def read_source(path):
    """A source file's text, decoded as the import system does (its coding cookie, else UTF-8)."""
    with open(path, "rb") as fh:
        return importlib.util.decode_source(fh.read())


class FaultInjected(Exception):
    """Raised by test fault hooks; handled like any other failure of a step."""


class SourceError(Exception):
    def __init__(self, info):
        super().__init__(info["message"])
        self.info = info


# ---- code tables: which code object is which function, across versions ----

def _code_qualnames(code, prefix, out):
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            q = getattr(const, "co_qualname", None)
            if q is None:  # Python < 3.11: class bodies have no CO_NEWLOCALS, functions do
                q = prefix + const.co_name
            out.append((q, const))
            sep = ".<locals>." if const.co_flags & 0x2 else "."
            _code_qualnames(const, q + sep, out)


class CodeTable:
    """Every code object of one version of a module, keyed by (qualname, ordinal among same-named definitions)."""

    def __init__(self, codes):
        entries = []
        for code in codes:
            _code_qualnames(code, "", entries)
        entries.sort(key=lambda e: (e[0], e[1].co_firstlineno))
        self.by_key = {}
        self.by_loc = {}
        count = {}
        for q, code in entries:
            i = count.get(q, 0)
            count[q] = i + 1
            self.by_key[(q, i)] = code
            self.by_loc[(code.co_name, code.co_firstlineno)] = (q, i)

    def key_of(self, code):
        return self.by_loc.get((code.co_name, code.co_firstlineno))

    def code(self, key):
        return self.by_key.get(key)


# ---- per-module state ----

class ModuleState:
    def __init__(self, name, module, file, source, tree):
        self.name = name
        self.module = module
        self.file = file
        flags = astdiff.future_flags(tree)
        texts = astdiff.statement_texts(source, tree)
        codes = compile_statements(tree, file, flags, texts, {})
        dumps = [astdiff.dump(s) for s in tree.body]
        defs = astdiff.definitions(tree)
        self.commit(source, tree, CodeTable(codes), dumps, defs, _def_dumps(defs, tree, dumps, {}, set()), texts,
                    codes, flags)

    def commit(self, source, tree, table, dumps, defs, def_dumps, texts, codes, flags):
        self.texts = {t: d for t, d in zip(texts, dumps) if t is not None}  # statement text -> its shape
        # (statement text, first line) -> its code object: reused when neither changed (compiling is costly)
        self.codes_by_text = {(t, stmt.lineno): c for t, stmt, c in zip(texts, tree.body, codes) if t is not None}
        self.flags = flags
        self.source = source
        self.tree = tree
        self.table = table
        self.codes = codes          # compiled top-level statements, by index (a dependent module re-runs some)
        self.dumps = dumps          # shape of each top-level statement
        self.defs = defs            # qualname -> def/class nodes
        self.def_dumps = def_dumps  # qualname -> their shapes

    def label(self, qualname):
        return qualname if self.name == "__main__" else f"{self.name}.{qualname}"


def compile_statements(tree, file, flags, texts, reuse):
    """One code object per top-level statement (each is run on its own when it changed; together they give every
    function's new code object). A statement whose text and first line did not change reuses its code object."""
    out = []
    for stmt, text in zip(tree.body, texts):
        code = reuse.get((text, stmt.lineno)) if text is not None else None
        if code is None:
            code = compile(ast.Module(body=[stmt], type_ignores=[]), file, "exec", flags=flags, dont_inherit=True)
        out.append(code)
    return out


def _def_dumps(defs, tree, top_dumps, old_def_dumps, same_text):
    """Shapes of every definition (the costly part of a diff): a top-level one reuses its statement's shape; one
    nested in a top-level definition whose text did not change reuses the shape it had."""
    known = {id(stmt): d for stmt, d in zip(tree.body, top_dumps)}
    out = {}
    for q, nodes in defs.items():
        head = q.split(".", 1)[0]
        if q in old_def_dumps and head in same_text and len(old_def_dumps[q]) == len(nodes):
            out[q] = old_def_dumps[q]
        else:
            out[q] = [known[id(n)] if id(n) in known else astdiff.dump(n) for n in nodes]
    return out


class ModulePlan:
    """What reloading one module will do, worked out off the main thread."""

    def __init__(self, state, source, tree, table, flags):
        self.state = state
        self.source = source
        self.tree = tree
        self.table = table
        self.flags = flags
        self.run = []          # indices of new statements to run, in order
        self.codes = []        # compiled statements, by index
        self.changed = set()   # indices whose text changed (the others in `run` depend on a changed name)
        self.removed_names = set()
        self.patched, self.added, self.removed = [], [], []
        self.changed_defs = set()  # qualnames whose definition changed
        self.generators = []
        self.class_keep = {}   # class qualname -> attribute names whose assignment did not change
        self.class_old_names = {}
        self.dependent_only = False


class Plan:
    def __init__(self, files, t0):
        self.files = files
        self.t0 = t0
        self.mods = []
        self.error = None
        self.refused = []


class Engine:
    def __init__(self, fault=None):
        self.modules = {}       # name -> ModuleState
        self.by_file = {}       # absolute path -> module name
        self.generation = 0
        self.code_gen = {}      # code object -> generation it was installed in (absent: 0)
        self.retired = {}       # code object replaced by a reload -> generation it belonged to
        self.stale = []         # weakrefs to class objects a reload replaced
        self.fault = fault      # test hook: called with a step name before each step of an apply
        self.main_code = None   # the code object `__main__` runs (its frame never gets new code)
        self.main_tree = None
        self.main_dumps = []
        self.last_report = None

    # -- tracking --
    def track(self, name, module, file, source=None):
        """Starts indexing a module (its file as the code objects name it). Returns its state, or None when the
        source cannot be read or compiled (then the module is not reloadable and a reload says so)."""
        file = os.path.abspath(file)
        if source is None:
            try:
                source = read_source(file)
            except READ_ERRORS:
                return None
        try:
            st = ModuleState(name, module, file, source, ast.parse(source, file))
        except (SyntaxError, ValueError, RecursionError):
            return None
        self.modules[name] = st
        self.by_file[file] = name
        return st

    def track_main(self, module, file, source, tree, code):
        st = ModuleState("__main__", module, os.path.abspath(file), source, tree)
        self.modules["__main__"] = st
        self.by_file[st.file] = "__main__"
        self.main_code = code
        self.main_tree = tree
        self.main_dumps = list(st.dumps)
        return st

    def _fault(self, step):
        if self.fault is not None:
            self.fault(step)

    # -- preparing (any thread) --
    def prepare(self, changes, t0=None):
        """changes: {path: source text or None (read the file)} -> Plan. A syntax error sets plan.error."""
        gc_was = gc.isenabled()
        gc.disable()  # parsing allocates a lot: do not let it trigger a full collection of the user's heap
        try:
            return self._prepare(changes, t0)
        finally:
            if gc_was:
                gc.enable()

    def _prepare(self, changes, t0):
        plan = Plan(sorted(changes), t0 if t0 is not None else time.perf_counter())
        wanted = []
        for path, source in changes.items():
            path = os.path.abspath(path)
            name = self.by_file.get(path)
            if any(path.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES):
                plan.refused.append({"name": f"module:{os.path.basename(path)}",
                                     "reason": "C extension: cannot be reloaded in a running process; recycle the host"})
                continue
            if name is None:
                known = ", ".join(sorted(os.path.basename(f) for f in self.by_file)) or "none yet"
                plan.error = _error(path, 0, 0, f"{path} is not a module this script imported (reloadable: {known})")
                return plan
            st = self.modules[name]
            if source is None:
                try:
                    source = read_source(path)
                except READ_ERRORS as e:
                    plan.error = _error(path, 0, 0, f"cannot read {path}: {e}")
                    return plan
            try:
                tree = ast.parse(source, path)
                flags = astdiff.future_flags(tree)
                if flags:  # a misplaced __future__ import is an error of the whole module only
                    compile(tree, path, "exec", flags=flags, dont_inherit=True)
                texts = astdiff.statement_texts(source, tree)
                codes = compile_statements(tree, st.file, flags, texts,
                                           st.codes_by_text if flags == st.flags else {})
            except SyntaxError as e:
                plan.error = _error(e.filename or path, e.lineno or 0, e.offset or 0,
                                    f"{type(e).__name__}: {e.msg}")
                return plan
            except (ValueError, RecursionError) as e:
                plan.error = _error(path, 0, 0, f"cannot compile {path}: {e}")
                return plan
            mp = ModulePlan(st, source, tree, CodeTable(codes), flags)
            mp.texts, mp.codes = texts, codes
            self._diff(mp)
            wanted.append(mp)
        plan.mods = self._order(wanted)
        self._add_dependents(plan)
        return plan

    def _diff(self, mp):
        st, tree = mp.state, mp.tree
        pool = {}
        for d in st.dumps:
            pool[d] = pool.get(d, 0) + 1
        dirty = set()
        new_bound = set()
        # A statement whose text is unchanged (it may have moved) has the shape it had: no need to rebuild it.
        mp.dumps = [st.texts[t] if t is not None and t in st.texts else astdiff.dump(stmt)
                    for t, stmt in zip(mp.texts, tree.body)]
        names_once = {}
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names_once[stmt.name] = names_once.get(stmt.name, 0) + 1
        same_text = {stmt.name for t, stmt in zip(mp.texts, tree.body)
                     if t is not None and t in st.texts and names_once.get(getattr(stmt, "name", None)) == 1}
        for i, stmt in enumerate(tree.body):
            d = mp.dumps[i]
            names = astdiff.bound_names(stmt)
            new_bound.update(names)
            if pool.get(d, 0) > 0:
                pool[d] -= 1
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                        astdiff.definition_time_loads(stmt) & dirty:
                    mp.run.append(i)
                    dirty.update(names)
                continue
            mp.changed.add(i)
            mp.run.append(i)
            dirty.update(names)
        old_bound = set()
        for stmt in st.tree.body:
            old_bound.update(astdiff.bound_names(stmt))
        mp.removed_names = {n for n in old_bound - new_bound if n != "*" and not _dunder(n)}
        new_defs = mp.defs = astdiff.definitions(tree)
        mp.def_dumps = _def_dumps(new_defs, tree, mp.dumps, st.def_dumps, same_text)
        old_defs = st.defs
        for q, nodes in new_defs.items():
            if q not in old_defs:
                mp.added.append(q)
                continue
            olds = old_defs[q]
            if st.def_dumps[q] != mp.def_dumps[q]:
                mp.changed_defs.add(q)
                if isinstance(nodes[0], ast.ClassDef):
                    if [astdiff.shell_dump(n) for n in olds] != [astdiff.shell_dump(n) for n in nodes]:
                        mp.patched.append(q)
                else:
                    mp.patched.append(q)
                    code = mp.table.code((q, 0))
                    if code is not None and code.co_flags & _CO_GENERATORISH:
                        mp.generators.append(q)
            if isinstance(nodes[0], ast.ClassDef) and isinstance(olds[0], ast.ClassDef):
                mp.class_keep[q] = astdiff.unchanged_class_values(olds[0], nodes[0])
                mp.class_old_names[q] = astdiff.class_body_names(olds[0])[0]
        mp.removed = [q for q in old_defs if q not in new_defs]

    def _imports_of(self, st, tree=None):
        """Local modules a module's top-level statements import from: {module name: [statement indices]}."""
        out = {}
        for i, stmt in enumerate((tree or st.tree).body):
            for node in _module_level_nodes(stmt):
                if isinstance(node, ast.ImportFrom):
                    target = _resolve(node, st)
                    if target in self.modules:
                        out.setdefault(target, []).append(i)
                elif isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name in self.modules:
                            out.setdefault(a.name, [])
        return out

    def _order(self, mps):
        names = {mp.state.name: mp for mp in mps}
        done, out = set(), []

        def visit(name, trail):
            if name in done or name in trail:
                return
            mp = names[name]
            for dep in self._imports_of(mp.state, mp.tree):
                if dep in names:
                    visit(dep, trail | {name})
            done.add(name)
            out.append(mp)

        for name in names:
            visit(name, frozenset())
        return out

    def _add_dependents(self, plan):
        """Modules that did `from changed import x` re-run those import statements, so values (not only functions
        and classes, whose identity is kept anyway) are the new ones."""
        changed = {mp.state.name for mp in plan.mods}
        for name, st in self.modules.items():
            if name in changed:
                continue
            stmts = sorted({i for dep, idx in self._imports_of(st).items() if dep in changed for i in idx})
            stmts = [i for i in stmts if isinstance(st.tree.body[i], ast.ImportFrom)]
            if not stmts:
                continue
            mp = ModulePlan(st, st.source, st.tree, st.table, st.flags)
            # The module as it is: its statements' code objects were compiled when it was tracked or last reloaded.
            mp.dumps, mp.defs, mp.def_dumps, mp.codes = st.dumps, st.defs, st.def_dumps, st.codes
            mp.dependent_only = True
            mp.run = stmts
            plan.mods.append(mp)

    # -- applying (main thread, safe point) --
    def apply(self, plan):
        """Applies a prepared plan all or nothing; returns the report (protocol VmReloadReport)."""
        report = {"generation": self.generation, "ok": False, "files": list(plan.files), "modules": [],
                  "patched": [], "added": [], "removed": [], "refused": list(plan.refused), "ms": 0.0,
                  "staleClasses": 0}
        if plan.error is not None:
            report["error"] = plan.error
            return self._finish(report, plan)
        txn = Transaction()
        ctx = Apply(self, txn, report)
        gc_was = gc.isenabled()
        gc.disable()  # a collection in the middle would cost time proportional to the heap
        try:
            for mp in plan.mods:
                ctx.apply_module(mp)
            ctx.refuse_running()
            self._fault("commit")
        except BaseException as e:
            txn.rollback()
            report.update(patched=[], added=[], removed=[], modules=[], refused=list(plan.refused))
            report["error"] = _exception_error(e, plan)
            if not isinstance(e, Exception):  # KeyboardInterrupt/SystemExit: roll back, then let it through
                self.last_report = self._finish(report, plan)
                raise
            return self._finish(report, plan)
        finally:
            if gc_was:
                gc.enable()
        # Committed: nothing below can leave a partial apply behind.
        for action in txn.post:
            try:
                action()
            except Exception:  # a cache that refuses to clear keeps old results; not worth undoing the reload
                pass
        changed = ctx.changed_anything
        for mp in plan.mods:
            if not mp.dependent_only:
                mp.state.commit(mp.source, mp.tree, mp.table, mp.dumps, mp.defs, mp.def_dumps, mp.texts,
                                mp.codes, mp.flags)
        if changed:
            self.generation += 1
            for old, gen in ctx.swapped.items():
                # Only code whose definition changed is retired: a function that merely moved (an edit above it
                # shifted its lines) runs the same code, so its running frames are not old code (live-frames).
                if old in ctx.replaced_changed:
                    self.retired.setdefault(old, gen)
            for new in ctx.installed:
                self.code_gen[new] = self.generation
        report["generation"] = self.generation
        report["ok"] = True
        self.stale.extend(ctx.stale)
        return self._finish(report, plan)

    def _finish(self, report, plan):
        self.stale = [r for r in self.stale if r() is not None]
        report["staleClasses"] = len(self.stale)
        report["ms"] = round((time.perf_counter() - plan.t0) * 1000.0, 3)
        return report

    def reload(self, changes):
        """prepare + apply on this thread (tests, in-process use)."""
        return self.apply(self.prepare(changes))

    # -- frames still running old code --
    def live_frames(self, refs=None):
        """Per thread, the frames running a code object that a reload replaced (outermost first). With `refs` (a
        list), also appends (thread ident, tid, frame object, its entry) for each, so the caller can watch them
        return (host.py's frame watcher)."""
        threads = []
        for ident, t, stack in thread_stacks():
            tid = int(getattr(t, "native_id", None) or ident)
            frames = []
            for depth, f in enumerate(stack):
                gen = self.retired.get(f.f_code)
                if gen is not None:
                    frames.append({"name": _qual(f.f_code), "file": f.f_code.co_filename, "depth": depth,
                                   "oldGeneration": gen})
                    if refs is not None:
                        refs.append((ident, tid, f, frames[-1]))
            threads.append({"tid": tid, "frames": frames})
        return threads


def _module_level_nodes(stmt):
    """The statement and the statements nested in its if/try/with/for blocks, not inside defs or classes (imports
    inside a function run when it is called, not when the module runs)."""
    stack = [stmt]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            for child in getattr(node, field, ()) or ():
                if isinstance(child, (ast.stmt, ast.ExceptHandler)):
                    stack.append(child)


def _resolve(node, st):
    if node.level == 0:
        return node.module
    package = st.module.__dict__.get("__package__") or ""
    if st.module.__dict__.get("__path__") is None and not package:
        package = st.name.rpartition(".")[0]
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    if node.module:
        base.append(node.module)
    return ".".join(base)


def _error(file, line, col, message, tb=""):
    return {"file": file, "line": int(line or 0), "col": int(col or 0), "message": str(message), "traceback": tb}


def _exception_error(exc, plan):
    files = set(plan.files) | {mp.state.file for mp in plan.mods}
    tb = exc.__traceback__
    frames = traceback.extract_tb(tb)
    user = [fr for fr in frames if os.path.abspath(fr.filename) in files] or \
           [fr for fr in frames if not fr.filename.startswith(_AGENT_DIR)] or frames
    where = user[-1] if user else None
    lines = ["Traceback (most recent call last):\n"]
    kept = [fr for fr in frames if not fr.filename.startswith(_AGENT_DIR)]
    lines += traceback.format_list(kept)
    lines += traceback.format_exception_only(type(exc), exc)
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if isinstance(exc, FaultInjected):
        message = f"fault injected: {exc}"
    if isinstance(exc, SyntaxError) and exc.filename:
        return _error(exc.filename, exc.lineno or 0, exc.offset or 0, message, "".join(lines))
    return _error(where.filename if where else "", where.lineno if where else 0, 0, message, "".join(lines))
