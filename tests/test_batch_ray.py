"""handtrace batch --engine ray: same rows as the local engine; an actor that dies costs one retry. Ray starts
once for the whole session (2 CPUs, no dashboard); the tests skip without the [ray] extra."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("pyarrow")

from handtrace.batch.inputs import expand_inputs  # noqa: E402
from handtrace.batch.manifest import read_manifest  # noqa: E402
from handtrace.batch.parquet import read_table  # noqa: E402
from handtrace.batch.runner import BatchOptions, run_batch  # noqa: E402
from handtrace.batch.worker import JobConfig  # noqa: E402
from handtrace.cli import main  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    # Actors import handtrace (and tests/batch_helpers) from the paths this process uses.
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), str(HERE), old or ""])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield ray
    ray.shutdown()
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture()
def corpus(data_dir: Path, tmp_path: Path) -> Path:
    import cv2

    d = tmp_path / "corpus"
    d.mkdir()
    cap = cv2.VideoCapture(str(data_dir / "mediapipe-samples" / "gesture_test_video_victory_thumbup.mp4"))
    frames = [cap.read()[1] for _ in range(50)][30:]
    cap.release()
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(d / "a.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (w // 2, h // 2))
    for f in frames:
        out.write(cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    out.release()
    shutil.copy(d / "a.mp4", d / "b.mp4")
    return d


def test_ray_engine_gives_the_local_engine_rows(ray_session: Any, corpus: Path, tmp_path: Path) -> None:
    assert main(["batch", "-q", "-j", "2", str(corpus), "-o", str(tmp_path / "local")]) == 0
    assert main(["batch", "-q", "--engine", "ray", str(corpus), "-o", str(tmp_path / "ray")]) == 0
    for name in ("a", "b"):
        local = read_table(next((tmp_path / "local" / "hands").glob(f"{name}-*.parquet")))
        remote = read_table(next((tmp_path / "ray" / "hands").glob(f"{name}-*.parquet")))
        assert local.num_rows == 20 and local.equals(remote)


def test_ray_actor_death_costs_one_retry(ray_session: Any, corpus: Path, tmp_path: Path) -> None:
    from handtrace.batch.ray_engine import RayEngine

    shutil.move(corpus / "a.mp4", corpus / "die_once.mp4")
    shutil.move(corpus / "b.mp4", corpus / "die_always.mp4")
    out = tmp_path / "out"
    config = JobConfig(str(out), {"num_threads": 1})

    def engine(cfg: JobConfig, opt: BatchOptions) -> RayEngine:
        from batch_helpers import DyingWorker

        return RayEngine(cfg, 2, factory=DyingWorker)

    summary = run_batch(expand_inputs([str(corpus)]), config, BatchOptions(quiet=True), engine_factory=engine)
    status = {Path(k).name: r for k, r in read_manifest(out).items()}
    assert status["die_once.mp4"]["status"] == "done" and status["die_once.mp4"]["attempts"] == 2
    assert status["die_always.mp4"]["status"] == "failed" and "died" in status["die_always.mp4"]["error"]
    assert summary.exit_code == 1
