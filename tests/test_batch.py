"""handtrace batch: inputs, outputs (Parquet vs track's JSON Lines, .pose, COCO), failures, resume, worker
death, segments, the report. Clips are cut from the shared videos (tests skip without the shared data)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("tqdm")
pytest.importorskip("pandas")  # read_results

from handtrace.batch import read_results  # noqa: E402
from handtrace.batch.inputs import InputError, expand_inputs  # noqa: E402
from handtrace.batch.manifest import read_manifest  # noqa: E402
from handtrace.batch.parquet import hand_rows, read_table  # noqa: E402
from handtrace.batch.runner import BatchOptions, ConfigMismatch, run_batch  # noqa: E402
from handtrace.batch.segments import plan_segments, stitch  # noqa: E402
from handtrace.batch.worker import JobConfig, Task, Worker  # noqa: E402
from handtrace.cli import main  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")
TRACKER = {"max_num_hands": 2, "model_complexity": 1, "num_threads": 1}


def _write_clip(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    import cv2

    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def _frames(video: Path, start: int, count: int, scale: float = 0.5) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(video))
    out = []
    for i in range(start + count):
        ok, f = cap.read()
        assert ok
        if i >= start:
            out.append(cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    cap.release()
    return out


@pytest.fixture(scope="session")
def clips(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Short clips: ``asl`` (4 black frames then 24 of the ASL video), ``asl60`` (60 frames), ``gesture`` (20
    frames with a hand), ``trunc`` (the handlandmarker video cut to 40 kB: 19 of 202 frames decode)."""
    d = tmp_path_factory.mktemp("clips")
    asl = data_dir / "tfjs-models" / "asl_hand.25fps.mp4"
    gesture = data_dir / "mediapipe-samples" / "gesture_test_video_victory_thumbup.mp4"
    a = _frames(asl, 0, 60)
    black = [np.zeros_like(a[0]) for _ in range(4)]
    out = {
        "asl": _write_clip(d / "asl.mp4", black + a[:24]),
        "asl60": _write_clip(d / "asl60.mp4", a),
        "gesture": _write_clip(d / "gesture.mp4", _frames(gesture, 40, 20)),
    }
    raw = (data_dir / "mediapipe-samples" / "handlandmarker_test_video.mp4").read_bytes()
    out["trunc"] = d / "trunc.mp4"
    out["trunc"].write_bytes(raw[:40000])
    return out


def _config(out: Path, **kw: object) -> JobConfig:
    return JobConfig(out_dir=str(out), tracker=dict(TRACKER), **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- inputs


def test_expand_inputs_folders_globs_lists_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    for name in ("b.mp4", "a10.mp4", "a2.mp4"):
        (tmp_path / "v" / name).write_bytes(b"x")
    (tmp_path / "v" / "frames").mkdir()
    (tmp_path / "v" / "frames" / "0.png").write_bytes(b"x")
    (tmp_path / "v" / "notes.md").write_text("not an input")
    lst = tmp_path / "list.txt"
    lst.write_text("# corpus\nv/b.mp4\n\nv/a2.mp4\n")
    items = expand_inputs([str(tmp_path / "v"), str(tmp_path / "v" / "*.mp4"), str(lst)])
    names = [(i.path.name, i.kind) for i in items]
    assert names == [("a2.mp4", "video"), ("a10.mp4", "video"), ("b.mp4", "video"), ("frames", "images")]
    assert len({i.name for i in items}) == len(items)
    # A file named explicitly is tried as a video whatever its suffix (the worker decides it fails).
    assert expand_inputs([str(tmp_path / "v" / "notes.md")])[0].kind == "video"
    for bad in ([str(tmp_path / "nope.mp4")], [str(tmp_path / "*.avi")]):
        with pytest.raises(InputError, match=r"not found|no files match"):
            expand_inputs(bad)


# ------------------------------------------------------------------------------ rows == track's JSONL


def _batch(args: list[str]) -> int:
    return main(["batch", "-q", "-j", "1", *args])


def test_rows_match_track_jsonl_and_no_hand_frames_have_null_rows(clips: dict[str, Path], tmp_path: Path
                                                                   ) -> None:
    jsonl = tmp_path / "track.jsonl"
    assert main(["track", str(clips["asl"]), "-o", str(jsonl), "-q"]) == 0
    out = tmp_path / "out"
    assert _batch([str(clips["asl"]), "-o", str(out), "--jsonl", "--pose"]) == 0
    df = read_results(out)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sorted(df["frame"].unique()) == [r["frame"] for r in records]
    for rec in records:
        rows = df[df["frame"] == rec["frame"]].sort_values("hand", na_position="first")
        assert rows["timestamp_ms"].round(3).tolist() == [rec["timestamp_ms"]] * len(rows)
        if not rec["hands"]:
            assert len(rows) == 1 and rows["hand"].isna().all()  # processed, no hand: one null row
            continue
        assert len(rows) == len(rec["hands"])
        for (_, row), hand in zip(rows.iterrows(), rec["hands"], strict=True):
            assert row["id"] == hand["id"] and row["handedness"] == hand["handedness"]
            assert row["gesture"] == hand.get("gesture")
            np.testing.assert_allclose(np.asarray(row["landmarks"]).reshape(21, 3), hand["landmarks"],
                                       atol=0.0051)
            np.testing.assert_allclose(np.asarray(row["world_landmarks"]).reshape(21, 3),
                                       hand["world_landmarks"], atol=5.1e-6)
    # The first four frames are black: rows with a null hand, distinct from frames never processed.
    assert df[df["frame"] < 4]["hand"].isna().all()
    assert df[df["frame"] >= 4]["hand"].notna().any()
    # The batch's own JSON Lines is track's file, line for line.
    batch_jsonl = next((out / "jsonl").glob("*.jsonl"))
    assert batch_jsonl.read_text() == jsonl.read_text()
    rec = next(iter(read_manifest(out).values()))
    assert rec["status"] == "done" and rec["frames"] == len(records)
    assert rec["frames_with_hands"] == sum(bool(r["hands"]) for r in records)


def test_pose_file_loads_with_pose_format(clips: dict[str, Path], tmp_path: Path) -> None:
    pose_format = pytest.importorskip("pose_format")
    out = tmp_path / "out"
    assert _batch([str(clips["asl"]), "-o", str(out), "--pose"]) == 0
    path = next((out / "pose").glob("*.pose"))
    pose = pose_format.Pose.read(path.read_bytes())
    assert [c.name for c in pose.header.components] == ["LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
    assert pose.header.components[0].points[0] == "WRIST" and len(pose.header.components[1].points) == 21
    df = read_results(out)
    frames = df["frame"].nunique()
    assert pose.body.data.shape == (frames, 1, 42, 3)
    rows = hand_rows(read_table(next((out / "hands").glob("*.parquet"))))
    for f, label, lm in zip(rows["frame"], rows["handedness"], rows["landmarks"], strict=True):
        side = slice(0, 21) if label == "Left" else slice(21, 42)
        np.testing.assert_allclose(np.asarray(pose.body.data[f, 0, side, :2]), lm[:, :2], atol=1e-3)
    no_hand = sorted(set(range(frames)) - set(rows["frame"].tolist()))
    assert no_hand and np.all(np.asarray(pose.body.confidence)[no_hand] == 0)  # masked where no hand


def test_coco_for_image_folders(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for p in sorted((data_dir / "mediapipe-samples").glob("*.jpg")):
        shutil.copy(p, folder / p.name)
    out = tmp_path / "out"
    assert _batch([str(folder), "-o", str(out), "--coco"]) == 0
    coco = json.loads(next((out / "coco").glob("*.json")).read_text())
    df = read_results(out)
    import handtrace

    assert handtrace.read_results(out).equals(df)  # the top-level name loads the same rows
    assert len(coco["images"]) == df["frame"].nunique() == len(list(folder.glob("*.jpg")))
    assert len(coco["annotations"]) == int(df["hand"].notna().sum()) > 0
    ann = coco["annotations"][0]
    assert len(ann["keypoints"]) == 63 and ann["keypoints"][2::3] == [2] * 21
    assert coco["categories"][0]["keypoints"][8] == "index_tip"


# ------------------------------------------------------------------------------- failures and resume


def test_bad_inputs_are_recorded_and_the_job_goes_on(clips: dict[str, Path], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(clips["gesture"], corpus / "good.mp4")
    shutil.copy(clips["trunc"], corpus / "trunc.mp4")
    (corpus / "empty.mp4").write_bytes(b"")
    (corpus / "notes.mp4").write_text("this is not a video\n")
    out = tmp_path / "out"
    assert main(["batch", "-q", "-j", "2", str(corpus), "-o", str(out)]) == 1
    status = {Path(k).name: r for k, r in read_manifest(out).items()}
    assert status["good.mp4"]["status"] == "done"
    assert status["trunc.mp4"]["status"] == "partial" and status["trunc.mp4"]["frames"] == 19
    assert "stopped at frame 19" in status["trunc.mp4"]["error"]
    assert status["empty.mp4"]["status"] == "failed" and "empty" in status["empty.mp4"]["error"]
    assert status["notes.mp4"]["status"] == "failed" and "cannot open video" in status["notes.mp4"]["error"]
    df = read_results(out)
    assert df.groupby("input")["frame"].nunique().to_dict() == {
        str((corpus / "good.mp4").resolve()): 20, str((corpus / "trunc.mp4").resolve()): 19}
    assert not list(out.rglob(".*.part.*")) and not list(out.rglob("*.tmp"))


def test_usage_errors(clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _batch([str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o")]) == 2
    assert "input not found" in capsys.readouterr().err
    assert _batch([str(clips["asl"].parent), "-o", str(clips["asl"].parent / "out")]) == 2
    assert "lies inside the input folder" in capsys.readouterr().err
    assert _batch([str(clips["asl"]), "-o", str(clips["asl"].parent)]) == 2  # the input's own folder
    assert "is the input folder" in capsys.readouterr().err
    assert _batch([str(clips["asl"].parent), "-o", str(clips["asl"].parent.parent)]) == 2
    assert "lies inside the output folder" in capsys.readouterr().err


def test_missing_extra_says_which_to_install(monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path],
                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import handtrace.batch.cli as bcli

    real = bcli._missing
    monkeypatch.setattr(bcli, "_missing", lambda mods: ["pyarrow"] if "pyarrow" in mods else real(mods))
    assert _batch([str(clips["asl"]), "-o", str(tmp_path / "o")]) == 2
    assert "pip install 'handtrace[batch]'" in capsys.readouterr().err
    monkeypatch.setattr(bcli, "_missing", lambda mods: ["ray"] if "ray" in mods else [])
    assert _batch([str(clips["asl"]), "-o", str(tmp_path / "o"), "--engine", "ray"]) == 2
    assert "handtrace[ray]" in capsys.readouterr().err


def test_rerun_skips_done_inputs_and_refuses_other_options(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _batch([str(clips["gesture"]), "-o", str(out)]) == 0
    parquet = next((out / "hands").glob("*.parquet"))
    mtime = parquet.stat().st_mtime_ns
    assert _batch([str(clips["gesture"]), str(clips["asl"]), "-o", str(out)]) == 0
    assert parquet.stat().st_mtime_ns == mtime  # not redone
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 2 and len(read_manifest(out)) == 2
    with pytest.raises(ConfigMismatch, match=r"tracker"):
        run_batch(expand_inputs([str(clips["gesture"])]),
                  JobConfig(str(out), {**TRACKER, "max_num_hands": 1}), BatchOptions(quiet=True))


def _wait_for(predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _start_batch(inputs: list[Path], out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "handtrace.cli", "batch", "-q", "-j", "1",
                             *map(str, inputs), "-o", str(out)],
                            env=env, start_new_session=True, stderr=subprocess.PIPE)


def _corpus(clips: dict[str, Path], tmp_path: Path, n: int = 4) -> list[Path]:
    paths = []
    for i in range(n):
        p = tmp_path / "corpus" / f"clip{i}.mp4"
        p.parent.mkdir(exist_ok=True)
        shutil.copy(clips["gesture"], p)
        paths.append(p)
    return paths


def test_killed_job_reruns_without_redoing_finished_inputs(clips: dict[str, Path], tmp_path: Path) -> None:
    inputs, out = _corpus(clips, tmp_path), tmp_path / "out"
    proc = _start_batch(inputs, out)
    _wait_for(lambda: len(read_manifest(out)) >= 1)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, as a crash or `kill -9` would
    proc.wait()
    first = read_manifest(out)
    assert 1 <= len(first) < len(inputs)
    stamps = {k: (out / "hands" / f"{r['name']}.parquet").stat().st_mtime_ns for k, r in first.items()}
    assert main(["batch", "-q", "-j", "1", *map(str, inputs), "-o", str(out)]) == 0
    final = read_manifest(out)
    assert len(final) == len(inputs) and all(r["status"] == "done" for r in final.values())
    for key, stamp in stamps.items():  # finished inputs were not redone
        assert (out / "hands" / f"{final[key]['name']}.parquet").stat().st_mtime_ns == stamp
    assert len((out / "manifest.jsonl").read_text().splitlines()) == len(inputs)
    assert read_results(out)["input"].nunique() == len(inputs)


def test_sigterm_stops_cleanly_with_finished_inputs_intact(clips: dict[str, Path], tmp_path: Path) -> None:
    inputs, out = _corpus(clips, tmp_path), tmp_path / "out"
    proc = _start_batch(inputs, out)
    _wait_for(lambda: len(read_manifest(out)) >= 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err
    done = read_manifest(out)
    assert done and all(r["status"] == "done" for r in done.values())
    assert read_results(out)["input"].nunique() == len(done)
    assert not list(out.rglob(".*.part.*"))


def test_worker_death_costs_one_retry_then_a_failed_record(clips: dict[str, Path], tmp_path: Path) -> None:
    from batch_helpers import DyingWorker
    from handtrace.batch.local import LocalEngine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("die_once.mp4", "die_always.mp4", "fine.mp4"):
        shutil.copy(clips["gesture"], corpus / name)
    out = tmp_path / "out"
    summary = run_batch(expand_inputs([str(corpus)]), _config(out), BatchOptions(quiet=True),
                        engine_factory=lambda cfg, opt: LocalEngine(cfg, 2, factory=DyingWorker))
    status = {Path(k).name: r for k, r in read_manifest(out).items()}
    assert status["die_once.mp4"]["status"] == "done" and status["die_once.mp4"]["attempts"] == 2
    assert status["fine.mp4"]["status"] == "done" and status["fine.mp4"]["attempts"] == 1
    assert status["die_always.mp4"]["status"] == "failed"
    assert "died" in status["die_always.mp4"]["error"] and status["die_always.mp4"]["attempts"] == 2
    assert summary.exit_code == 1 and summary.done == 2 and summary.failed == 1


# ------------------------------------------------------------------------------------------- segments


def test_segments_join_like_an_unsplit_run(clips: dict[str, Path], tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    item = expand_inputs([str(clips["asl60"])])[0]
    worker = Worker(cfg)
    try:
        whole = worker.run(Task(item))
        assert whole["status"] == "done"
        full = read_table(tmp_path / "hands" / f"{item.name}.parquet")
        plan = plan_segments(60, 20, overlap=10)
        assert plan == [(0, 0, 20), (10, 20, 40), (30, 40, 60)]
        tables = []
        for k, (first, start, stop) in enumerate(plan):
            rec = worker.run(Task(item, segment=k, first=first, start=start, stop=stop))
            assert rec["status"] == "done" and rec["frames"] == stop - first
            tables.append(read_table(tmp_path / ".work" / item.name / f"seg-{k:05d}.parquet"))
    finally:
        worker.close()
    joined = stitch(tables, [s for _, s, _ in plan])
    assert joined["frame"].to_pylist() == full["frame"].to_pylist()
    assert joined["timestamp_ms"].to_pylist() == full["timestamp_ms"].to_pylist()
    a, b = hand_rows(full), hand_rows(joined)
    assert (a["id"] == b["id"]).all()  # the one hand keeps its id across both joins
    err = np.linalg.norm(a["landmarks"][:, :, :2] - b["landmarks"][:, :, :2], axis=2)
    assert np.median(err) < 0.5 and err.max() < 15.0  # px, 310x540 frames; measured: see README


def test_stitch_numbers_new_hands_after_every_earlier_id() -> None:
    from handtrace.batch.parquet import RowBuffer
    from handtrace.results import Hand

    def hand(x: float, i: int) -> Hand:
        lm = np.zeros((21, 3), np.float32)
        lm[:, 0] = x + np.arange(21)
        lm[:, 1] = np.arange(21)
        return Hand(lm, lm / 100, "Right", 0.9, 0.9, 0.0, np.zeros(4, np.float32), id=i)

    seg0, seg1 = RowBuffer(), RowBuffer()
    for f in range(10):
        seg0.add(f, f * 40.0, [hand(0, 0), hand(200, 1)])
    for f in range(5, 20):  # its own numbering: 0 is the far hand, 1 the near one, 2 new from frame 12
        hands = [hand(200, 0), hand(0, 1)] + ([hand(400, 2)] if f >= 12 else [])
        seg1.add(f, f * 40.0, hands)
    joined = stitch([seg0.table("x"), seg1.table("x")], [0, 10])
    rows = hand_rows(joined)
    at = {(int(f), round(float(lm[0, 0]))): int(i)
          for f, i, lm in zip(rows["frame"], rows["id"], rows["landmarks"], strict=True)}
    assert at[(15, 0)] == 0 and at[(15, 200)] == 1 and at[(15, 400)] == 2
    assert sorted(set(joined["frame"].to_pylist())) == list(range(20))


def test_split_job_end_to_end(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _batch([str(clips["asl60"]), "-o", str(out), "--segment-frames", "20", "--overlap", "10"]) == 0
    rec = next(iter(read_manifest(out).values()))
    assert rec["status"] == "done" and rec["segments"] == 3 and rec["frames"] == 60
    assert read_results(out)["frame"].nunique() == 60
    assert not (out / ".work" / rec["name"]).exists()


# --------------------------------------------------------------------------------------------- report


def test_report_is_self_contained(clips: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
    out = tmp_path / "out"
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(clips["asl"], corpus / "asl.mp4")
    (corpus / "broken.mp4").write_text("no")
    assert main(["batch", "-q", "-j", "2", str(corpus), "-o", str(out), "--jsonl"]) == 1
    html_path = tmp_path / "report.html"
    assert main(["report", str(out), "-o", str(html_path)]) == 0
    text = html_path.read_text()
    assert "asl-" in text and "broken-" in text and "failed" in text
    assert text.count("data:image/png;base64,") >= 3 and "data:image/jpeg;base64," in text
    import re

    refs = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert refs and all(r.startswith("data:") for r in refs)  # nothing to fetch
    jsonl_report = tmp_path / "j.html"
    assert main(["report", str(next((out / "jsonl").glob("*.jsonl"))), "-o", str(jsonl_report)]) == 0
    assert "detector runs not recorded" in jsonl_report.read_text()
    assert main(["report", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.html")]) == 2
