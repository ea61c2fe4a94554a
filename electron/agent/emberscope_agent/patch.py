"""Applying one reload: the patching steps (called by reload.Engine.apply on the main thread) and the transaction
that undoes them. See reload.py for the model and electron/agent/README.md for the semantics."""
import ast
import collections
import enum
import functools
import itertools
import sys
import threading
import types
import weakref

from . import astdiff

MISSING = object()
_LRU = type(functools.lru_cache(maxsize=None)(lambda: None))
_SIMPLE = (int, float, complex, str, bytes, bool, type(None))
#: Never copied from a new class body nor deleted: the instance layout's descriptors, and an ABC's registry of
#: virtual subclasses (registered at run time; the new class's is empty).
_SKIP_CLASS_KEYS = ("__dict__", "__weakref__", "_abc_impl")


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
            self.cells[id(cell)] = (cell, _cell_value(cell))

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


class Apply:
    """One apply: the patching steps, recording what they do in the transaction and the report."""

    def __init__(self, engine, txn, report):
        self.engine = engine
        self.txn = txn
        self.report = report
        self.mapping = {}      # id(new class) -> old class it was merged into
        self.swapped = {}      # old code -> its generation (for live-frames)
        self.installed = []
        self.changed_anything = False
        # old code objects whose definition changed -> the module they were replaced in (running-frame refusals)
        self.replaced_changed = {}
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
            self.replaced_changed[old] = self.mp.state

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
                if _qual(f.__code__) in self.mp.changed_defs:
                    self.replaced_changed[f.__code__] = self.mp.state  # its running frames are old code (live-frames)
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

    def refuse_running(self):
        """After every module of the apply: frames running code whose definition changed keep it. One look at the
        stacks for the whole apply; each frame is labelled by the module its code was replaced in."""
        if not self.replaced_changed:
            return
        for ident, thread, stack in thread_stacks():
            for depth, f in enumerate(stack):
                st = self.replaced_changed.get(f.f_code)
                if st is not None:
                    self.refuse(st.label(_qual(f.f_code)),
                                f"running now on thread {thread.name if thread else ident} (depth {depth}): keeps its "
                                "old code until it is re-entered")



def thread_stacks():
    """Per running thread: (its ident, its threading.Thread or None if threading does not know it, its frames
    outermost first)."""
    threads = {t.ident: t for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        stack = []
        while frame is not None:
            stack.append(frame)
            frame = frame.f_back
        stack.reverse()
        yield ident, threads.get(ident), stack


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


