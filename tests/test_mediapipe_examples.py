"""MediaPipe's own published hand examples run on handtrace, three ways:

* ``import``: the script with only its ``mediapipe`` imports changed to ``handtrace.mediapipe``;
* ``python -m``: the script unmodified, run by ``python -m handtrace.mediapipe``;
* ``install``: the script unmodified, after ``handtrace.mediapipe.install()``.

The scripts (``tests/mediapipe_examples/``) are the legacy ``hands.md`` static-image and webcam loops and the
Tasks hand landmarker and gesture recognizer notebooks, with inputs from the command line (the webcam is a
video file from the shared data) and displays recorded by ``_headless.py``. Each run is checked against what
MediaPipe gives on the same inputs (its recorded fixture, its own test expectations).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

EXAMPLES = Path(__file__).parent / "mediapipe_examples"
FIXTURE = Path(__file__).parent / "fixtures" / "mediapipe_0.10.21_dropin.json"
SRC = Path(__file__).resolve().parents[1] / "src"
IMPORT_LINE = re.compile(r"^\s*(import|from)\s+mediapipe\b")
STATIC_IMAGES = ("tfjs-models/hands.jpg", "mediapipe-rs/banana.jpg",
                 "hand-graph-cnn-realworld/images/00003.jpg")
GESTURE_IMAGES = ("thumbs_down.jpg", "victory.jpg", "thumbs_up.jpg", "pointing_up.jpg")
FLIP = {"Left": "Right", "Right": "Left"}
WEBCAM_FRAMES = 60
#: Globals of the Tasks examples written out for the checks.
DUMPS = {"tasks_hand_landmarker": "detection_result", "tasks_gesture_recognizer": "results"}


def import_changed(text: str) -> str:
    """The script with ``mediapipe`` replaced by ``handtrace.mediapipe`` in its import lines only."""
    lines = text.splitlines(keepends=True)
    return "".join(re.sub(r"\bmediapipe\b", "handtrace.mediapipe", ln) if IMPORT_LINE.match(ln) else ln
                   for ln in lines)


def test_import_change_touches_only_import_lines():
    for script in EXAMPLES.glob("[lt]*.py"):
        before, after = script.read_text().splitlines(), import_changed(script.read_text()).splitlines()
        changed = [a for a, b in zip(before, after, strict=True) if a != b]
        assert changed and all(IMPORT_LINE.match(a) for a in changed), script.name
        assert "import mediapipe" not in "\n".join(after).replace("import handtrace.mediapipe", "")


@pytest.fixture(scope="module")
def run_example(tmp_path_factory, data_dir):
    """(example, mode) -> (completed process, output folder), each run once."""
    cache: dict[tuple[str, str], tuple[subprocess.CompletedProcess, Path]] = {}
    root = tmp_path_factory.mktemp("examples")
    data_dir = data_dir.resolve()  # the scripts run in another folder

    def args_for(example: str, out: Path) -> list[str]:
        if example == "legacy_hands_static":
            return [str(out), *(str(data_dir / p) for p in STATIC_IMAGES)]
        if example == "legacy_hands_webcam":
            return [str(short_video())]
        if example == "tasks_hand_landmarker":
            return [str(data_dir / "mediapipe-rs/google_sample_woman_hands.jpg")]
        return [str(data_dir / "mediapipe-rs" / name) for name in GESTURE_IMAGES]

    def short_video() -> Path:
        path = root / "webcam.mp4"
        if not path.exists():  # the first frames of MediaPipe's hand landmarker test clip
            cap = cv2.VideoCapture(str(data_dir / "mediapipe-samples/handlandmarker_test_video.mp4"))
            writer = None
            for _ in range(WEBCAM_FRAMES):
                ok, frame = cap.read()
                assert ok
                if writer is None:
                    h, w = frame.shape[:2]
                    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (w, h))
                writer.write(frame)
            cap.release()
            assert writer is not None
            writer.release()
        return path

    def run(example: str, mode: str) -> tuple[subprocess.CompletedProcess, Path]:
        if (example, mode) in cache:
            return cache[example, mode]
        out = root / f"{example}-{mode.replace(' ', '')}"
        script = EXAMPLES / f"{example}.py"
        dump = DUMPS.get(example, "")
        harness = [str(EXAMPLES / "_headless.py"), "--dump", dump]
        if mode == "import":
            changed = out.parent / f"{example}-handtrace.py"
            changed.write_text(import_changed(script.read_text()))
            cmd = [*harness, str(out), str(changed)]
        elif mode == "python -m":
            cmd = ["-m", "handtrace.mediapipe", *harness, str(out), str(script)]
        else:
            cmd = [*harness, "--install", str(out), str(script)]
        env = {**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg"}
        done = subprocess.run([sys.executable, *cmd, *args_for(example, out)], capture_output=True, text=True,
                              env=env, timeout=300, cwd=out.parent)
        assert done.returncode == 0, done.stderr[-3000:]
        cache[example, mode] = (done, out)
        return cache[example, mode]

    return run


MODES = ["import", "python -m"]


@pytest.mark.parametrize("mode", MODES)
def test_legacy_static_images(run_example, mode, data_dir):
    pytest.importorskip("matplotlib")  # the example plots world landmarks
    done, out = run_example("legacy_hands_static", mode)
    reference = json.loads(FIXTURE.read_text())["images"]
    blocks = done.stdout.split("Handedness:")[1:]
    assert len(blocks) == len(STATIC_IMAGES) and blocks[1].strip().startswith("None")  # banana: no hand
    tips = [tuple(map(float, m)) for m in re.findall(r"Index finger tip coordinates: \( ([\d.]+), ([\d.]+)\)",
                                                     done.stdout)]
    expected_tips, expected_labels = [], []
    for name in STATIC_IMAGES:
        w, h = reference[name]["size"]
        for hand in reference[name]["legacy"]:
            x, y, _ = hand["landmarks"][8]
            expected_tips.append(((1 - x) * w, y * h, max(w, h)))  # the example flips the image
            expected_labels.append(FLIP[hand["label"]])  # ... so labels flip too
    assert len(tips) == len(expected_tips) == 3
    for (x, y), (ex, ey, size) in zip(sorted(tips), sorted(expected_tips), strict=True):
        assert np.hypot(x - ex, y - ey) < 0.01 * size
    labels = re.findall(r'label: "(\w+)"', done.stdout)
    assert sorted(labels) == sorted(expected_labels)
    for idx in (0, 2):
        annotated = cv2.imread(str(out / f"annotated_image{idx}.png"))
        original = cv2.imread(str(data_dir / STATIC_IMAGES[idx]))
        assert annotated.shape == original.shape and np.all(annotated == (48, 48, 255), axis=2).sum() > 20
    assert not (out / "annotated_image1.png").exists()
    assert json.loads((out / "shown.json").read_text())["plots"] == 3  # one 3D plot per hand


@pytest.mark.parametrize("mode", [*MODES, "install"])
def test_legacy_webcam_loop(run_example, mode):
    done, out = run_example("legacy_hands_webcam", mode)
    shown = json.loads((out / "shown.json").read_text())
    assert shown["imshow_frames"] == WEBCAM_FRAMES
    # MediaPipe finds the hand in every frame of this clip; the drawn landmarks show in the displayed frame.
    assert sum(n > 20 for n in shown["imshow_red_pixels"]) >= WEBCAM_FRAMES - 1
    assert "Ignoring empty camera frame." in done.stdout  # the end of the video


@pytest.mark.parametrize("mode", [*MODES, "install"])
def test_tasks_hand_landmarker(run_example, mode):
    done, out = run_example("tasks_hand_landmarker", mode)
    result = json.loads((out / "globals.json").read_text())["detection_result"]
    reference = json.loads(FIXTURE.read_text())["images"]["mediapipe-rs/google_sample_woman_hands.jpg"]
    w, h = reference["size"]
    assert len(result["hand_landmarks"]) == len(result["handedness"]) == 2
    for lms, cats in zip(result["hand_landmarks"], result["handedness"], strict=True):
        ours = np.array([[p["x"], p["y"]] for p in lms])
        errors = [np.linalg.norm((ours - np.array(r["landmarks"])[:, :2]) * (w, h), axis=1).mean() / max(w, h)
                  for r in reference["legacy"]]
        k = int(np.argmin(errors))
        assert errors[k] < 0.01 and cats[0]["category_name"] == reference["legacy"][k]["label"]
    assert "model_asset_path 'hand_landmarker.task' ignored" in done.stderr
    shown = [cv2.imread(str(out / f"cv2_imshow_{i}.png")) for i in range(2)]
    assert shown[0].shape == shown[1].shape and (shown[0] != shown[1]).any()  # the input, then annotated


@pytest.mark.parametrize("mode", MODES)
def test_tasks_gesture_recognizer(run_example, mode):
    pytest.importorskip("matplotlib")  # the notebook displays with matplotlib
    _, out = run_example("tasks_gesture_recognizer", mode)
    results = json.loads((out / "globals.json").read_text())["results"]
    top = [gesture["category_name"] for gesture, _ in results]
    # MediaPipe's notebook shows these four for its four test images.
    assert top == ["Thumb_Down", "Victory", "Thumb_Up", "Pointing_Up"]
    assert all(len(hands) == 1 and len(hands[0]) == 21 for _, hands in results)
    assert (out / "plot_0.png").stat().st_size > 10_000
