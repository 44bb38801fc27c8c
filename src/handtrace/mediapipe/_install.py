"""Make ``import mediapipe`` (and every ``mediapipe.*`` submodule hand code imports) resolve to
``handtrace.mediapipe``, for code that cannot be edited.

A finder at the front of ``sys.meta_path`` maps ``mediapipe[.X]`` to ``handtrace.mediapipe[.X]`` (and
``mediapipe.python.solutions[.X]`` to ``handtrace.mediapipe.solutions[.X]``): the module objects are the same,
so ``isinstance`` checks and module attributes agree. A name with no counterpart here (``mediapipe``'s face or
pose modules) raises ``ModuleNotFoundError`` naming it. A real MediaPipe already imported is unloaded from
``sys.modules`` first (objects already created from it keep working).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

_PREFIX = "mediapipe"
_OURS = "handtrace.mediapipe"
#: Longest prefix first: MediaPipe's real module paths that live elsewhere here.
_ALIASES = (("mediapipe.python.solutions", "handtrace.mediapipe.solutions"), (_PREFIX, _OURS))


def _target(fullname: str) -> str | None:
    for alias, ours in _ALIASES:
        if fullname == alias or fullname.startswith(alias + "."):
            return ours + fullname[len(alias):]
    return None


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        ours = _target(fullname)
        if ours is None:
            return None
        try:
            found = importlib.util.find_spec(ours)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: handtrace.mediapipe provides MediaPipe's hand APIs only "
                f"(solutions.hands, drawing_utils, drawing_styles, tasks.python.vision hand landmarker and "
                f"gesture recognizer)", name=fullname)
        return importlib.util.spec_from_loader(fullname, self,
                                               is_package=found.submodule_search_locations is not None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        ours = _target(spec.name)
        assert ours is not None
        return importlib.import_module(ours)

    def exec_module(self, module: ModuleType) -> None:
        pass  # already executed under its own name


_finder = _AliasFinder()


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _finder in sys.meta_path


def install() -> None:
    """Make ``import mediapipe`` resolve to ``handtrace.mediapipe`` in this process (idempotent).

    Call it before the code that imports ``mediapipe`` runs, or use ``python -m handtrace.mediapipe
    script.py [args]``.
    """
    if installed():
        return
    for name in [n for n in sys.modules if n == _PREFIX or n.startswith(_PREFIX + ".")]:
        del sys.modules[name]  # a real MediaPipe imported earlier would shadow the aliases
    sys.meta_path.insert(0, _finder)
    importlib.import_module(_PREFIX)


def uninstall() -> None:
    """Undo :func:`install`: ``import mediapipe`` finds whatever is installed again."""
    while _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == _PREFIX or n.startswith(_PREFIX + ".")]:
        module = sys.modules[name]
        if getattr(module, "__name__", "").startswith(_OURS):
            del sys.modules[name]
