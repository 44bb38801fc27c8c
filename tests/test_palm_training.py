"""Palm detector training: losses against hand-computed values, the no-decoder variant, a tiny training run
that lowers the loss, and export of a trained model loaded by the runtime."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handtrace.training.losses import LossConfig, focal_loss, palm_loss, regression_loss  # noqa: E402
from handtrace.training.palm_model import PalmDetectorNoDecoder, build_palm_detector  # noqa: E402


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_focal_loss_matches_hand_computed_values():
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    targets = torch.tensor([1.0, 1.0, 0.0, 0.0])
    got = focal_loss(logits, targets, alpha=0.25, gamma=2.0)
    expected = []
    for x, y in zip([2.0, -1.0, 0.5, -3.0], [1, 1, 0, 0], strict=True):
        p = _sigmoid(x)
        p_t = p if y else 1 - p
        a_t = 0.25 if y else 0.75
        expected.append(-a_t * (1 - p_t) ** 2 * math.log(p_t))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    # e.g. the confident right positive: -0.25 * (1 - 0.8808)^2 * log(0.8808) = 0.000451
    assert float(got[0]) == pytest.approx(0.25 * (1 - 0.880797) ** 2 * 0.126928, rel=1e-4)
    # gamma 0 and no alpha is binary cross entropy.
    ce = focal_loss(logits, targets, alpha=None, gamma=0.0)
    np.testing.assert_allclose(ce.numpy(), [-math.log(_sigmoid(2.0)), -math.log(_sigmoid(-1.0)),
                                            -math.log(1 - _sigmoid(0.5)), -math.log(1 - _sigmoid(-3.0))],
                               rtol=1e-5)


def test_regression_loss_is_huber_in_box_widths_on_positives_only():
    target = torch.zeros(1, 3, 18)
    target[0, :, 2] = 50.0  # box width 50 px
    pred = target.clone()
    pred[0, 0, 0] += 2.5  # 0.05 widths off: quadratic zone, 0.5 * 0.05^2
    pred[0, 0, 4] += 15.0  # 0.3 widths off: linear zone, 0.1 * (0.3 - 0.05)
    pred[0, 2, :] += 100.0  # not positive: no loss
    positive = torch.tensor([[True, True, False]])
    box, kps = regression_loss(pred, target, positive, delta=0.1)
    assert float(box) == pytest.approx(0.5 * 0.05**2 / 4, rel=1e-5)
    assert float(kps) == pytest.approx(0.1 * (0.3 - 0.05) / 14, rel=1e-5)
    target[0, 0, 4] = float("nan")  # an unannotated keypoint carries no loss
    _, kps = regression_loss(pred, target, positive, delta=0.1)
    assert float(kps) == 0.0


def test_palm_loss_normalises_by_positives_and_ignores_label_minus_one():
    logits = torch.tensor([[3.0, -2.0, 0.0, 5.0]])
    labels = torch.tensor([[1, 0, 0, -1]])
    regs = torch.zeros(1, 4, 18)
    regs[..., 2] = 10.0
    ce = palm_loss(logits, regs, labels, regs.clone(), LossConfig("ce"))
    expected = -math.log(_sigmoid(3.0)) - math.log(1 - _sigmoid(-2.0)) - math.log(0.5)
    assert float(ce["cls"]) == pytest.approx(expected, rel=1e-5)
    assert float(ce["box"]) == 0.0 and float(ce["loss"]) == pytest.approx(expected, rel=1e-5)
    focal = palm_loss(logits, regs, labels, regs.clone(), LossConfig("focal"))
    assert float(focal["cls"]) < float(ce["cls"]) / 3  # easy examples down-weighted
    with pytest.raises(ValueError, match="focal"):
        LossConfig("mse")


def test_no_decoder_variant_has_the_runtime_output_layout():
    full = build_palm_detector(decoder=True, init="scratch")
    plain = build_palm_detector(decoder=False, init="scratch")
    assert isinstance(plain, PalmDetectorNoDecoder)
    x = torch.rand(2, 64, 96, 3)
    anchors = 8 * 12 * 2 + 4 * 6 * 6  # len(palm_anchors(64, 96)), in the same order
    with torch.no_grad():
        for model in (full, plain):
            regs, scores = model(x)
            assert regs.shape == (2, anchors, 18) and scores.shape == (2, anchors, 1)
    n_full = sum(p.numel() for p in full.parameters())
    n_plain = sum(p.numel() for p in plain.parameters())
    assert n_plain < n_full * 0.6  # no decoder and no 6x6 stage
    # Fresh heads predict "no palm" everywhere (the score prior).
    with torch.no_grad():
        assert float(torch.sigmoid(plain(x)[1]).max()) < 0.05


@pytest.fixture(scope="module")
def four_photos(data_dir):
    from handtrace.evaluation import load_hand_graph_cnn
    from handtrace.training.palm_data import photos_from_eval_samples

    samples = []
    for s in load_hand_graph_cnn(data_dir):
        samples.append(s)
        if len(samples) == 4:
            break
    return photos_from_eval_samples(samples)


def test_composed_frames_keep_ground_truth_on_the_hand(four_photos):
    from handtrace.training.palm_data import ComposeConfig, compose, frame_targets

    rng = np.random.default_rng(0)
    hands = 0
    for _ in range(20):
        f = compose(rng, four_photos, [], 128, ComposeConfig(empty=0.0))
        assert f.image.shape == (128, 128, 3) and f.image.dtype == np.uint8
        assert f.boxes.shape[1:] == (4,) and f.keypoints.shape[1:] == (7, 2)
        centres = (f.boxes[:, :2] + f.boxes[:, 2:]) / 2
        assert ((centres >= 0) & (centres <= 1)).all()
        labels, _ = frame_targets(f, 128)
        assert (labels == 1).sum() >= len(f.boxes)
        hands += len(f.boxes)
    assert hands >= 15


def test_tiny_training_run_lowers_the_loss_and_resumes(four_photos, tmp_path):
    from handtrace.training.palm_data import ComposeConfig
    from handtrace.training.palm_train import PalmTrainConfig, train_palm

    config = PalmTrainConfig(epochs=2, steps_per_epoch=4, batch_size=4, size=64, init="scratch", lr=1e-3,
                             val_frames=2, threads=1, compose=ComposeConfig(empty=0.0, min_palm=0.3))
    out = tmp_path / "palm.onnx"
    result = train_palm(four_photos[:3], four_photos[3:], [], out, config, progress=False, export=False)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert out.with_name("palm.curves.csv").read_text().count("\n") == 3  # header + 2 epochs
    assert out.with_name("palm.curves.png").stat().st_size > 1000
    # Resuming the finished run for one more epoch continues from epoch 3 with the same history.
    more = PalmTrainConfig(**{**config.__dict__, "epochs": 3})
    ckpt = out.with_name("palm.ckpt.pt")
    resumed = train_palm(four_photos[:3], four_photos[3:], [], out, more, resume=ckpt, progress=False,
                         export=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history[:2] == result.history
    with pytest.raises(ValueError, match="different configuration"):
        other = PalmTrainConfig(**{**config.__dict__, "loss": "ce"})
        train_palm(four_photos[:3], four_photos[3:], [], out, other, resume=out.with_name("palm.ckpt.pt"),
                   progress=False, export=False)


def test_untouched_mediapipe_weights_export_equal_to_the_packaged_model(models_dir, data_dir, tmp_path):
    """MediaPipe's weights loaded for training and exported by the training path give the packaged outputs."""
    pytest.importorskip("tflite")
    from handtrace.evaluation import load_hand_graph_cnn
    from handtrace.runtime import PalmDetectorModel
    from handtrace.training.palm_train import export_palm_onnx

    net = build_palm_detector("lite", init="mediapipe", models_dir=models_dir)
    path = export_palm_onnx(net, tmp_path / "palm_lite.onnx", "lite")
    image = next(iter(load_hand_graph_cnn(data_dir))).image[:192, :192]
    batch = np.ascontiguousarray(np.stack([image, image[::-1]]))
    ours, packaged = PalmDetectorModel(path=path), PalmDetectorModel("lite")
    for a, b in zip(ours(batch), packaged(batch), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
