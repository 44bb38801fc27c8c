"""The command line, run in-process: always with a fake tracker, and with the real one when present."""

from __future__ import annotations

import io
import json
from importlib import util
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from handtrace import Hand, cli
from handtrace.sources import ProgressBar, ResultWriter, list_images

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
