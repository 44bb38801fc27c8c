"""The command line, run in-process: always with a fake tracker, and with the real one when present."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from importlib import util
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from handtrace import Hand, cli, read_image
from handtrace.sources import ProgressBar, ResultWriter, list_images
from handtrace.stills import ImageResult, one_by_one

ASSETS = Path(__file__).resolve().parents[1] / "src" / "handtrace" / "assets"


def fake_hand(x: float = 10.0, y: float = 12.0) -> Hand:
    lm = np.zeros((21, 3), np.float32)
    lm[:, 0] = np.linspace(x, x + 20, 21)
    lm[:, 1] = np.linspace(y, y + 20, 21)
    return Hand(
        lm,
        np.zeros((21, 3), np.float32),
        "Left",
        0.9,
        0.95,
        0.8,
        np.array([x, y, x + 20, y + 20], np.float32),
    )


class FakeTracker:
    """Stands in for HandTracker: one hand per image; records its options and calls."""

    instances: ClassVar[list[FakeTracker]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls = 0
        self.closed = False
        self.interrupt_at: int | None = None
        FakeTracker.instances.append(self)

    def __enter__(self) -> FakeTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def process(self, image: np.ndarray) -> list[Hand]:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        self.calls += 1
        if self.interrupt_at == self.calls:
            raise KeyboardInterrupt
        return [fake_hand()]

    def process_files(self, paths: Iterable[Path], batch_size: int | None = None) -> Iterator[ImageResult]:
        return one_by_one(self.process, paths, read_image)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeTracker]:
    FakeTracker.instances = []
    monkeypatch.setattr(cli, "_create_tracker", lambda **kw: FakeTracker(**kw))
    return FakeTracker


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert cv2.imwrite(str(folder / "a.png"), img)
    (folder / "b_corrupt.jpg").write_bytes(b"not a jpeg at all")
    (folder / "notes.txt").write_text("not an image, ignored when listing a folder")
    return folder


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------ fake tracker


def test_detect_folder_with_corrupt_file(fake, images: Path, tmp_path: Path, capsys) -> None:
    out_json = tmp_path / "res.json"
    code, _, err = run(["detect", str(images), "--output", str(out_json)], capsys)
    assert code == 1
    assert "b_corrupt.jpg" in err and "error" in err
    assert len([ln for ln in err.splitlines() if "b_corrupt.jpg" in ln]) == 1
    records = json.loads(out_json.read_text())
    assert [Path(r["image"]).name for r in records] == ["a.png", "b_corrupt.jpg"]
    good, bad = records
    assert (good["width"], good["height"]) == (64, 48)
    assert len(good["hands"]) == 1 and good["hands"][0]["handedness"] == "Left"
    assert len(good["hands"][0]["landmarks"]) == 21
    assert "error" in bad and "hands" not in bad
    assert not (tmp_path / "res.json.partial").exists()
    assert fake.instances[0].closed


def test_detect_prints_summary_and_passes_options(fake, images: Path, capsys) -> None:
    argv = ["detect", str(images / "a.png"), "--max-hands", "1", "--model", "lite", "--mirrored"]
    code, out, err = run([*argv, "--min-detection-confidence", "0.3"], capsys)
    assert code == 0 and err == ""
    assert "a.png (64x48): 1 hand: Left 0.95" in out
    kw = fake.instances[0].kwargs
    assert kw["max_num_hands"] == 1 and kw["model_complexity"] == 0 and kw["mirrored"] is True
    assert kw["min_detection_confidence"] == pytest.approx(0.3) and kw["static_image_mode"] is True


def test_detect_missing_file_and_jsonl(fake, images: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sub" / "res.jsonl"
    code, _, err = run(["detect", str(tmp_path / "nope.jpg"), str(images / "a.png"), "-o", str(out)], capsys)
    assert code == 1 and "nope.jpg" in err and "not found" in err
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert len(lines) == 2 and "error" in lines[0] and lines[1]["hands"]


def test_detect_draw(fake, images: Path, tmp_path: Path, capsys) -> None:
    code, _, _ = run(["detect", str(images / "a.png"), "--draw", str(tmp_path / "drawn"), "-q"], capsys)
    assert code == 0
    drawn = cv2.imread(str(tmp_path / "drawn" / "a.png"))
    original = cv2.imread(str(images / "a.png"))
    assert drawn.shape == original.shape and not np.array_equal(drawn, original)


def test_detect_interrupt_keeps_done_work(fake, images: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    def make(**kw: Any) -> FakeTracker:
        t = FakeTracker(**kw)
        t.interrupt_at = 2
        return t

    monkeypatch.setattr(cli, "_create_tracker", make)
    for i in range(3):
        cv2.imwrite(str(images / f"c{i}.png"), np.zeros((8, 8, 3), np.uint8))
    out_json = tmp_path / "res.json"
    code, _, err = run(["detect", str(images), "-o", str(out_json)], capsys)
    assert code == 130 and "interrupted" in err
    records = json.loads(out_json.read_text())  # valid JSON with what was done before the interrupt
    assert [Path(r["image"]).name for r in records] == ["a.png", "b_corrupt.jpg"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["detect"],
        ["detect", "x.png", "--model", "huge"],
        ["eval"],
        ["nonsense"],
        ["detect", "x", "--max-hands", "0"],
    ],
)
def test_usage_errors_exit_2(fake, argv: list[str], capsys) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2 and err


def test_empty_folder_is_a_usage_error(fake, tmp_path: Path, capsys) -> None:
    code, _, err = run(["detect", str(tmp_path)], capsys)
    assert code == 2 and "no image files" in err
    assert not fake.instances  # no tracker was made


def test_help_exits_0(capsys) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "detect" in out and "eval" in out


def make_fake_dataset(root: Path) -> None:
    """A one-image hand-graph-cnn-realworld folder whose truth is exactly what FakeTracker predicts."""
    folder = root / "hand-graph-cnn-realworld"
    (folder / "images").mkdir(parents=True)
    cv2.imwrite(str(folder / "images" / "0.jpg"), np.full((64, 64, 3), 128, np.uint8))
    gt = fake_hand().landmarks[:, :2].tolist()
    ann = {"samples": [{"image": "images/0.jpg", "keypoints_2d": gt}]}
    (folder / "annotations_21kp.json").write_text(json.dumps(ann))


def test_eval_keypoints_with_fake_tracker(fake, tmp_path: Path, capsys) -> None:
    make_fake_dataset(tmp_path / "data")
    out_json = tmp_path / "eval.json"
    argv = ["eval", "keypoints", str(tmp_path / "data"), "--pad", "8", "--no-refine", "--json", str(out_json)]
    code, out, err = run(argv, capsys)
    assert code == 0
    assert "| hand-graph-cnn, as is | 1 | 100.0% (1/1) | 100.0% | 100.0% | 0.00 |" in out
    assert "hand-graph-cnn, padded 8 px" in out
    assert "mmpose" in err  # its folder is missing: skipped with a message
    kw = fake.instances[0].kwargs
    assert kw["refine"] is False and kw["full_frame_fallback"] is True and kw["model_complexity"] == 1
    result = json.loads(out_json.read_text())
    assert result["summaries"]["hand-graph-cnn, as is"]["pck@0.1"] == 1.0
    # padded: truth moved by 8 px, the fake's prediction did not
    padded = result["records"]["hand-graph-cnn, padded 8 px"][0]["hands"][0]
    assert padded["mean_error_px"] == pytest.approx(8 * np.sqrt(2), abs=0.01)


def test_eval_keypoints_missing_data_dir(fake, tmp_path: Path, capsys) -> None:
    code, _, err = run(["eval", "keypoints", str(tmp_path / "absent")], capsys)
    assert code == 2 and "not found" in err


# --------------------------------------------------------------------------------------- helpers


def test_list_images(images: Path, tmp_path: Path) -> None:
    (images / "sub").mkdir()
    cv2.imwrite(str(images / "sub" / "z.PNG"), np.zeros((4, 4, 3), np.uint8))
    names = [p.name for p in list_images([images])]
    assert names == ["a.png", "b_corrupt.jpg"]
    assert [p.name for p in list_images([images], recursive=True)] == ["a.png", "b_corrupt.jpg", "z.PNG"]
    assert list_images([tmp_path / "missing.jpg"]) == [tmp_path / "missing.jpg"]


def test_result_writer_json_is_valid_only_after_close(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    w = ResultWriter(path)
    w.write({"a": 1})
    assert not path.exists() and (tmp_path / "r.json.partial").exists()
    w.write({"b": 2})
    w.close()
    w.close()
    assert json.loads(path.read_text()) == [{"a": 1}, {"b": 2}]
    with ResultWriter(tmp_path / "empty.json"):
        pass
    assert json.loads((tmp_path / "empty.json").read_text()) == []


def test_progress_bar_draws_only_when_enabled() -> None:
    stream = io.StringIO()
    with ProgressBar(4, stream=stream, enabled=True) as bar:
        bar.update(1, "x.jpg")
        bar.write("message")
        bar.update(3)
    text = stream.getvalue()
    assert "1/4" in text and "4/4" in text and "message\n" in text and "x.jpg" in text
    quiet = io.StringIO()
    ProgressBar(4, stream=quiet).update(1)  # a StringIO is not a TTY: silent by default
    assert quiet.getvalue() == ""


# ------------------------------------------------------------------------------------ real tracker


@pytest.fixture
def real_tracker() -> None:
    if util.find_spec("handtrace.tracker") is None:
        pytest.skip("handtrace.tracker not available yet")
    if (
        not (ASSETS / "palm_detection_full.onnx").is_file()
        or not (ASSETS / "hand_landmark_full.onnx").is_file()
    ):
        pytest.skip("ONNX model assets missing")


def test_detect_real_tracker(real_tracker, images: Path, tmp_path: Path, capsys) -> None:
    out_json = tmp_path / "res.json"
    code, _, err = run(["detect", str(images), "-o", str(out_json), "-q"], capsys)
    assert code == 1 and "b_corrupt.jpg" in err
    records = json.loads(out_json.read_text())
    assert records[0]["width"] == 64 and isinstance(records[0]["hands"], list)


def test_detect_real_tracker_on_photo(real_tracker, data_dir: Path, tmp_path: Path, capsys) -> None:
    photo = data_dir / "tfjs-models" / "hands.jpg"
    if not photo.is_file():
        pytest.skip(f"{photo} missing")
    out_json = tmp_path / "res.json"
    code, _, _ = run(["detect", str(photo), "-o", str(out_json), "--draw", str(tmp_path / "drawn")], capsys)
    assert code == 0
    (record,) = json.loads(out_json.read_text())
    assert len(record["hands"]) >= 1 and (tmp_path / "drawn" / "hands.jpg").is_file()


def test_eval_keypoints_real_tracker(real_tracker, data_dir: Path, capsys) -> None:
    code, out, _ = run(["eval", "keypoints", str(data_dir), "--limit", "2", "-q"], capsys)
    assert code == 0
    assert "hand-graph-cnn, as is | 2 |" in out and "mmpose / freihand" in out


def _detect_inputs(tmp_path: Path) -> tuple[list[Path], list[str]]:
    """Photos of the shared data (hands, no hand, two hands), or synthetic images with a low detection
    threshold where the data is absent; and the detect options for them."""
    from handtrace.datasets import data_root

    graph = data_root() / "hand-graph-cnn-realworld" / "images"
    if graph.is_dir():
        photos = [*sorted(graph.glob("*.jpg"))[:12], data_root() / "tfjs-models" / "hands.jpg",
                  data_root() / "mediapipe-rs" / "banana.jpg"]
        return photos, []
    rng = np.random.default_rng(1)
    photos = []
    for i in range(12):
        coarse = rng.integers(0, 255, (13, 17, 3), dtype=np.uint8)
        photos.append(tmp_path / f"s{i}.png")
        cv2.imwrite(str(photos[-1]), cv2.resize(coarse, (128, 96), interpolation=cv2.INTER_CUBIC))
    return photos, ["--min-detection-confidence", "0.05"]


@pytest.mark.parametrize("batching", [[], ["--batch-size", "4"]], ids=["side-by-side", "batches"])
def test_detect_real_tracker_writes_what_process_finds(real_tracker, images: Path, tmp_path: Path,
                                                       capsys, batching: list[str]) -> None:
    # detect reads and processes ahead on every core, or in batches: the records must be those of one
    # image at a time.
    from handtrace import HandTracker
    from handtrace.gestures import GestureRecognizer

    photos, options = _detect_inputs(tmp_path)
    inputs = [*photos[:3], images / "b_corrupt.jpg", tmp_path / "missing.jpg", *photos[3:]]
    out = tmp_path / "res.jsonl"
    code, _, err = run(["detect", *map(str, inputs), "-o", str(out), "-q", *options, *batching], capsys)
    assert code == 1 and "b_corrupt.jpg" in err and "missing.jpg" in err
    threshold = float(options[1]) if options else 0.5
    expected = []
    with HandTracker(gestures=False, min_detection_confidence=threshold) as t:
        for p in inputs:
            try:
                image = read_image(p)
            except (OSError, ValueError) as exc:
                expected.append({"image": str(p), "error": str(exc)})
                continue
            hands = t.process(image)
            GestureRecognizer().annotate(hands)
            h, w = image.shape[:2]
            expected.append({"image": str(p), "width": w, "height": h, "hands": [x.to_dict() for x in hands]})
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records == json.loads(json.dumps(expected))
    if not options:  # the photos have hands (random blotches rarely pass the presence threshold)
        assert sum(len(r.get("hands", [])) for r in records) > 0


def test_detect_interrupted_stops_the_pipeline_and_keeps_the_records(real_tracker, tmp_path: Path, capsys,
                                                                      monkeypatch) -> None:
    import threading

    from handtrace import io as handtrace_io
    from handtrace.runtime import default_threads

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(30):
        cv2.imwrite(str(folder / f"{i:02d}.png"), np.full((64, 64, 3), 4 * i, np.uint8))
    reads = []
    real_read = handtrace_io.read_image

    def counting_read(path: Any) -> np.ndarray:
        reads.append(path)
        return real_read(path)

    real_write = ResultWriter.write

    def write(self: ResultWriter, record: dict[str, Any]) -> None:
        if self.count == 3:
            raise KeyboardInterrupt
        real_write(self, record)

    monkeypatch.setattr(handtrace_io, "read_image", counting_read)
    monkeypatch.setattr(ResultWriter, "write", write)
    out = tmp_path / "res.json"
    code, _, err = run(["detect", str(folder), "-o", str(out), "--model", "lite"], capsys)
    assert code == 130 and "interrupted after 3 of 30 images" in err
    assert [Path(r["image"]).name for r in json.loads(out.read_text())] == ["00.png", "01.png", "02.png"]
    # Bounded look-ahead, and nothing new started after the interruption.
    assert len(reads) <= 4 + 2 * default_threads()
    for thread in threading.enumerate():
        if thread.name.startswith("handtrace-images"):
            thread.join(timeout=10)
            assert not thread.is_alive()


def test_detect_refuses_a_batch_size_below_one(images: Path, capsys) -> None:
    code, _, err = run(["detect", str(images), "--batch-size", "0"], capsys)
    assert code == 2 and "--batch-size must be at least 1" in err
