"""Run one of the MediaPipe example scripts without a screen, and record what it showed.

    python _headless.py [--install] [--dump NAME[,NAME...]] OUT_DIR EXAMPLE.py [ARGS...]

The examples display with ``cv2.imshow`` (legacy webcam loop), ``google.colab.patches.cv2_imshow`` (the Tasks
notebooks) and ``matplotlib.pyplot.show``. Here ``cv2.imshow`` / ``cv2.waitKey`` record each frame (count,
and pixels in MediaPipe's landmark red, i.e. whether a hand was drawn), ``cv2_imshow`` and ``plt.show`` save
PNG files into OUT_DIR, and ``--dump`` writes the named globals of the finished script to OUT_DIR/globals.json
(dataclasses as dicts, other objects as ``str``). ``--install`` calls ``handtrace.mediapipe.install()`` first
(what a user does for code they cannot edit); without it the script's own imports decide.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: MediaPipe's default hand landmark colour for the palm points (BGR), from drawing_styles.
LANDMARK_RED = (48, 48, 255)


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--dump", default="")
    parser.add_argument("out", type=Path)
    parser.add_argument("example")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    a = parser.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    shown: dict[str, Any] = {"imshow_frames": 0, "imshow_red_pixels": [], "cv2_imshow": 0, "plots": 0}

    def imshow(_name: str, image: np.ndarray) -> None:
        shown["imshow_frames"] += 1
        shown["imshow_red_pixels"].append(int(np.all(image == LANDMARK_RED, axis=2).sum()))

    def cv2_imshow(image: np.ndarray) -> None:
        cv2.imwrite(str(a.out / f"cv2_imshow_{shown['cv2_imshow']}.png"), image)
        shown["cv2_imshow"] += 1

    cv2.imshow = imshow
    cv2.waitKey = lambda *_: -1
    colab = types.ModuleType("google.colab.patches")
    colab.cv2_imshow = cv2_imshow
    sys.modules.update({"google": types.ModuleType("google"),
                        "google.colab": types.ModuleType("google.colab"), "google.colab.patches": colab})
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        def show(*_: Any, **__: Any) -> None:
            plt.savefig(a.out / f"plot_{shown['plots']}.png")
            plt.close("all")
            shown["plots"] += 1

        plt.show = show
    except ImportError:
        pass
    if a.install:
        import handtrace.mediapipe

        handtrace.mediapipe.install()
    sys.argv = [a.example, *a.args]
    sys.path.insert(0, str(Path(a.example).resolve().parent))
    result = runpy.run_path(a.example, run_name="__main__")
    (a.out / "shown.json").write_text(json.dumps(shown))
    names = [n for n in a.dump.split(",") if n]
    (a.out / "globals.json").write_text(json.dumps({n: jsonable(result.get(n)) for n in names}))


if __name__ == "__main__":
    main()
