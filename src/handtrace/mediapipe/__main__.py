"""``python -m handtrace.mediapipe script.py [args]`` / ``python -m handtrace.mediapipe -m module [args]``:
run a program with ``import mediapipe`` resolving to handtrace (as ``python script.py`` would run it)."""

from __future__ import annotations

import os
import runpy
import sys

from handtrace.mediapipe._install import install

USAGE = "usage: python -m handtrace.mediapipe SCRIPT.py [ARGS...] | -m MODULE [ARGS...]"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    install()
    if args[0] == "-m":
        if len(args) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        sys.argv = [args[1], *args[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    script = args[0]
    if not os.path.isfile(script):
        print(f"handtrace.mediapipe: can't open file {script!r}: no such file", file=sys.stderr)
        return 2
    sys.argv = [script, *args[1:]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
