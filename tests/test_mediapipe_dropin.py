"""handtrace.mediapipe: the API shape MediaPipe hand code relies on (names, defaults, result types, messages,
errors word for word as MediaPipe 0.10.21 gives them), and install() / python -m for unmodified code."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import handtrace.mediapipe as mp
from handtrace.io import read_image
from handtrace.mediapipe.framework.formats import landmark_pb2
from handtrace.mediapipe.tasks import python as mp_python
from handtrace.mediapipe.tasks.python import vision

FIXTURES = Path(__file__).parent / "fixtures"
SRC = Path(__file__).resolve().parents[1] / "src"
TWO_HANDS = "mediapipe-rs/google_sample_woman_hands.jpg"


# -- messages ------------------------------------------------------------------------------------------------
@pytest.fixture(params=["_protobuf_messages", "_plain_messages"])
def messages(request):
    """Both implementations of the messages: protobuf classes, and the stand-ins used without protobuf."""
    if request.param == "_protobuf_messages":
        pytest.importorskip("google.protobuf")
    return importlib.import_module(f"handtrace.mediapipe.{request.param}")


def test_real_protobufs_when_protobuf_is_installed():
    pytest.importorskip("google.protobuf")
    from google.protobuf.message import Message

    assert issubclass(landmark_pb2.NormalizedLandmarkList, Message)
    assert landmark_pb2.NormalizedLandmark.DESCRIPTOR.full_name == "mediapipe.NormalizedLandmark"


def test_landmark_list_behaves_like_the_protobuf(messages):
    pb = messages
    lms = pb.NormalizedLandmarkList()
    lms.landmark.extend([pb.NormalizedLandmark(x=0.25, y=0.5, z=-0.0) for _ in range(20)])
    added = lms.landmark.add(x=0.809212506, y=0.0743578672, z=6.76563673e-07)
    assert len(lms.landmark) == 21 and lms.landmark[-1] is added
    assert [lm.x for lm in lms.landmark][:2] == [0.25, 0.25]
    assert lms.landmark[mp.solutions.hands.HandLandmark.INDEX_FINGER_TIP].y == 0.5
    with pytest.raises(IndexError):
        lms.landmark[21]
    # Text format as protobuf prints it (float32, 9 significant digits), which print(results) shows.
    assert str(added) == "x: 0.809212506\ny: 0.0743578672\nz: 6.76563673e-07\n"
    assert str(lms).startswith("landmark {\n  x: 0.25\n  y: 0.5\n  z: -0\n}\nlandmark {\n")
    assert not added.HasField("visibility") and added.visibility == 0.0
    added.visibility = 0.3
    assert added.HasField("visibility")
    assert [f.name for f, _ in added.ListFields()] == ["x", "y", "z", "visibility"]
    with pytest.raises(AttributeError):
        lms.landmark = []  # repeated fields cannot be assigned, as in protobuf
    with pytest.raises(TypeError):
        lms.landmark.append(pb.Landmark())
    copy = pb.NormalizedLandmarkList()
    copy.CopyFrom(lms)
    assert copy == lms and copy.landmark[0] is not lms.landmark[0]


def test_classification_list_prints_like_mediapipe(messages):
    pb = messages
    handed = pb.ClassificationList(
        classification=[pb.Classification(index=1, score=0.978523493, label="Right")])
    assert repr([handed]) == '[classification {\n  index: 1\n  score: 0.978523493\n  label: "Right"\n}\n]'


# -- mp.Image ------------------------------------------------------------------------------------------------
def test_image_container():
    data = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=data)
    data[0, 0] = 255  # MediaPipe copies the data
    view = image.numpy_view()
    assert (image.width, image.height, image.channels) == (5, 4, 3) and view[0, 0, 0] == 0
    assert not view.flags.writeable and image.image_format == mp.ImageFormat.SRGB
    assert mp.ImageFormat.SRGB == 1 and mp.ImageFormat.SRGBA == 2 and mp.ImageFormat.GRAY8 == 3
    gray = mp.Image(image_format=mp.ImageFormat.GRAY8, data=np.zeros((4, 5), np.uint8))
    assert gray.rgb().shape == (4, 5, 3)
    with pytest.raises(RuntimeError, match="float image data"):
        mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\)"):
        mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((4, 5), np.uint8))
    with pytest.raises(RuntimeError, match="Image decoding failed"):
        mp.Image.create_from_file("/nonexistent/hand.jpg")


# -- options, names, defaults --------------------------------------------------------------------------------
def test_names_and_defaults_are_mediapipes():
    sig = inspect.signature(mp.solutions.hands.Hands)
    assert [(p.name, p.default) for p in list(sig.parameters.values())[:5]] == [
        ("static_image_mode", False), ("max_num_hands", 2), ("model_complexity", 1),
        ("min_detection_confidence", 0.5), ("min_tracking_confidence", 0.5)]
    options = vision.HandLandmarkerOptions(base_options=mp_python.BaseOptions(model_asset_path="x.task"))
    assert (options.running_mode, options.num_hands, options.min_hand_detection_confidence,
            options.min_hand_presence_confidence, options.min_tracking_confidence) == (
        vision.RunningMode.IMAGE, 1, 0.5, 0.5, 0.5)
    assert [m.name for m in vision.RunningMode] == ["IMAGE", "VIDEO", "LIVE_STREAM"]
    assert vision.GestureRecognizerOptions(base_options=None).num_hands == 1
    assert mp.tasks.vision is vision and mp.tasks.BaseOptions is mp_python.BaseOptions
    assert len(mp.solutions.hands.HAND_CONNECTIONS) == 21 and isinstance(mp.solutions.hands.HAND_CONNECTIONS,
                                                                         frozenset)
    assert mp.solutions.hands.HandLandmark.PINKY_TIP == 20 and len(mp.solutions.hands.HandLandmark) == 21
    assert mp.solutions.drawing_utils.DrawingSpec() == mp.solutions.drawing_utils.DrawingSpec(
        color=(224, 224, 224), thickness=2, circle_radius=2)
    connections = vision.HandLandmarksConnections.HAND_CONNECTIONS
    assert len(connections) == 21 and (connections[1].start, connections[1].end) == (1, 5)
    styles = mp.solutions.drawing_styles.get_default_hand_landmarks_style()
    assert styles[0].color == (48, 48, 255) and styles[8].color == (128, 64, 128)
    assert styles[8].thickness == -1
    assert mp.solutions.drawing_styles.get_default_hand_connections_style()[(0, 5)].thickness == 3
    assert vision.drawing_styles.get_default_hand_connections_style()[(1, 5)].color == (128, 128, 128)


def test_option_errors_are_mediapipes():
    with pytest.raises(ValueError, match="live stream mode, a user-defined result callback must be provided"):
        vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
            running_mode=vision.RunningMode.LIVE_STREAM))
    with pytest.raises(ValueError, match="image or video mode, a user-defined result callback should not"):
        vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(result_callback=print))
    with pytest.raises(ValueError, match="Invalid `min_hand_presence_confidence` option"):
        vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(min_hand_presence_confidence=2))
    with pytest.raises(ValueError, match="mutually exclusive"):
        mp.tasks.components.processors.ClassifierOptions(category_allowlist=["a"], category_denylist=["b"])


def test_model_asset_path_is_noted_once_and_ignored(caplog):
    path = "/nowhere/hand_landmarker_for_note_test.task"
    with caplog.at_level(logging.WARNING, logger="handtrace.mediapipe"):
        for _ in range(2):
            vision.HandLandmarker.create_from_model_path(path).close()
    notes = [r.getMessage() for r in caplog.records if path in r.getMessage()]
    assert len(notes) == 1 and "ignored" in notes[0] and "\n" not in notes[0]


# -- running modes, timestamps -------------------------------------------------------------------------------
def test_running_mode_and_timestamp_errors():
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8))
    with vision.HandLandmarker.create_from_options(
            vision.HandLandmarkerOptions(running_mode=vision.RunningMode.VIDEO)) as video:
        assert video.detect_for_video(image, 10) == vision.HandLandmarkerResult([], [], [])
        for bad in (10, 5, float("nan")):
            with pytest.raises(ValueError) as err:
                video.detect_for_video(image, bad)
            assert str(err.value) == "Input timestamp must be monotonically increasing."
        assert video.detect_for_video(image, 11).hand_landmarks == []  # a failed call changes nothing
        with pytest.raises(ValueError) as err:
            video.detect(image)
        assert str(err.value) == "Task is not initialized with the image mode. Current running mode:VIDEO"
    with vision.HandLandmarker.create_from_model_path("hand_landmarker.task") as still:
        with pytest.raises(ValueError, match=r"with the video mode\. Current running mode:IMAGE"):
            still.detect_for_video(image, 0)
        with pytest.raises(ValueError, match="doesn't support region-of-interest"):
            still.detect(image, vision.ImageProcessingOptions(region_of_interest=object()))
        with pytest.raises(ValueError, match="multiple of 90"):
            still.detect(image, vision.ImageProcessingOptions(rotation_degrees=45))


def test_legacy_process_checks_input_like_mediapipe():
    with mp.solutions.hands.Hands(static_image_mode=True) as hands:
        empty = hands.process(np.zeros((64, 64, 3), np.uint8))
        assert empty.multi_hand_landmarks is None and empty.multi_hand_world_landmarks is None
        assert empty.multi_handedness is None and empty._fields == (
            "multi_hand_landmarks", "multi_hand_world_landmarks", "multi_handedness")
        with pytest.raises(ValueError, match="three channel rgb data"):
            hands.process(np.zeros((64, 64, 4), np.uint8))
        with pytest.raises(TypeError, match="Cannot cast array data"):
            hands.process(np.zeros((64, 64, 3), np.float32))


# -- drawing -------------------------------------------------------------------------------------------------
def test_draw_landmarks_matches_mediapipe_pixel_for_pixel(load_benchmark):
    """The drawing fixture: MediaPipe 0.10.21's own draw_landmarks on synthetic hands, drawn by the same code
    (benchmarks/mediapipe_reference.py drawing)."""
    doc = json.loads((FIXTURES / "mediapipe_0.10.21_drawing.json").read_text())
    reference = cv2.imread(str(FIXTURES / "mediapipe_0.10.21_drawing.png"))
    drawn = load_benchmark("mediapipe_reference").draw_cases(mp, landmark_pb2, doc["cases"])
    assert (drawn != 40).any()
    assert np.array_equal(drawn, reference)


def test_draw_landmarks_takes_tasks_lists_and_connections():
    lms = [mp.tasks.components.containers.NormalizedLandmark(x=0.1 + 0.04 * i, y=0.5, z=0.0, visibility=0.0,
                                                             presence=0.0) for i in range(21)]
    image = np.zeros((50, 100, 3), np.uint8)
    vision.drawing_utils.draw_landmarks(image, lms, vision.HandLandmarksConnections.HAND_CONNECTIONS,
                                        vision.drawing_styles.get_default_hand_landmarks_style(),
                                        vision.drawing_styles.get_default_hand_connections_style())
    assert np.all(image == (48, 48, 255), axis=2).sum() > 0  # palm dots drawn (0.0 = "not given")
    with pytest.raises(ValueError, match="three channel bgr"):
        vision.drawing_utils.draw_landmarks(np.zeros((5, 5, 4), np.uint8), lms)


# -- results on real photos ----------------------------------------------------------------------------------
def test_legacy_results_on_a_photo(data_dir):
    rgb = read_image(data_dir / TWO_HANDS)
    h, w = rgb.shape[:2]
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2) as hands:
        results = hands.process(rgb)
    assert len(results.multi_hand_landmarks) == len(results.multi_handedness) == 2
    for lms, world, handed in zip(results.multi_hand_landmarks, results.multi_hand_world_landmarks,
                                  results.multi_handedness, strict=True):
        assert len(lms.landmark) == len(world.landmark) == 21
        xy = np.array([[lm.x, lm.y] for lm in lms.landmark])
        assert ((xy > 0) & (xy < 1)).all()
        assert abs(lms.landmark[0].z) < 1e-3  # wrist depth ~0, as MediaPipe's
        assert max(abs(lm.x) for lm in world.landmark) < 0.15  # metres
        c = handed.classification[0]
        assert c.label in ("Left", "Right") and c.index == {"Left": 0, "Right": 1}[c.label] and c.score > 0.5
    assert sorted(h.classification[0].label for h in results.multi_handedness) == ["Left", "Right"]
    assert h > 0 and w > 0
    if importlib.util.find_spec("google.protobuf"):  # tutorials read handedness with MessageToDict
        from google.protobuf.json_format import MessageToDict

        labels = [MessageToDict(hd)["classification"][0]["label"] for hd in results.multi_handedness]
        assert labels == [hd.classification[0].label for hd in results.multi_handedness]


def test_tasks_results_match_legacy_results(data_dir):
    """Tasks and legacy APIs give the same hands on a still image (both MediaPipe's single pass here)."""
    path = data_dir / TWO_HANDS
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2) as hands:
        legacy = hands.process(read_image(path))
    options = vision.HandLandmarkerOptions(base_options=mp_python.BaseOptions(model_asset_path="x.task"),
                                           num_hands=2)
    with vision.HandLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect(mp.Image.create_from_file(str(path)))
    assert len(result.hand_landmarks) == len(result.hand_world_landmarks) == len(result.handedness) == 2
    assert isinstance(result.hand_landmarks[0][0], mp.tasks.components.containers.NormalizedLandmark)
    assert isinstance(result.handedness[0][0], mp.tasks.components.containers.Category)
    for lms, cats in zip(result.hand_landmarks, result.handedness, strict=True):
        k = next(i for i, h in enumerate(legacy.multi_hand_landmarks)
                 if abs(h.landmark[0].x - lms[0].x) < 1e-6 and abs(h.landmark[0].y - lms[0].y) < 1e-6)
        assert cats[0].category_name == legacy.multi_handedness[k].classification[0].label
        assert cats[0].index == legacy.multi_handedness[k].classification[0].index


def test_gesture_recognizer_names(data_dir):
    recognizer = vision.GestureRecognizer.create_from_options(vision.GestureRecognizerOptions(
        canned_gesture_classifier_options=mp.tasks.components.processors.ClassifierOptions(
            category_denylist=["Victory"])))
    with recognizer:
        up = recognizer.recognize(mp.Image.create_from_file(str(data_dir / "mediapipe-rs/thumbs_up.jpg")))
        victory = recognizer.recognize(mp.Image.create_from_file(str(data_dir / "mediapipe-rs/victory.jpg")))
    assert [(c.category_name, c.index) for c in up.gestures[0]] == [("Thumb_Up", -1)]
    assert victory.gestures == [[]] and len(victory.hand_landmarks) == 1  # filtered out, hand kept
    canned = vision.gesture_recognizer.CANNED_GESTURES
    assert set(canned) == {"None", "Closed_Fist", "Open_Palm", "Pointing_Up", "Thumb_Down", "Thumb_Up",
                           "Victory", "ILoveYou"}


def test_rotation_degrees_turns_the_image_and_gives_results_in_its_frame(data_dir):
    """As MediaPipe: the image is turned clockwise before detection, results come in the input's frame."""
    upright = read_image(data_dir / "mediapipe-rs/pointing_up.jpg")[:, :400]  # not square
    h, w = upright.shape[:2]
    sideways = np.ascontiguousarray(np.rot90(upright))  # turned counter-clockwise: (x, y) -> (y, w - x)
    with vision.HandLandmarker.create_from_model_path("hand_landmarker.task") as landmarker:
        ref = landmarker.detect(np.ascontiguousarray(upright))  # an RGB array is taken too
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=sideways)
        turned = [landmarker.detect(image, vision.ImageProcessingOptions(rotation_degrees=deg))
                  for deg in (90, -270)]
    assert len(ref.hand_landmarks) == 1
    expected = np.array([[p.y * h, w - p.x * w] for p in ref.hand_landmarks[0]])  # pixels of `sideways`
    expected_world = np.array([[p.y, -p.x, p.z] for p in ref.hand_world_landmarks[0]])
    for result in turned:
        got = np.array([[p.x * h, p.y * w] for p in result.hand_landmarks[0]])  # sideways is h wide, w high
        world = np.array([[p.x, p.y, p.z] for p in result.hand_world_landmarks[0]])
        assert np.abs(got - expected).max() < 1e-3 and np.abs(world - expected_world).max() < 1e-6
        assert result.handedness[0][0].category_name == ref.handedness[0][0].category_name


def _video_frames(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def test_video_and_live_stream_modes(data_dir):
    """MediaPipe's own test expectation for this clip: one "Left" hand (hand_landmarker tests)."""
    frames = _video_frames(data_dir / "mediapipe-samples/handlandmarker_test_video.mp4", 40)
    options = vision.HandLandmarkerOptions(running_mode=vision.RunningMode.VIDEO)
    labels = []
    with vision.HandLandmarker.create_from_options(options) as landmarker:
        for i, frame in enumerate(frames):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
            result = landmarker.detect_for_video(image, i * 40)
            labels += [c[0].category_name for c in result.handedness]
    assert len(labels) == len(frames) and set(labels) == {"Left"}

    received: list[tuple[int, int, str]] = []
    done = threading.Event()

    def callback(result, image, timestamp_ms):
        received.append((timestamp_ms, len(result.hand_landmarks), type(image).__name__))
        if timestamp_ms == 39 * 40:
            done.set()

    live = vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
        running_mode=vision.RunningMode.LIVE_STREAM, result_callback=callback))
    with live:
        for i, frame in enumerate(frames):
            live.detect_async(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame), i * 40)
        with pytest.raises(ValueError, match="monotonically increasing"):
            live.detect_async(mp.Image(image_format=mp.ImageFormat.SRGB, data=frames[0]), 0)
        assert done.wait(60)
    stamps = [t for t, *_ in received]
    assert stamps == sorted(stamps) and stamps[-1] == 39 * 40  # in order; the latest frame is never dropped
    assert all(n == 1 and kind == "Image" for _, n, kind in received)


# -- unmodified code: install() and python -m ----------------------------------------------------------------
def _run(code: str, *args: str, path: str = "") -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(SRC), path) if p), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, *args, "-c", code] if not args else [sys.executable, *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_install_makes_import_mediapipe_ours():
    code = """
import handtrace.mediapipe
handtrace.mediapipe.install()
import mediapipe as mp
import mediapipe.solutions.hands
import mediapipe.python.solutions.drawing_utils as du
from mediapipe.tasks import python
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.components.containers import landmark
from mediapipe.framework.formats import landmark_pb2
assert mp is handtrace.mediapipe and mp.solutions.hands.Hands is handtrace.mediapipe.solutions.hands.Hands
assert vision.HandLandmarker is mp.tasks.vision.HandLandmarker and python.BaseOptions is mp.tasks.BaseOptions
assert du.draw_landmarks is mp.solutions.drawing_utils.draw_landmarks
assert mediapipe.solutions.hands is mp.solutions.hands
try:
    import mediapipe.solutions.pose
except ModuleNotFoundError as exc:
    assert "hand APIs only" in str(exc)
else:
    raise AssertionError("pose should not import")
handtrace.mediapipe.uninstall()
try:
    import mediapipe
    raise AssertionError("uninstall left mediapipe importable")
except ModuleNotFoundError:
    pass
print("ok")
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_install_wins_over_an_installed_mediapipe(tmp_path):
    """A MediaPipe 0.10.30+ installed (no ``solutions``), imported before install() or not."""
    fake = tmp_path / "site" / "mediapipe"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("REAL = True\n")
    code = """
import mediapipe
assert mediapipe.REAL and not hasattr(mediapipe, "solutions")
import handtrace.mediapipe
handtrace.mediapipe.install()
import mediapipe as mp
from mediapipe.solutions import hands
assert mp is handtrace.mediapipe and hands.Hands is handtrace.mediapipe.solutions.hands.Hands
print("ok")
"""
    done = _run(code, path=str(fake.parent))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    script = tmp_path / "legacy.py"
    script.write_text("import mediapipe as mp\nprint(mp.solutions.hands.Hands.__module__)\n")
    done = _run("", "-m", "handtrace.mediapipe", str(script), path=str(fake.parent))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "handtrace.mediapipe.solutions.hands"


def test_python_m_runs_a_script_with_the_aliases(tmp_path):
    script = tmp_path / "uses_mediapipe.py"
    script.write_text("import sys\nimport mediapipe as mp\n"
                      "print(mp.__name__, mp.__version__, sys.argv[1:], __name__)\n")
    done = _run("", "-m", "handtrace.mediapipe", str(script), "--flag", "x")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "handtrace.mediapipe 0.10.21 ['--flag', 'x'] __main__"
    missing = _run("", "-m", "handtrace.mediapipe", str(tmp_path / "missing.py"))
    assert missing.returncode == 2 and "can't open file" in missing.stderr


def test_result_dataclasses_are_mediapipes():
    fields = [f.name for f in dataclasses.fields(vision.HandLandmarkerResult)]
    assert fields == ["handedness", "hand_landmarks", "hand_world_landmarks"]
    fields = [f.name for f in dataclasses.fields(vision.GestureRecognizerResult)]
    assert fields == ["gestures", "handedness", "hand_landmarks", "hand_world_landmarks"]
    assert [f.name for f in dataclasses.fields(mp.tasks.components.containers.Category)] == [
        "index", "score", "display_name", "category_name"]
