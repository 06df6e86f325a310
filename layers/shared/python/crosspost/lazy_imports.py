"""Modules bound at import time but loaded on first attribute access (``importlib.util.LazyLoader``).

Cold start (issue #8, bench/cold_start.py): a platform module is imported for its capabilities and
preflight rules by every function that checks a post, but only the ones that call the platform need
its HTTP client. The platform modules bind ``httpx`` (and the SSRF-guarded transport) with
``lazy_module``, so a scheduled post never loads httpx, httpcore or a TLS context; the first real
use (``httpx.AsyncClient``, an ``except httpx.ConnectError``) loads the module as a plain import would.

Python 3.11's LazyLoader does not lock the first attribute access: the first use must happen on one
thread. It does: platform calls run on the event loop's thread (the publisher's worker threads only
make AWS calls).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def lazy_module(name: str) -> ModuleType:
    """``name``, imported already, or to be imported the first time one of its attributes is read."""
    with _lock:
        found = sys.modules.get(name)
        if found is not None:
            return found
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module


def is_loaded(name: str) -> bool:
    """Whether ``name`` has been imported and executed (a lazy module that nobody used is not)."""
    found = sys.modules.get(name)
    return found is not None and type(found).__name__ != "_LazyModule"
