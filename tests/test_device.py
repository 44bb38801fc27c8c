"""Where the models run: the CPU by default, the CUDA provider on request, a clear error without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from handtrace import cli
from handtrace.runtime import HandLandmarkModel, check_providers, device_providers
from handtrace.tracker import HandTracker

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def test_device_providers() -> None:
    assert device_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="device must be one of"):
        device_providers("tpu")


def test_cuda_provider_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert device_providers("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_a_session_that_fell_back_to_the_cpu_is_refused() -> None:
    model = HandLandmarkModel("lite", threads=1)  # a plain CPU session stands for one CUDA could not start
    check_providers(model.session, ["CPUExecutionProvider"], Path("m.onnx"))
    with pytest.raises(RuntimeError, match="could not start CUDAExecutionProvider"):
        check_providers(model.session, ["CUDAExecutionProvider", "CPUExecutionProvider"], Path("m.onnx"))


@pytest.mark.skipif(HAS_CUDA, reason="this onnxruntime has the CUDA provider")
def test_cuda_without_its_provider_says_what_to_install(tmp_path: Path, capsys) -> None:
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        HandTracker(device="cuda")
    with pytest.raises(ValueError, match="needs backend 'onnx'"):
        HandTracker(device="cuda", backend="litert")
    image = tmp_path / "black.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    assert cli.main(["detect", str(image), "--device", "cuda", "-q"]) == 1
    err = capsys.readouterr().err
    assert "onnxruntime-gpu" in err and "Traceback" not in err


@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime's CUDA provider (onnxruntime-gpu and a GPU)")
def test_cuda_gives_the_cpu_hands(data_dir: Path) -> None:
    from handtrace.io import read_image

    image = read_image(data_dir / "tfjs-models" / "hands.jpg")
    with HandTracker(device="cuda") as gpu, HandTracker() as cpu:
        on_gpu, on_cpu = gpu.process(image), cpu.process(image)
    assert len(on_gpu) == len(on_cpu) == 2
    for a, b in zip(on_gpu, on_cpu, strict=True):
        np.testing.assert_allclose(a.landmarks[:, :2], b.landmarks[:, :2], atol=1.0)


@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime's CUDA provider (onnxruntime-gpu and a GPU)")
def test_cuda_batches_give_the_cpu_hands(data_dir: Path) -> None:
    from handtrace.io import read_image

    paths = [data_dir / "tfjs-models" / "hands.jpg", data_dir / "mediapipe-rs" / "banana.jpg",
             *sorted((data_dir / "hand-graph-cnn-realworld" / "images").glob("*.jpg"))[:20]]
    with HandTracker(device="cuda") as gpu, HandTracker() as cpu:
        on_gpu = [r.get() for r in gpu.process_files(paths)]  # batches of stills.GPU_BATCH_SIZE
        on_cpu = [cpu.process(read_image(p)) for p in paths]
    assert [len(h) for h in on_gpu] == [len(h) for h in on_cpu]
    for hands_gpu, hands_cpu in zip(on_gpu, on_cpu, strict=True):
        for a, b in zip(hands_gpu, hands_cpu, strict=True):
            np.testing.assert_allclose(a.landmarks[:, :2], b.landmarks[:, :2], atol=1.0)
