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
import collections
import enum
import functools
import gc
import importlib.machinery
import importlib.util
import itertools
import os
import sys
import threading
import time
import traceback
import types
import weakref

from . import astdiff

MISSING = object()
_CO_GENERATORISH = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator
_LRU = type(functools.lru_cache(maxsize=None)(lambda: None))
_SIMPLE = (int, float, complex, str, bytes, bool, type(None))
#: Never copied from a new class body nor deleted: the instance layout's descriptors, and an ABC's registry of
#: virtual subclasses (registered at run time; the new class's is empty).
_SKIP_CLASS_KEYS = ("__dict__", "__weakref__", "_abc_impl")
_AGENT_DIR = os.path.dirname(os.path.abspath(__file__))


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
    def __init__(self, name, module, file, source, tree, code):
        self.name = name
        self.module = module
        self.file = file
        texts = astdiff.statement_texts(source, tree)
        dumps = [astdiff.dump(s) for s in tree.body]
        defs = astdiff.definitions(tree)
        self.commit(source, tree, CodeTable([code]), dumps, defs, _def_dumps(defs, tree, dumps, {}, set()), texts)

    def commit(self, source, tree, table, dumps, defs, def_dumps, texts):
        self.texts = {t: d for t, d in zip(texts, dumps) if t is not None}  # statement text -> its shape
        self.source = source
        self.tree = tree
        self.table = table
        self.dumps = dumps          # shape of each top-level statement
        self.defs = defs            # qualname -> def/class nodes
        self.def_dumps = def_dumps  # qualname -> their shapes

    def label(self, qualname):
        return qualname if self.name == "__main__" else f"{self.name}.{qualname}"


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
        self.codes = {}        # index -> compiled statement
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


# ---- transaction: snapshots taken before a change, restored on failure ----

class Transaction:
    def __init__(self):
        self.dicts = {}
        self.funcs = {}
        self.classes = {}
        self.cells = {}
        self.modules_before = set(sys.modules)
        self.post = []  # run only after commit (cache clears)

    def save_dict(self, d):
        if id(d) not in self.dicts:
            self.dicts[id(d)] = (d, dict(d))

    def dict_before(self, d):
        return self.dicts[id(d)][1]

    def save_function(self, f):
        if id(f) not in self.funcs:
            self.funcs[id(f)] = (f, f.__code__, f.__defaults__, f.__kwdefaults__, f.__annotations__, f.__doc__,
                                 dict(f.__dict__))

    def save_class(self, c):
        if id(c) not in self.classes:
            self.classes[id(c)] = (c, dict(c.__dict__))

    def save_cell(self, cell):
        if id(cell) not in self.cells:
            try:
                value = cell.cell_contents
            except ValueError:
                value = MISSING
            self.cells[id(cell)] = (cell, value)

    def rollback(self):
        for cell, value in self.cells.values():
            if value is MISSING:
                del cell.cell_contents
            else:
                cell.cell_contents = value
        for f, code, defaults, kwdefaults, annotations, doc, fdict in self.funcs.values():
            set_function(f, code, defaults, kwdefaults, annotations, doc)
            f.__dict__.clear()
            f.__dict__.update(fdict)
        for c, snap in self.classes.values():
            for key in [k for k in c.__dict__ if k not in snap and k not in _SKIP_CLASS_KEYS]:
                type.__delattr__(c, key)
            for key, value in snap.items():
                if key not in _SKIP_CLASS_KEYS and c.__dict__.get(key, MISSING) is not value:
                    type.__setattr__(c, key, value)
        for d, snap in self.dicts.values():
            d.clear()
            d.update(snap)
        for name in [m for m in sys.modules if m not in self.modules_before]:
            sys.modules.pop(name, None)


_FUNCTION_SLOTS = ("__code__", "__defaults__", "__kwdefaults__", "__annotations__", "__doc__")


def set_function(f, code, defaults, kwdefaults, annotations, doc):
    """Sets a function's code, defaults, annotations and doc in one C-level call: deque consumes a map of the
    builtin setattr without running a bytecode, so the interpreter never checks for a thread switch in between and
    no call on another thread can start with new code and old defaults (or the reverse)."""
    collections.deque(map(setattr, itertools.repeat(f, 5), _FUNCTION_SLOTS,
                          (code, defaults, kwdefaults, annotations, doc)), maxlen=0)


# ---- what counts as a function-like object, and when two versions have the same shape ----

def _callable_like(obj):
    return isinstance(obj, (types.FunctionType, staticmethod, classmethod, property, _LRU))


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return MISSING


def _qual(code):
    return getattr(code, "co_qualname", code.co_name)


def _functions_in(obj, depth=0):
    """The Python functions inside a function-like object (wrappers, their wrapped functions, accessors)."""
    if depth > 8:
        return
    if isinstance(obj, types.FunctionType):
        yield obj
        w = obj.__dict__.get("__wrapped__")
        if w is not None:
            yield from _functions_in(w, depth + 1)
        for cell in obj.__closure__ or ():
            v = _cell_value(cell)
            if v is not w and _callable_like(v):
                yield from _functions_in(v, depth + 1)
    elif isinstance(obj, (staticmethod, classmethod)):
        yield from _functions_in(obj.__func__, depth + 1)
    elif isinstance(obj, property):
        for f in (obj.fget, obj.fset, obj.fdel):
            if f is not None:
                yield from _functions_in(f, depth + 1)
    elif isinstance(obj, _LRU):
        yield from _functions_in(obj.__wrapped__, depth + 1)


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
                with open(file, "rb") as fh:
                    source = importlib.util.decode_source(fh.read())
            except (OSError, SyntaxError, UnicodeDecodeError):
                return None
        try:
            tree = ast.parse(source, file)
            code = compile(tree, file, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return None
        st = ModuleState(name, module, file, source, tree, code)
        self.modules[name] = st
        self.by_file[file] = name
        return st

    def track_main(self, module, file, source, tree, code):
        st = ModuleState("__main__", module, os.path.abspath(file), source, tree, code)
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
                    with open(path, "rb") as fh:
                        source = importlib.util.decode_source(fh.read())
                except (OSError, UnicodeDecodeError, SyntaxError) as e:
                    plan.error = _error(path, 0, 0, f"cannot read {path}: {e}")
                    return plan
            try:
                tree = ast.parse(source, path)
                flags = astdiff.future_flags(tree)
                table = CodeTable([compile(tree, path, "exec", flags=flags, dont_inherit=True)])
            except SyntaxError as e:
                plan.error = _error(e.filename or path, e.lineno or 0, e.offset or 0,
                                    f"{type(e).__name__}: {e.msg}")
                return plan
            except (ValueError, RecursionError) as e:
                plan.error = _error(path, 0, 0, f"cannot compile {path}: {e}")
                return plan
            mp = ModulePlan(st, source, tree, table, flags)
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
        mp.texts = astdiff.statement_texts(mp.source, tree)
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
        for i in mp.run:
            mp.codes[i] = compile(ast.Module(body=[tree.body[i]], type_ignores=[]), st.file, "exec",
                                  flags=mp.flags, dont_inherit=True)
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
            mp = ModulePlan(st, st.source, st.tree, st.table, astdiff.future_flags(st.tree))
            mp.dumps, mp.defs, mp.def_dumps = st.dumps, st.defs, st.def_dumps
            mp.dependent_only = True
            mp.run = stmts
            for i in stmts:
                mp.codes[i] = compile(ast.Module(body=[st.tree.body[i]], type_ignores=[]), st.file, "exec",
                                      flags=mp.flags, dont_inherit=True)
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
        ctx = _Apply(self, txn, report)
        gc_was = gc.isenabled()
        gc.disable()  # a collection in the middle would cost time proportional to the heap
        try:
            for mp in plan.mods:
                ctx.apply_module(mp)
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
                mp.state.commit(mp.source, mp.tree, mp.table, mp.dumps, mp.defs, mp.def_dumps, mp.texts)
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
    def live_frames(self):
        """Per thread, the frames running a code object that a reload replaced (outermost first)."""
        threads = []
        names = {t.ident: t for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            stack = []
            f = frame
            while f is not None:
                stack.append(f)
                f = f.f_back
            stack.reverse()
            frames = []
            for depth, f in enumerate(stack):
                gen = self.retired.get(f.f_code)
                if gen is not None:
                    frames.append({"name": _qual(f.f_code), "file": f.f_code.co_filename, "depth": depth,
                                   "oldGeneration": gen})
            t = names.get(ident)
            tid = getattr(t, "native_id", None) or ident
            threads.append({"tid": int(tid), "frames": frames})
        return threads


class _Apply:
    """One apply: the patching steps, recording what they do in the transaction and the report."""

    def __init__(self, engine, txn, report):
        self.engine = engine
        self.txn = txn
        self.report = report
        self.mapping = {}      # id(new class) -> old class it was merged into
        self.swapped = {}      # old code -> its generation (for live-frames)
        self.installed = []
        self.changed_anything = False
        self.replaced_changed = set()  # old code objects whose definition changed (for running-frame refusals)
        self.frozen = set()    # qualnames of classes whose change was refused: they keep their old definition
        self.stale = []        # weakrefs to classes this apply replaces

    def refuse(self, name, reason):
        entry = {"name": name, "reason": reason}
        if entry not in self.report["refused"]:
            self.report["refused"].append(entry)

    # -- one module --
    def apply_module(self, mp):
        e, st, txn = self.engine, mp.state, self.txn
        g = st.module.__dict__
        txn.save_dict(g)
        self.mp = mp
        persist = set(_persist(g))
        index = self._index(st)  # (function, key, code at start) before anything changes
        stop = self._main_stop(mp) if st.name == "__main__" else None
        ran = False
        for i in mp.run:
            stmt = mp.tree.body[i]
            if stop is not None and i >= stop:
                if i in mp.changed and i != stop:
                    self.refuse(f"{st.label('<module>')} line {stmt.lineno}",
                                f"comes after the top-level statement that is running now (line "
                                f"{mp.tree.body[stop].lineno}); it runs in its old form when that one ends")
                continue
            names = astdiff.bound_names(stmt)
            if names and "*" not in names and all(n in persist and n in g for n in names):
                continue  # every name it binds is in __persist__: keep the values, skip the side effects
            e._fault("exec")
            before = dict(g)
            exec(mp.codes[i], g)
            ran = True
            if not mp.dependent_only and i in mp.changed and not isinstance(
                    stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                for n in names:
                    if n != "*" and not _dunder(n) and n not in persist:
                        (self.report["patched"] if n in before else self.report["added"]).append(st.label(n))
            for key, value in list(g.items()):
                old = before.get(key, MISSING)
                if old is not value:
                    e._fault("reconcile")
                    self._reconcile(st, g, key, old, value)
        if mp.dependent_only:
            if ran:
                self.report["modules"].append(st.name)
                self.changed_anything = True
            return
        persist |= set(_persist(g))
        snap = txn.dict_before(g)
        for name in persist:
            if name in snap and g.get(name, MISSING) is not snap[name]:
                e._fault("persist")
                g[name] = snap[name]
        for name in sorted(mp.removed_names):
            if name in g and name not in persist:
                e._fault("remove")
                del g[name]
                self.report["removed"].append(st.label(name))
                self.changed_anything = True
        self._swap_codes(st, mp, index)
        self._refuse_running(st)
        for q in mp.generators:
            self.refuse(st.label(q), "generator function: generators created before the reload keep running the "
                                     "old code until they finish; new calls use the new code")
        labels = self.report
        labels["patched"].extend(st.label(q) for q in mp.patched
                                 if st.label(q) not in labels["patched"] and not self._is_frozen(q))
        labels["added"].extend(st.label(q) for q in mp.added if st.label(q) not in labels["added"])
        labels["removed"].extend(st.label(q) for q in mp.removed if st.label(q) not in labels["removed"])
        if ran or mp.patched or mp.added or mp.removed or self.swapped:
            self.changed_anything = True
        self.report["modules"].append(st.name)

    def _index(self, st):
        """The module's functions and classes, found from its namespace (the index), keyed by code identity."""
        g = st.module.__dict__
        modname = g.get("__name__", st.name)
        seen = set()
        out = []

        def visit(obj, depth):
            if depth > 12 or id(obj) in seen:
                return
            if isinstance(obj, type):
                if obj.__module__ != modname:
                    return
                seen.add(id(obj))
                for v in list(obj.__dict__.values()):
                    visit(v, depth + 1)
            elif _callable_like(obj):
                seen.add(id(obj))
                for f in _functions_in(obj):
                    if id(f) in seen and f is not obj:
                        continue
                    seen.add(id(f))
                    if f.__code__.co_filename == st.file:
                        key = st.table.key_of(f.__code__)
                        if key is not None:
                            out.append((f, key, f.__code__))

        for v in list(g.values()):
            visit(v, 0)
        return out

    def _main_stop(self, mp):
        """For `__main__`: the index of the new top-level statement that is running now (it and what follows it
        are not run by a reload), or None when the script's module code is not on the stack."""
        e = self.engine
        f = sys._getframe()
        while f is not None and f.f_code is not e.main_code:
            f = f.f_back
        if e.main_code is None or e.main_tree is None:
            return None  # in-process use: no frame runs the script's top level
        # Not on the stack (the script is about to start) or before its first statement: nothing of __main__'s top
        # level may run now, or the script would then run its old definitions over the new ones.
        r = astdiff.statement_at(e.main_tree.body, f.f_lineno) if f is not None else -1
        r = max(r, 0)
        import difflib  # only here: keeps the agent's start-up imports small
        orig = e.main_dumps
        new = mp.dumps
        j = len(new)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, orig, new, autojunk=False).get_opcodes():
            if i1 <= r < i2:
                j = j1 + (r - i1) if tag == "equal" else j1
                break
        if j < len(new) and new[j] != orig[r]:
            self.refuse(f"{mp.state.label('<module>')} line {mp.tree.body[j].lineno}",
                        f"this top-level statement is running now (since line {e.main_tree.body[r].lineno} of the "
                        "script as started); edits to it take effect when the script is run again — move the loop "
                        "body into a function to reload it")
        return j

    # -- reconciling a rebound name --
    def _reconcile(self, st, g, key, old, new):
        if old is MISSING:
            return
        if isinstance(old, type) and isinstance(new, type):
            if old.__module__ == g.get("__name__") and old.__qualname__ == new.__qualname__:
                if self._patch_class(st, old, new):
                    g[key] = old
                return
        elif _callable_like(old) and self._match(old, new, 0):
            self._apply_match(old, new)
            g[key] = old
        elif _callable_like(old) and _callable_like(new):
            self.refuse(st.label(key), "re-created with a different shape (decorator, closure values or kind "
                                       "changed): references taken before the reload keep the old object")

    def _match(self, a, b, depth):
        if depth > 8 or type(a) is not type(b):
            return False
        if isinstance(a, types.FunctionType):
            if _qual(a.__code__) != _qual(b.__code__) or a.__code__.co_freevars != b.__code__.co_freevars:
                return False
            for ca, cb in zip(a.__closure__ or (), b.__closure__ or ()):
                if not self._compatible(_cell_value(ca), _cell_value(cb), depth):
                    return False
            return True
        if isinstance(a, (staticmethod, classmethod)):
            return self._match(a.__func__, b.__func__, depth + 1)
        if isinstance(a, property):
            for x, y in ((a.fget, b.fget), (a.fset, b.fset), (a.fdel, b.fdel)):
                if (x is None) != (y is None) or (x is not None and not self._match(x, y, depth + 1)):
                    return False
            return True
        if isinstance(a, _LRU):
            return a.cache_parameters() == b.cache_parameters() and self._match(a.__wrapped__, b.__wrapped__, depth + 1)
        return False

    def _compatible(self, va, vb, depth):
        if va is vb:
            return True
        if isinstance(vb, type) and self.mapping.get(id(vb)) is va:
            return True
        if _callable_like(va):
            return self._match(va, vb, depth + 1)
        if type(va) is type(vb) and isinstance(va, _SIMPLE):
            return va == vb
        if type(va) is type(vb) is tuple:
            return len(va) == len(vb) and all(self._compatible(x, y, depth + 1) for x, y in zip(va, vb))
        return False

    def _apply_match(self, a, b):
        if a is b:
            return
        if isinstance(a, types.FunctionType):
            self._patch_function(a, b)
            for ca, cb in zip(a.__closure__ or (), b.__closure__ or ()):
                va, vb = _cell_value(ca), _cell_value(cb)
                if va is not vb and _callable_like(va):
                    self._apply_match(va, vb)
        elif isinstance(a, (staticmethod, classmethod)):
            self._apply_match(a.__func__, b.__func__)
        elif isinstance(a, property):
            for x, y in ((a.fget, b.fget), (a.fset, b.fset), (a.fdel, b.fdel)):
                if x is not None:
                    self._apply_match(x, y)
        elif isinstance(a, _LRU):
            before = a.__wrapped__.__code__ if isinstance(a.__wrapped__, types.FunctionType) else None
            self._apply_match(a.__wrapped__, b.__wrapped__)
            if before is None or a.__wrapped__.__code__ != before:
                self.txn.post.append(a.cache_clear)

    def _patch_function(self, f, nf):
        self.txn.save_function(f)
        self.engine._fault("patch-function")
        old = f.__code__
        if old != nf.__code__ or old.co_filename != nf.__code__.co_filename:
            self._note_swap(f, old, nf.__code__)
        set_function(f, nf.__code__, nf.__defaults__, nf.__kwdefaults__, nf.__annotations__, nf.__doc__)
        for k, v in nf.__dict__.items():
            if k != "__wrapped__":
                f.__dict__[k] = v

    def _note_swap(self, f, old, new):
        self.swapped[old] = self.engine.code_gen.get(old, self.engine.retired.get(old, self.engine.generation))
        self.installed.append(new)
        key = self.mp.state.table.key_of(old) if old.co_filename == self.mp.state.file else None
        if key is not None and key[0] in self.mp.changed_defs:
            self.replaced_changed.add(old)

    # -- classes --
    def _patch_class(self, st, c, n):
        """Merges new class `n` into old class `c`. True: `c` stays (patched or, when refused, unchanged);
        False: the name takes `n` (an enum whose members changed)."""
        if c is n:
            return True
        label = st.label(c.__qualname__)
        if self._layout_refusal(st, c, n):
            self.frozen.add(c.__qualname__)
            return True
        if isinstance(c, enum.EnumMeta):
            old_members = [(k, m.value) for k, m in c.__members__.items()]
            new_members = [(k, m.value) for k, m in n.__members__.items()]
            if old_members != new_members:
                self.refuse(label, "enum members changed: the enum is a new class from now on; members kept from "
                                   "before are not equal to the new ones")
                self.stale.append(weakref.ref(c))  # counted once the reload commits
                self.changed_anything = True
                return False
        self.mapping[id(n)] = c
        self.txn.save_class(c)
        keep = self.mp.class_keep.get(c.__qualname__, set())
        old_names = self.mp.class_old_names.get(c.__qualname__, set())
        is_enum = isinstance(c, enum.EnumMeta)
        members = set(c.__dict__.get("_member_map_", ())) if is_enum else set()
        for key, nv in list(n.__dict__.items()):
            if key in _SKIP_CLASS_KEYS or isinstance(nv, types.MemberDescriptorType):
                continue
            if is_enum and (key in members or key in ("__new__",) or _sunder(key)):
                continue
            ov = c.__dict__.get(key, MISSING)
            if ov is nv or (key in keep and ov is not MISSING):
                continue
            self.engine._fault("patch-class")
            if ov is not MISSING and _callable_like(ov) and self._match(ov, nv, 0):
                self._apply_match(ov, nv)
                continue
            if isinstance(ov, type) and isinstance(nv, type) and ov.__qualname__ == nv.__qualname__ \
                    and ov.__module__ == nv.__module__:
                if self._patch_class(st, ov, nv):
                    continue
            self._fix_class_cells(nv)
            if isinstance(ov, types.FunctionType) and isinstance(nv, types.FunctionType) \
                    and ov.__code__.co_filename == st.file:
                # A plain method with new free variables (it uses super() or __class__ now): the class gets the new
                # function; a bound method someone holds keeps calling the old one.
                why = ("new free variables (it uses super() or __class__ now)"
                       if ov.__code__.co_freevars != nv.__code__.co_freevars
                       else "re-created with a different shape (its decorator or closure values changed)")
                self.refuse(st.label(f"{c.__qualname__}.{key}"),
                            f"{why}: the class has the new version; bound methods taken before the reload keep the "
                            "old one")
            for f in _functions_in(ov) if _callable_like(ov) else ():
                self.swapped.setdefault(f.__code__, self.engine.code_gen.get(f.__code__, self.engine.generation))
            type.__setattr__(c, key, nv)
        for key in list(c.__dict__):
            if key in n.__dict__ or key in _SKIP_CLASS_KEYS or (is_enum and (key in members or _sunder(key))):
                continue
            if key in old_names or _dunder(key):
                self.engine._fault("patch-class")
                type.__delattr__(c, key)
        return True

    def _layout_refusal(self, st, c, n):
        label = st.label(c.__qualname__)
        if type(c) is not type(n):
            self.refuse(label, f"metaclass changed ({type(c).__name__} -> {type(n).__name__}): existing instances "
                               "cannot change class; the class keeps its old definition (recycle the host)")
            return True
        if c.__dict__.get("__slots__", MISSING) != n.__dict__.get("__slots__", MISSING):
            self.refuse(label, "__slots__ changed: the memory layout of existing instances is fixed; the class keeps "
                               "its old definition (recycle the host)")
            return True
        bases = tuple(self.mapping.get(id(b), b) for b in n.__bases__)
        if bases != c.__bases__:
            self.refuse(label, "base classes changed: existing instances keep the old ones; the class keeps its old "
                               "definition (recycle the host)")
            return True
        return False

    def _fix_class_cells(self, obj):
        """`super()` and `__class__` in functions of the new class body point at the new class; point them at the
        old one, which is the class that stays."""
        for f in _functions_in(obj):
            for cell in f.__closure__ or ():
                v = _cell_value(cell)
                if isinstance(v, type) and id(v) in self.mapping:
                    self.txn.save_cell(cell)
                    cell.cell_contents = self.mapping[id(v)]

    # -- functions not re-run: new code (new line numbers) in place --
    def _swap_codes(self, st, mp, index):
        for f, key, start in index:
            if f.__code__ is not start or self._is_frozen(key[0]):
                continue  # patched above from a re-run statement, or in a class that keeps its old definition
            new = mp.table.code(key)
            if new is None or new == start:
                continue
            if new.co_freevars != start.co_freevars:
                if key[0] in mp.changed_defs:
                    self.refuse(st.label(key[0]),
                                f"closure whose free variables changed ({', '.join(start.co_freevars) or 'none'} -> "
                                f"{', '.join(new.co_freevars) or 'none'}): this function object keeps its old code "
                                "until it is created again")
                continue
            self.engine._fault("swap-code")
            self.txn.save_function(f)
            self._note_swap(f, start, new)
            f.__code__ = new
        for key in mp.changed_defs:
            if ".<locals>." in key and not any(k[0] == key for _, k, _ in index):
                self.refuse(st.label(key), "inner function: the ones created before the reload (not reachable "
                                           "from the module's names) keep their old code; new ones use the new code")

    def _is_frozen(self, qualname):
        return any(qualname == p or qualname.startswith(p + ".") for p in self.frozen)

    def _refuse_running(self, st):
        if not self.replaced_changed:
            return
        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            stack = []
            f = frame
            while f is not None:
                stack.append(f)
                f = f.f_back
            stack.reverse()
            for depth, f in enumerate(stack):
                if f.f_code in self.replaced_changed:
                    self.refuse(st.label(_qual(f.f_code)),
                                f"running now on thread {names.get(ident, ident)} (depth {depth}): keeps its old code "
                                "until it is re-entered")



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


def _persist(g):
    p = g.get("__persist__", ())
    if isinstance(p, str):
        return [p]
    try:
        return [n for n in p if isinstance(n, str)]
    except TypeError:
        return []


def _dunder(name):
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _sunder(name):
    return len(name) > 2 and name[0] == "_" and name[-1] == "_" and name[1] != "_" and name[-2] != "_"


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
