#!/usr/bin/env python3
"""Berth checkpoint worker (Python standard library only, Python 3.8+).

Two modes:

``capture``
    Runs the code cells of a notebook before the served cell (which is compiled; with
    --run-served it runs too), in a fresh
    ``__berth_cell__`` module namespace, with a wall-clock timeout and an address-space limit, and
    writes a checkpoint blob that lets an instance restore the global state WITHOUT re-running the
    computation: import statements and top-level ``def``/``class`` statements are kept as source
    and re-executed, every other global value is pickled.  The result is one JSON line on stdout.

``serve``
    Restores the interpreter state from a blob and answers HTTP/1.1 on one port:
    ``GET /healthz`` and ``POST /execute`` (bind the inputs as globals, run the served cell, return
    the declared outputs).  One call at a time; state persists between calls.  Every request must
    carry ``Authorization: Bearer <token>`` with the token Berth gave this instance in
    ``BERTH_WORKER_TOKEN``: 401 without it, 403 with another.  The port runs whatever is posted to
    it, so only Berth may call it.

See ``main()`` for the command line; the JSON shapes are described next to the code that makes
them (``_failure``, ``_Runtime.execute``).
"""

import argparse
import ast
import base64
import binascii
import builtins
import hmac
import importlib
import io
import json
import linecache
import math
import numbers
import os
import pickle
import pickletools
import platform
import re
import selectors
import signal
import socket
import socketserver
import sys
import threading
import traceback
import types
from http.server import BaseHTTPRequestHandler, HTTPServer

try:
    import resource  # POSIX only
except ImportError:  # pragma: no cover
    resource = None

MODULE_NAME = "__berth_cell__"
TOKEN_ENV = "BERTH_WORKER_TOKEN"
BLOB_FORMAT = 1
PICKLE_PROTOCOL = 4

_CELL_FILE = re.compile(r"^<cell \d+>$")
_WORKER_FILES = {__file__, os.path.abspath(__file__)}
_MISSING = object()


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _cell_filename(index):
    return "<cell %d>" % index


def _register_source(filename, source):
    """Makes tracebacks show the source lines of ``<cell N>`` frames."""
    # mtime None: linecache.checkcache() leaves the entry alone.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _type_name(value):
    t = type(value)
    module = getattr(t, "__module__", None) or ""
    qualname = getattr(t, "__qualname__", None) or t.__name__
    if module in ("builtins", MODULE_NAME):
        return qualname
    return "%s.%s" % (module, qualname)


def _definition_type_name(value):
    if isinstance(value, type):
        return "class"
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        return "function"
    return _type_name(value)


def _split_lines(chunks):
    lines = []
    for chunk in chunks:
        lines.extend(chunk.rstrip("\n").split("\n"))
    return lines


def _trimmed_frames(tb):
    """The frames of a traceback from the first ``<cell N>`` frame on, without this file's frames."""
    frames = traceback.extract_tb(tb)
    start = 0
    for i, frame in enumerate(frames):
        if _CELL_FILE.match(frame.filename or ""):
            start = i
            break
    return traceback.StackSummary.from_list(
        [f for f in frames[start:] if f.filename not in _WORKER_FILES]
    )


def _format_exception(exc, last_line=None):
    """Formats an exception (with its chain) as a list of lines, trimmed to user frames.

    ``last_line`` replaces the final "Name: message" line of the outermost exception.
    """
    lines = []
    seen = set()

    def emit(e, last):
        seen.add(id(e))
        cause = e.__cause__
        context = e.__context__
        if cause is not None and id(cause) not in seen:
            emit(cause, None)
            lines.extend(["", "The above exception was the direct cause of the following exception:", ""])
        elif context is not None and not e.__suppress_context__ and id(context) not in seen:
            emit(context, None)
            lines.extend(["", "During handling of the above exception, another exception occurred:", ""])
        frames = _trimmed_frames(e.__traceback__)
        if frames:
            lines.append("Traceback (most recent call last):")
            lines.extend(_split_lines(frames.format()))
        if last is not None:
            lines.append(last)
        else:
            lines.extend(_split_lines(traceback.format_exception_only(type(e), e)))

    try:
        emit(exc, last_line)
    except Exception:  # never let formatting hide the error itself
        lines.append("%s: %s" % (type(exc).__name__, exc))
    return lines


def _format_stack(frame, last_line):
    """The current stack of a frame as traceback lines, trimmed to user frames."""
    lines = []
    if frame is not None:
        frames = traceback.extract_stack(frame)
        start = 0
        for i, f in enumerate(frames):
            if _CELL_FILE.match(f.filename or ""):
                start = i
                break
        kept = traceback.StackSummary.from_list([f for f in frames[start:] if f.filename not in _WORKER_FILES])
        if kept:
            lines.append("Traceback (most recent call last):")
            lines.extend(_split_lines(kept.format()))
    lines.append(last_line)
    return lines


def _exception_message(exc):
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"


def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def _detach_stdin():
    """Cells that read standard input get EOF at once instead of hanging."""
    try:
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
    except OSError:
        pass


def _become_subreaper():
    """Makes the capture worker the parent of its cells' orphans (Linux only).

    A cell may start a process that leaves the worker's session
    (`subprocess.Popen(..., start_new_session=True)`) and outlive the cell that
    started it; a kill of the worker's process group does not reach it. As a
    child subreaper, the worker stays the ancestor of every such process, so
    `_end_descendants` finds them all. Elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


def _descendants(root):
    """The pids whose parent chain leads to `root`, read from /proc (empty without /proc)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    children = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found = []
    stack = [root]
    while stack:
        for pid in children.get(stack.pop(), ()):
            found.append(pid)
            stack.append(pid)
    return found


def _end_descendants():
    """Ends every process the cells started, however they detached, before the worker exits.

    Each one found is stopped first, so none can start another between the scans
    of /proc; then all are killed.
    """
    me = os.getpid()
    seen = set()
    for _ in range(100):
        found = [pid for pid in _descendants(me) if pid not in seen]
        if not found:
            break
        for pid in found:
            seen.add(pid)
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
    for pid in seen:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Source segments of top-level statements
# ---------------------------------------------------------------------------------------------


def _byte_lines(source):
    # bytes.splitlines() splits on \n, \r and \r\n only, like the Python tokenizer.
    return source.encode("utf-8").splitlines(True)


def _segment(lines, l1, c1, l2, c2):
    """Source text between two (1-based line, UTF-8 byte column) positions."""
    if l1 == l2:
        return lines[l1 - 1][c1:c2].decode("utf-8")
    parts = [lines[l1 - 1][c1:]] + lines[l1:l2 - 1] + [lines[l2 - 1][:c2]]
    return b"".join(parts).decode("utf-8")


def _statement_source(lines, stmt):
    """(first line, source) of a top-level statement, decorators included."""
    l1, c1 = stmt.lineno, stmt.col_offset
    decorators = getattr(stmt, "decorator_list", None) or []
    if decorators:
        first = min(decorators, key=lambda d: (d.lineno, d.col_offset))
        l1 = first.lineno
        at = lines[l1 - 1].rfind(b"@", 0, first.col_offset)
        c1 = at if at >= 0 else 0
    return l1, _segment(lines, l1, c1, stmt.end_lineno, stmt.end_col_offset)


def _lambda_targets(stmt):
    """Names bound by ``name = lambda ...`` (or ``name: T = lambda ...``), else None."""
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Lambda):
        if all(isinstance(t, ast.Name) for t in stmt.targets):
            return [t.id for t in stmt.targets]
    if (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.value, ast.Lambda)
        and isinstance(stmt.target, ast.Name)
        and stmt.simple
    ):
        return [stmt.target.id]
    return None


def _collect_statements(cell_index, source, tree):
    """Top-level imports and definitions of one cell: (imports, definitions).

    Each import is (cell, line, source); each definition is (cell, line, source, [names]).
    """
    lines = _byte_lines(source)
    imports = []
    definitions = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            line, text = _statement_source(lines, stmt)
            imports.append((cell_index, line, text))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            line, text = _statement_source(lines, stmt)
            definitions.append((cell_index, line, text, [stmt.name]))
        else:
            names = _lambda_targets(stmt)
            if names:
                line, text = _statement_source(lines, stmt)
                definitions.append((cell_index, line, text, names))
    return imports, definitions


def _compile_at(source, cell_index, line):
    """Compiles a statement so that its code objects carry ``<cell N>`` and the original lines."""
    return compile("\n" * (line - 1) + source, _cell_filename(cell_index), "exec")


# ---------------------------------------------------------------------------------------------
# capture
# ---------------------------------------------------------------------------------------------


class _CaptureTimeout(BaseException):
    """Raised into user code by SIGALRM when the capture deadline passes."""


class _Deadline(object):
    def __init__(self, seconds, on_stuck=None):
        self.seconds = seconds
        self.expired = False
        self.armed = False
        self.fired = 0
        # Called with the current frame when user code keeps swallowing the timeout.
        self.on_stuck = on_stuck

    def arm(self):
        signal.signal(signal.SIGALRM, self._on_alarm)
        self.armed = True
        # The interval re-raises the timeout if user code swallows it.
        signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.5)

    def disarm(self):
        self.armed = False
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        except Exception:
            pass

    def _on_alarm(self, signum, frame):
        if not self.armed:
            return
        self.expired = True
        self.fired += 1
        if self.fired >= 3 and self.on_stuck is not None:
            self.on_stuck(frame)
        raise _CaptureTimeout()


class _CaptureFailed(Exception):
    def __init__(self, error):
        Exception.__init__(self, error.get("error_message"))
        self.error = error


def _failure(kind, cell_index=None, variable=None, type_name=None, error_name=None,
             error_message="", tb=None):
    """The ``error`` object of a failed capture."""
    return {
        "kind": kind,
        "cell_index": cell_index,
        "variable": variable,
        "type_name": type_name,
        "error_name": error_name,
        "error_message": error_message,
        "traceback": tb or [],
    }


class _Capture(object):
    def __init__(self, args, on_stuck=None):
        self.args = args
        self.on_stuck = on_stuck
        self.deadline = None
        self.current_cell = None
        self.current_variable = None

    # -- failures ----------------------------------------------------------------------------

    def timeout_error(self, exc=None, frame=None):
        if self.current_variable is not None:
            where = 'capturing variable "%s"' % self.current_variable
        elif self.current_cell is not None:
            where = "cell %d" % self.current_cell
        else:
            where = "the capture"
        message = "%s did not finish within the capture timeout of %g s" % (where, self.args.timeout)
        last = "TimeoutError: " + message
        return _failure(
            "timeout",
            cell_index=self.current_cell if self.current_variable is None else None,
            variable=self.current_variable,
            error_name="TimeoutError",
            error_message=message,
            tb=_format_exception(exc, last) if exc is not None else _format_stack(frame, last),
        )

    def memory_error(self, exc):
        if self.args.memory_mb:
            limit = " (limit %d MB)" % self.args.memory_mb
        else:
            limit = ""
        if self.current_variable is not None:
            where = 'capturing variable "%s"' % self.current_variable
        elif self.current_cell is not None:
            where = "cell %d" % self.current_cell
        else:
            where = "the capture"
        message = "%s ran out of memory%s" % (where, limit)
        detail = _exception_message(exc)
        if detail:
            message += ": " + detail
        return _failure(
            "memory",
            cell_index=self.current_cell if self.current_variable is None else None,
            variable=self.current_variable,
            error_name=type(exc).__name__,
            error_message=message,
            tb=_format_exception(exc),
        )

    # -- steps -------------------------------------------------------------------------------

    def load_cells(self):
        with open(self.args.cells, "r", encoding="utf-8") as f:
            doc = json.load(f)
        cells = doc.get("cells") if isinstance(doc, dict) else doc
        if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
            raise _UsageError('--cells must hold {"cells": ["source", ...]}')
        served = self.args.served
        if not 0 <= served < len(cells):
            raise _UsageError("--served %d is out of range (%d cells)" % (served, len(cells)))
        return cells, served

    def parse(self, cells, served):
        trees = []
        codes = []
        for i in range(served + 1):
            filename = _cell_filename(i)
            try:
                tree = ast.parse(cells[i], filename, "exec")
                code = compile(tree, filename, "exec")
            except SyntaxError as e:
                message = _exception_message(e)
                text = (e.text or "").lstrip()
                if text[:1] in ("%", "!"):
                    message += " (IPython magics and shell escapes such as %pip or !ls are not supported)"
                raise _CaptureFailed(_failure(
                    "syntax",
                    cell_index=i,
                    error_name=type(e).__name__,
                    error_message=message,
                    tb=_split_lines(traceback.format_exception_only(type(e), e)),
                ))
            except (ValueError, TypeError) as e:  # e.g. NUL bytes in the source
                raise _CaptureFailed(_failure(
                    "syntax",
                    cell_index=i,
                    error_name="SyntaxError",
                    error_message="%s: %s" % (filename, _exception_message(e)),
                ))
            trees.append(tree)
            codes.append(code)
        return trees, codes

    def apply_limits(self):
        if self.args.memory_mb:
            if resource is None:
                raise _UsageError("--memory-mb needs the resource module (POSIX)")
            limit = int(self.args.memory_mb) * 1024 * 1024
            _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard != resource.RLIM_INFINITY and hard < limit:
                limit = hard
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if self.args.timeout:
            self.deadline = _Deadline(float(self.args.timeout), self.on_stuck)
            self.deadline.arm()

    def run(self):
        cells, served = self.load_cells()
        for i, source in enumerate(cells):
            _register_source(_cell_filename(i), source)
        trees, codes = self.parse(cells, served)

        module = types.ModuleType(MODULE_NAME)
        sys.modules[MODULE_NAME] = module
        namespace = module.__dict__
        path_before = list(sys.path)

        imports = []
        definitions = []
        # name -> the object bound right after the cell whose def/class/lambda statement made it
        defined_objects = {}

        self.apply_limits()
        # The served cell reads the call's inputs, which do not exist yet: by default it is only
        # compiled here (a syntax error still fails the capture) and runs on every call.
        for i in range(served + 1 if self.args.run_served else served):
            self.current_cell = i
            try:
                exec(codes[i], namespace)
            except BaseException as e:  # user code: anything, SystemExit included
                if self.deadline is not None:
                    self.deadline.disarm()
                if self.deadline is not None and self.deadline.expired:
                    raise _CaptureFailed(self.timeout_error(e))
                if isinstance(e, MemoryError):
                    raise _CaptureFailed(self.memory_error(e))
                raise _CaptureFailed(_failure(
                    "exception",
                    cell_index=i,
                    error_name=type(e).__name__,
                    error_message=_exception_message(e),
                    tb=_format_exception(e),
                ))
            finally:
                _flush_std()
            cell_imports, cell_definitions = _collect_statements(i, cells[i], trees[i])
            imports.extend(cell_imports)
            definitions.extend(cell_definitions)
            for _cell, _line, _text, names in cell_definitions:
                for name in names:
                    defined_objects[name] = namespace.get(name, _MISSING)
        if self.deadline is not None and self.deadline.expired:
            self.deadline.disarm()
            raise _CaptureFailed(self.timeout_error())
        self.current_cell = None

        variables, values, modules = self.capture_globals(namespace, defined_objects)
        if self.deadline is not None:
            self.deadline.disarm()

        blob = {
            "format": BLOB_FORMAT,
            "python_version": platform.python_version(),
            "cells": cells,
            "served": served,
            "imports": [text for _c, _l, text in imports],
            "definitions": [text for _c, _l, text, _n in _last_definitions(definitions)],
            "values": values,
            # Where each import/definition came from, so that restored code keeps its
            # <cell N> file name and line numbers in tracebacks.
            "import_origins": [[c, l] for c, l, _t in imports],
            "definition_origins": [[c, l] for c, l, _t, _n in _last_definitions(definitions)],
            # Globals bound to modules (name -> module name), also those imported in nested blocks.
            "modules": modules,
            # Entries the cells added to sys.path (e.g. sys.path.append("src")).
            "sys_path": [p for p in sys.path if p not in path_before],
            "variables": variables,
        }
        data = pickle.dumps(blob, protocol=PICKLE_PROTOCOL)
        _write_atomically(self.args.out, data)
        return {
            "ok": True,
            "python_version": blob["python_version"],
            "size": len(data),
            "variables": variables,
            "module_versions": _module_versions(values, modules, blob["sys_path"]),
        }

    def capture_globals(self, namespace, defined_objects):
        variables = []
        values = {}
        modules = {}
        failures = []  # (name, type name, message, exception)
        for name, value in list(namespace.items()):
            if name.startswith("_"):
                continue
            if getattr(builtins, name, _MISSING) is value:
                continue
            if isinstance(value, types.ModuleType):
                module_name = getattr(value, "__name__", None)
                if module_name == MODULE_NAME:
                    continue
                if not module_name or sys.modules.get(module_name) is not value:
                    failures.append((name, "module", 'module "%s" cannot be imported by name' % module_name, None))
                    continue
                modules[name] = module_name
                variables.append({"name": name, "type_name": module_name, "kind": "module"})
                continue
            if isinstance(value, io.IOBase) and _is_closed(value):
                # e.g. the `f` left behind by `with open(...) as f:`: nothing to restore.
                sys.stderr.write('berth-worker: not capturing "%s", a closed %s\n' % (name, _type_name(value)))
                continue
            if defined_objects.get(name, _MISSING) is value and callable(value):
                variables.append({"name": name, "type_name": _definition_type_name(value), "kind": "definition"})
                continue
            self.current_variable = name
            try:
                values[name] = pickle.dumps(value, protocol=PICKLE_PROTOCOL)
            except _CaptureTimeout as e:
                if self.deadline is not None:
                    self.deadline.disarm()
                raise _CaptureFailed(self.timeout_error(e))
            except MemoryError as e:
                raise _CaptureFailed(self.memory_error(e))
            except BaseException as e:
                if self.deadline is not None and self.deadline.expired:
                    self.deadline.disarm()
                    raise _CaptureFailed(self.timeout_error(e))
                failures.append((name, _type_name(value), _exception_message(e) or type(e).__name__, e))
                continue
            finally:
                self.current_variable = None
            variables.append({"name": name, "type_name": _type_name(value), "kind": "value"})
        if failures:
            name, type_name, reason, exc = failures[0]
            message = 'variable "%s" of type %s cannot be captured: %s' % (name, type_name, reason)
            if len(failures) > 1:
                message += "; also: " + ", ".join('"%s" (%s)' % (n, t) for n, t, _r, _e in failures[1:])
            message += " (delete it with del, or keep it out of the global scope, before the checkpoint)"
            raise _CaptureFailed(_failure(
                "uncapturable",
                variable=name,
                type_name=type_name,
                error_name=type(exc).__name__ if exc is not None else "TypeError",
                error_message=message,
                tb=_format_exception(exc) if exc is not None else [],
            ))
        return variables, values, modules


_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}


def _pickled_modules(data):
    """The modules whose classes and functions a pickle refers to (its GLOBAL/STACK_GLOBAL opcodes)."""
    found = set()
    recent = []  # strings pushed last: STACK_GLOBAL takes module and name from the top two
    memo = {}
    last = None
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name in _STRING_OPS:
                last = arg if isinstance(arg, str) else None
                if last is not None:
                    recent = (recent + [last])[-2:]
                continue
            if name == "GLOBAL":
                found.add(str(arg).split(" ", 1)[0])
            elif name == "STACK_GLOBAL":
                if len(recent) == 2:
                    found.add(recent[0])
            elif name == "MEMOIZE":
                memo[len(memo)] = last
                continue
            elif name in _PUT_OPS:
                memo[arg] = last
                continue
            elif name in _GET_OPS:
                last = memo.get(arg)
                if isinstance(last, str):
                    recent = (recent + [last])[-2:]
                continue
            last = None
    except Exception:  # a pickle the scanner does not follow: what was found so far
        pass
    return found


def _is_standard_module(top):
    if top in sys.builtin_module_names or top in ("__main__", "builtins", MODULE_NAME):
        return True
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return top in names
    spec = None
    try:
        import importlib.util
        spec = importlib.util.find_spec(top)
    except Exception:
        return False
    origin = getattr(spec, "origin", None) or ""
    import sysconfig
    stdlib = sysconfig.get_paths().get("stdlib") or ""
    return bool(stdlib) and origin.startswith(stdlib) and "-packages" not in origin


def _from_added_path(top, added_paths):
    """Whether the module was imported from a directory the cells put on sys.path (restored with it)."""
    module = sys.modules.get(top)
    origin = os.path.abspath(getattr(module, "__file__", None) or "") if module is not None else ""
    for entry in added_paths:
        root = os.path.abspath(entry) if isinstance(entry, str) else ""
        if origin and root and origin.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def _module_versions(values, modules, added_paths=()):
    """Versions of the packages the captured state needs to be restored.

    Keyed by distribution name (e.g. ``scikit-learn``) when the package comes from one, else by
    its top-level module name; the version is the distribution's, else the module's
    ``__version__``, else "". The standard library is left out, and so are modules imported from
    directories the cells added to sys.path (the checkpoint restores those entries itself).
    """
    tops = set()
    for data in values.values():
        for module in _pickled_modules(data):
            tops.add(module.split(".", 1)[0])
    for module in modules.values():
        tops.add(module.split(".", 1)[0])
    tops = sorted(t for t in tops if t and not _is_standard_module(t) and not _from_added_path(t, added_paths))
    try:
        import importlib.metadata as metadata
        distributions = metadata.packages_distributions() if hasattr(metadata, "packages_distributions") else {}
    except Exception:
        metadata, distributions = None, {}
    versions = {}
    for top in tops:
        dists = distributions.get(top) or []
        version = None
        for dist in dists:
            try:
                version = metadata.version(dist)
                versions[dist] = version
                break
            except Exception:
                continue
        if version is not None:
            continue
        module = sys.modules.get(top)
        version = getattr(module, "__version__", "") if module is not None else ""
        versions[top] = version if isinstance(version, str) else str(version)
    return versions


def _is_closed(stream):
    try:
        return bool(stream.closed)
    except Exception:
        return False


def _last_definitions(definitions):
    """Keeps, for each name, only the last statement that defines it (order preserved)."""
    seen = set()
    kept = []
    for item in reversed(definitions):
        names = item[3]
        if any(n not in seen for n in names):
            kept.append(item)
        seen.update(names)
    kept.reverse()
    return kept


def _write_atomically(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class _UsageError(Exception):
    pass


def _write_fd(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def capture_main(args):
    _detach_stdin()
    _become_subreaper()
    # The cells' own output goes to stderr; fd 1 is kept for the one result line.
    _flush_std()
    result_fd = os.dup(1)
    os.dup2(2, 1)

    lock = threading.Lock()
    emitted = []

    def emit(obj):
        with lock:
            if emitted:
                return False
            emitted.append(True)
            # Whatever the cells started ends with the capture: nothing outlives it.
            try:
                _end_descendants()
            except Exception:  # e.g. MemoryError at the memory limit: the answer matters more
                pass
            _flush_std()
            _write_fd(result_fd, (json.dumps(obj) + "\n").encode("utf-8"))
            return True

    def on_stuck(frame):
        # User code keeps catching the timeout: answer and leave at once.
        if emit({"ok": False, "error": capture.timeout_error(frame=frame)}):
            os._exit(0)

    capture = _Capture(args, on_stuck)
    done = threading.Event()
    if args.timeout:
        # Backstop for code that never returns to the interpreter (e.g. a long C call that
        # releases the GIL), where the SIGALRM handler cannot run.
        grace = float(args.timeout) + 5.0

        def watchdog():
            if not done.wait(grace):
                if emit({"ok": False, "error": capture.timeout_error()}):
                    os._exit(0)

        threading.Thread(target=watchdog, name="berth-capture-watchdog", daemon=True).start()

    try:
        try:
            result = capture.run()
        except _CaptureFailed as e:
            result = {"ok": False, "error": e.error}
        except _CaptureTimeout as e:  # the alarm fired in the worker's own code
            result = {"ok": False, "error": capture.timeout_error(e)}
        except MemoryError as e:
            result = {"ok": False, "error": capture.memory_error(e)}
    except _UsageError as e:
        done.set()
        sys.stderr.write("berth-worker: %s\n" % e)
        return 2
    finally:
        if capture.deadline is not None:
            capture.deadline.disarm()
    done.set()
    emit(result)
    return 0


# ---------------------------------------------------------------------------------------------
# Types of input and output variables
# ---------------------------------------------------------------------------------------------

_SCALAR_TYPES = ("int", "float", "str", "bool", "bytes")
_TYPES = set(_SCALAR_TYPES) | {"list", "dict"} | {"list[%s]" % t for t in _SCALAR_TYPES}
_INT_STRING = re.compile(r"^[+-]?[0-9]+$")
_FLOAT_STRING = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _BadValue(Exception):
    pass


def _normalize_type(t):
    if not isinstance(t, str):
        return None
    t = t.replace(" ", "").lower()
    return t if t in _TYPES else None


def _json_kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _decode_scalar(t, v):
    if t == "int":
        if isinstance(v, bool):
            raise _BadValue("expected an integer, got a boolean")
        if isinstance(v, int):
            return v
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        if isinstance(v, str) and _INT_STRING.match(v):
            return int(v)
        raise _BadValue("expected an integer, got %s" % _json_kind(v))
    if t == "float":
        if isinstance(v, bool):
            raise _BadValue("expected a number, got a boolean")
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, str):
            if v in _NON_FINITE:
                return _NON_FINITE[v]
            if _FLOAT_STRING.match(v):
                return float(v)
        raise _BadValue("expected a number, got %s" % _json_kind(v))
    if t == "str":
        if isinstance(v, str):
            return v
        raise _BadValue("expected a string, got %s" % _json_kind(v))
    if t == "bool":
        if isinstance(v, bool):
            return v
        raise _BadValue("expected a boolean, got %s" % _json_kind(v))
    if t == "bytes":
        if not isinstance(v, str):
            raise _BadValue("expected a base64 string, got %s" % _json_kind(v))
        s = v.strip().replace("-", "+").replace("_", "/")
        s += "=" * (-len(s) % 4)
        try:
            return base64.b64decode(s, validate=True)
        except (binascii.Error, ValueError):
            raise _BadValue("expected a base64 string, got an invalid one")
    raise _BadValue("unknown type %s" % t)


def decode_value(t, v):
    """Decodes a JSON value into the Python value of a declared type (``_BadValue`` if it does not match)."""
    if t in _SCALAR_TYPES:
        return _decode_scalar(t, v)
    if t == "list":
        if isinstance(v, list):
            return v
        raise _BadValue("expected an array, got %s" % _json_kind(v))
    if t == "dict":
        if isinstance(v, dict):
            return v
        raise _BadValue("expected an object, got %s" % _json_kind(v))
    item_type = t[5:-1]  # list[T]
    if not isinstance(v, list):
        raise _BadValue("expected an array, got %s" % _json_kind(v))
    out = []
    for i, item in enumerate(v):
        try:
            out.append(_decode_scalar(item_type, item))
        except _BadValue as e:
            raise _BadValue("item %d: %s" % (i, e))
    return out


def _is_numpy_bool(v):
    t = type(v)
    return getattr(t, "__module__", "") == "numpy" and t.__name__ in ("bool_", "bool")


def _encode_float(f):
    if math.isfinite(f):
        return f
    if math.isnan(f):
        return "NaN"
    return "Infinity" if f > 0 else "-Infinity"


def _encode_scalar(t, v):
    if t == "int":
        if isinstance(v, bool) or _is_numpy_bool(v) or not isinstance(v, numbers.Integral):
            raise _BadValue("expected int, got %s" % _type_name(v))
        return int(v)
    if t == "float":
        if isinstance(v, bool) or _is_numpy_bool(v) or not isinstance(v, numbers.Real):
            raise _BadValue("expected float, got %s" % _type_name(v))
        return _encode_float(float(v))
    if t == "str":
        if isinstance(v, str):
            return str(v)
        raise _BadValue("expected str, got %s" % _type_name(v))
    if t == "bool":
        if isinstance(v, bool) or _is_numpy_bool(v):
            return bool(v)
        raise _BadValue("expected bool, got %s" % _type_name(v))
    if t == "bytes":
        if isinstance(v, (bytes, bytearray, memoryview)):
            return base64.b64encode(bytes(v)).decode("ascii")
        raise _BadValue("expected bytes, got %s" % _type_name(v))
    raise _BadValue("unknown type %s" % t)


def _as_sequence(v, t):
    if isinstance(v, (list, tuple)):
        return v
    tolist = getattr(v, "tolist", None)  # e.g. numpy arrays
    if callable(tolist) and not isinstance(v, (str, bytes, dict)):
        v = tolist()
        if isinstance(v, list):
            return v
    raise _BadValue("expected %s, got %s" % (t, _type_name(v)))


def _to_json(v, path, active):
    """A JSON-compatible copy of an untyped list/dict value."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if _is_numpy_bool(v):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        if not math.isfinite(f):
            raise _BadValue("%s: %r cannot be represented in JSON" % (path or "value", f))
        return f
    if isinstance(v, (list, tuple, dict)):
        if id(v) in active:
            raise _BadValue("%s: the value contains itself" % (path or "value"))
        active.add(id(v))
        try:
            if isinstance(v, dict):
                out = {}
                for k, item in v.items():
                    if not isinstance(k, str):
                        raise _BadValue("%s: key %r is not a string" % (path or "value", k))
                    out[k] = _to_json(item, "%s[%s]" % (path, json.dumps(k)) if path else "[%s]" % json.dumps(k), active)
                return out
            return [_to_json(item, "%s[%d]" % (path, i), active) for i, item in enumerate(v)]
        finally:
            active.discard(id(v))
    tolist = getattr(v, "tolist", None)
    if callable(tolist) and not isinstance(v, (bytes, bytearray)):
        return _to_json(tolist(), path, active)
    raise _BadValue("%s: %s cannot be represented in JSON" % (path or "value", _type_name(v)))


def encode_value(t, v):
    """Encodes the Python value of a declared type as JSON (``_BadValue`` if it does not match)."""
    if t in _SCALAR_TYPES:
        return _encode_scalar(t, v)
    if t == "dict":
        if not isinstance(v, dict):
            raise _BadValue("expected dict, got %s" % _type_name(v))
        return _to_json(v, "", set())
    if t == "list":
        return _to_json(list(_as_sequence(v, t)), "", set())
    item_type = t[5:-1]
    out = []
    for i, item in enumerate(_as_sequence(v, t)):
        try:
            out.append(_encode_scalar(item_type, item))
        except _BadValue as e:
            raise _BadValue("item %d: %s" % (i, e))
    return out


# ---------------------------------------------------------------------------------------------
# serve
# ---------------------------------------------------------------------------------------------


class _RestoreError(Exception):
    pass


class _Runtime(object):
    """The interpreter state restored from a checkpoint blob, and the served cell."""

    def __init__(self, blob):
        if not isinstance(blob, dict) or blob.get("format") != BLOB_FORMAT:
            raise _RestoreError("not a Berth checkpoint blob of format %d" % BLOB_FORMAT)
        cells = blob["cells"]
        served = blob["served"]
        for i, source in enumerate(cells):
            _register_source(_cell_filename(i), source)

        captured = str(blob.get("python_version") or "")
        if captured.split(".")[:2] != platform.python_version().split(".")[:2]:
            sys.stderr.write(
                "berth-worker: warning: checkpoint captured with Python %s, restoring with Python %s\n"
                % (captured, platform.python_version())
            )

        self.module = types.ModuleType(MODULE_NAME)
        sys.modules[MODULE_NAME] = self.module
        ns = self.module.__dict__

        for entry in blob.get("sys_path") or []:
            if entry not in sys.path:
                sys.path.append(entry)

        imports = blob.get("imports") or []
        origins = blob.get("import_origins") or [[served, 1]] * len(imports)
        for source, (cell, line) in zip(imports, origins):
            try:
                exec(_compile_at(source, cell, line), ns)
            except Exception as e:
                raise _RestoreError("cell %d: `%s` failed: %s: %s" % (cell, source, type(e).__name__, e))
        for name, module_name in (blob.get("modules") or {}).items():
            try:
                ns[name] = importlib.import_module(module_name)
            except Exception as e:
                raise _RestoreError('module "%s" (global "%s") cannot be imported: %s: %s'
                                    % (module_name, name, type(e).__name__, e))

        self._restore_definitions_and_values(blob, ns)
        self.served = served
        self.code = compile(cells[served], _cell_filename(served), "exec")

    def _restore_definitions_and_values(self, blob, ns):
        """Re-creates definitions, then unpickles values.

        A definition can need a value (a decorator or default argument) and a value can need a
        definition (an instance of a class from the cells), so both are retried until nothing
        more succeeds.
        """
        definitions = blob.get("definitions") or []
        origins = blob.get("definition_origins") or [[blob["served"], 1]] * len(definitions)
        pending_defs = [(source, cell, line) for source, (cell, line) in zip(definitions, origins)]
        pending_values = list((blob.get("values") or {}).items())
        restored = {}
        last_error = None
        while pending_defs or pending_values:
            progress = False
            still = []
            for source, cell, line in pending_defs:
                try:
                    exec(_compile_at(source, cell, line), ns)
                    progress = True
                except Exception as e:
                    still.append((source, cell, line))
                    first = source.strip().splitlines()[0] if source.strip() else source
                    last_error = "cell %d line %d `%s`: %s: %s" % (cell, line, first, type(e).__name__, e)
            pending_defs = still
            still_values = []
            for name, data in pending_values:
                try:
                    value = pickle.loads(data)
                except Exception as e:
                    still_values.append((name, data))
                    last_error = 'variable "%s": %s: %s' % (name, type(e).__name__, e)
                    continue
                ns[name] = value
                restored[name] = value
                progress = True
            pending_values = still_values
            if not progress:
                raise _RestoreError("cannot restore %s" % last_error)
        # A captured value wins over a definition of the same name re-created after it.
        ns.update(restored)

    def execute(self, request):
        """Runs one call: returns (HTTP status, response object).

        request: {"inputs": {name: json}, "input_types": {name: type}, "outputs": [{"name", "type"}]}
        200 {"outputs": {...}} | 200 {"error": {"kind": "user", ...}} |
        400 {"error": {"kind": "request"|"input"|"output", "variable", "error_message"}}
        """
        if not isinstance(request, dict):
            return _platform_error("request", None, "the request body must be a JSON object")
        inputs = request.get("inputs")
        inputs = {} if inputs is None else inputs
        input_types = request.get("input_types")
        input_types = {} if input_types is None else input_types
        outputs = request.get("outputs")
        outputs = [] if outputs is None else outputs
        if not isinstance(inputs, dict):
            return _platform_error("request", None, '"inputs" must be an object')
        if not isinstance(input_types, dict):
            return _platform_error("request", None, '"input_types" must be an object')
        if not isinstance(outputs, list):
            return _platform_error("request", None, '"outputs" must be an array')

        declared_outputs = []
        for item in outputs:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                return _platform_error("request", None, 'each of "outputs" must be {"name": ..., "type": ...}')
            name = item["name"]
            t = _normalize_type(item.get("type"))
            if t is None:
                return _platform_error("request", name, 'output "%s" has an unknown type %s'
                                       % (name, json.dumps(item.get("type"))))
            declared_outputs.append((name, t))

        bound = {}
        for name, raw_type in input_types.items():
            t = _normalize_type(raw_type)
            if t is None:
                return _platform_error("request", name, 'input "%s" has an unknown type %s'
                                       % (name, json.dumps(raw_type)))
            if name not in inputs:
                return _platform_error("input", name, 'input "%s" (%s) is missing' % (name, t))
        for name, raw in inputs.items():
            if not name.isidentifier() or name.startswith("__"):
                return _platform_error("input", name, 'input name "%s" is not a valid variable name' % name)
            t = _normalize_type(input_types.get(name)) if name in input_types else None
            if t is None:
                bound[name] = raw
                continue
            try:
                bound[name] = decode_value(t, raw)
            except _BadValue as e:
                return _platform_error("input", name, 'input "%s" (%s): %s' % (name, t, e))

        ns = self.module.__dict__
        ns.update(bound)
        try:
            exec(self.code, ns)
        except BaseException as e:  # user code: anything, SystemExit included
            _flush_std()
            return 200, {"error": {
                "kind": "user",
                "error_name": type(e).__name__,
                "error_message": _exception_message(e),
                "traceback": _format_exception(e),
            }}
        _flush_std()

        result = {}
        for name, t in declared_outputs:
            value = ns.get(name, _MISSING)
            if value is _MISSING:
                return _platform_error("output", name, 'output "%s" is not defined after the cell ran' % name)
            try:
                result[name] = encode_value(t, value)
            except _BadValue as e:
                return _platform_error("output", name, 'output "%s" (%s): %s' % (name, t, e))
            except RecursionError:
                return _platform_error("output", name, 'output "%s" (%s) is nested too deeply' % (name, t))
            except Exception as e:  # raised by the value's own methods (__index__, tolist, ...)
                return _platform_error("output", name, 'output "%s" (%s) cannot be converted: %s: %s'
                                       % (name, t, type(e).__name__, _exception_message(e)))
        return 200, {"outputs": result}


def _platform_error(kind, variable, message):
    return 400, {"error": {"kind": kind, "variable": variable, "error_message": message}}


class _Stop(object):
    requested = False


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


class _TraceEnvironment(object):
    """The caller's W3C trace context as the cell sees it during one call.

    Berth sends ``traceparent`` (and ``tracestate``) with each call; while the cell runs they are
    ``TRACEPARENT`` and ``TRACESTATE`` in ``os.environ`` (OpenTelemetry's carrier for a process
    environment), so that code in the cell can continue the trace. They are gone between calls.
    """

    def __init__(self, headers):
        parent = (headers.get("traceparent") or "").strip()
        self.values = {}
        if _TRACEPARENT.match(parent):
            self.values["TRACEPARENT"] = parent
            state = (headers.get("tracestate") or "").strip()
            if state:
                self.values["TRACESTATE"] = state

    def __enter__(self):
        for name in ("TRACEPARENT", "TRACESTATE"):
            os.environ.pop(name, None)
        os.environ.update(self.values)
        return self

    def __exit__(self, *exc):
        for name in ("TRACEPARENT", "TRACESTATE"):
            os.environ.pop(name, None)
        return False


class _Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection; each readable event serves one request (see ``_serve_loop``)."""

    protocol_version = "HTTP/1.1"
    server_version = "berth-worker"
    sys_version = ""
    disable_nagle_algorithm = True
    # Buffered: the status line, headers and body leave in one write when the request ends.
    wbufsize = 256 * 1024
    request_timeout = 60.0

    def __init__(self, request, client_address, server):  # noqa: no handle()/finish() here
        self.request = request
        self.client_address = client_address
        self.server = server
        self.close_connection = True
        self.setup()

    def log_message(self, format, *args):  # no access log in the instance log
        pass

    def version_string(self):
        return self.server_version

    def handle_expect_100(self):
        ok = BaseHTTPRequestHandler.handle_expect_100(self)
        self.wfile.flush()  # the interim response must not wait in the write buffer
        return ok

    def _send_json(self, status, obj):
        try:
            data = json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except Exception as e:
            status = 500
            data = json.dumps({"error": {"kind": "internal", "variable": None,
                                         "error_message": "cannot encode the response: %s" % e}}).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self):
        """The request body, or None after answering 400 (the connection is then closed)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    self._send_json(400, _platform_error("request", None, "bad chunked encoding")[1])
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send_json(400, _platform_error("request", None, "bad Content-Length")[1])
            return None
        data = self.rfile.read(n)
        if len(data) < n:
            self.close_connection = True
            return None
        return data

    def _route(self):
        return self.path.split("?", 1)[0]

    def _authorized(self):
        """True when the request carries this instance's token; otherwise answers 401 or 403."""
        given = self.headers.get("Authorization") or ""
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self._send_json(401, _platform_error("request", None, "this worker answers only Berth: the request has no token")[1])
            return False
        if not hmac.compare_digest(token.strip().encode("utf-8"), self.server.token.encode("utf-8")):
            self._send_json(403, _platform_error("request", None, "this worker answers only Berth: the token is not this instance's")[1])
            return False
        return True

    def do_GET(self):
        if self._read_body() is None:
            return
        if not self._authorized():
            return
        if self._route() == "/healthz":
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, _platform_error("request", None, "no route GET %s" % self._route())[1])

    def do_POST(self):
        body = self._read_body()
        if body is None:
            return
        if not self._authorized():
            return
        if self._route() != "/execute":
            self._send_json(404, _platform_error("request", None, "no route POST %s" % self._route())[1])
            return
        try:
            request = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError) as e:
            status, obj = _platform_error("request", None, "the request body is not valid JSON: %s" % e)
        else:
            try:
                with _TraceEnvironment(self.headers):
                    status, obj = self.server.runtime.execute(request)
            except Exception as e:  # a fault of the worker itself; the state is kept
                traceback.print_exc()
                status, obj = 500, {"error": {"kind": "internal", "variable": None,
                                              "error_message": "%s: %s" % (type(e).__name__, e)}}
        self._send_json(status, obj)


class _Server(HTTPServer):
    request_queue_size = 128

    def server_bind(self):
        # Skips HTTPServer's reverse DNS look-up of the host name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class _Connection(object):
    def __init__(self, sock, address, server):
        self.sock = sock
        self.handler = _Handler(sock, address, server)

    def serve(self, stop):
        """Serves the requests available on this connection; False when it is to be closed."""
        while True:
            self.handler.close_connection = True
            try:
                self.sock.settimeout(_Handler.request_timeout)
                self.handler.handle_one_request()
            except (OSError, ValueError):
                return False
            except Exception:
                traceback.print_exc()
                return False
            if self.handler.close_connection or stop.requested:
                return False
            # A pipelined request may already sit in the read buffer, where select() can't see it.
            try:
                self.sock.settimeout(0)
                pending = self.handler.rfile.peek(1)
            except (OSError, ValueError):
                return False
            if not pending:
                return True

    def close(self):
        try:
            self.handler.wfile.flush()
        except Exception:
            pass
        for f in (self.handler.rfile, self.handler.wfile):
            try:
                f.close()
            except Exception:
                pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _serve_loop(server, stop):
    """Single-threaded: one request at a time, across any number of keep-alive connections.

    A plain HTTPServer would serve one connection until the client closes it, so a second
    keep-alive connection (a health checker, a pooled proxy) would wait for the first to close.
    Here every connection is watched with a selector and each readable one gets one request.
    """
    sel = selectors.DefaultSelector()
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    server.socket.setblocking(False)
    sel.register(server.socket, selectors.EVENT_READ, "listen")
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    connections = set()
    try:
        while not stop.requested:
            for key, _events in sel.select(timeout=5.0):
                if stop.requested:
                    break
                if key.data == "listen":
                    try:
                        sock, address = server.socket.accept()
                    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                        continue
                    except OSError as e:
                        sys.stderr.write("berth-worker: accept failed: %s\n" % e)
                        continue
                    try:
                        conn = _Connection(sock, address, server)
                    except OSError:
                        sock.close()
                        continue
                    connections.add(conn)
                    sel.register(sock, selectors.EVENT_READ, conn)
                elif key.data == "wake":
                    try:
                        while wake_r.recv(512):
                            pass
                    except (BlockingIOError, InterruptedError):
                        pass
                else:
                    conn = key.data
                    sel.unregister(conn.sock)
                    if conn.serve(stop) and not stop.requested:
                        sel.register(conn.sock, selectors.EVENT_READ, conn)
                    else:
                        connections.discard(conn)
                        conn.close()
    finally:
        signal.set_wakeup_fd(-1)
        for conn in connections:
            conn.close()
        sel.close()
        wake_r.close()
        wake_w.close()
        server.server_close()


def serve_main(args):
    _detach_stdin()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except Exception:
            pass

    # Out of the environment before any user code runs: cells and the processes they start never see it.
    token = os.environ.pop(TOKEN_ENV, "")
    if not token:
        sys.stderr.write("berth-worker: %s is not set; the worker serves only callers holding its token\n" % TOKEN_ENV)
        return 2

    stop = _Stop()

    def on_signal(signum, frame):
        # The current call finishes; the loop then exits.
        stop.requested = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        with open(args.blob, "rb") as f:
            blob = pickle.load(f)
        runtime = _Runtime(blob)
    except _RestoreError as e:
        sys.stderr.write("berth-worker: restore failed: %s\n" % e)
        return 3
    except Exception as e:
        sys.stderr.write("berth-worker: restore failed: %s: %s\n" % (type(e).__name__, e))
        traceback.print_exc()
        return 3
    _flush_std()
    if stop.requested:
        return 0

    host = args.host
    _Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = _Server((host, args.port), _Handler)
    server.runtime = runtime
    server.token = token
    port = server.socket.getsockname()[1]
    shown = "[%s]" % host if ":" in host else host
    sys.stderr.write("berth-worker listening on %s:%d\n" % (shown, port))
    sys.stderr.flush()
    _serve_loop(server, stop)
    _flush_std()
    return 0


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(prog="berth_worker.py", description="Berth checkpoint worker")
    sub = parser.add_subparsers(dest="mode")
    sub.required = True

    cap = sub.add_parser("capture", help="run the cells and write a checkpoint blob")
    cap.add_argument("--cells", required=True, help='JSON file {"cells": ["source", ...]}')
    cap.add_argument("--served", required=True, type=int, help="index of the served cell")
    cap.add_argument("--out", required=True, help="where to write the blob")
    cap.add_argument("--timeout", type=float, default=None, help="wall-clock limit in seconds")
    cap.add_argument("--memory-mb", dest="memory_mb", type=int, default=None, help="address-space limit")
    cap.add_argument("--run-served", dest="run_served", action="store_true",
                     help="also run the served cell before capturing (it must not need the call's inputs)")

    srv = sub.add_parser("serve", help="restore a blob and serve HTTP")
    srv.add_argument("--blob", required=True)
    srv.add_argument("--port", required=True, type=int)
    srv.add_argument("--host", default="127.0.0.1")

    args = parser.parse_args(argv)
    if args.mode == "capture":
        return capture_main(args)
    return serve_main(args)


if __name__ == "__main__":
    sys.exit(main())
