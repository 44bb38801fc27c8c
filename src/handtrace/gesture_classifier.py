"""Trained gestures: normalised landmark features and a small numpy softmax classifier.

Training data is one folder of images per gesture (``DATA_DIR/<gesture>/*.jpg``), with an optional
``none`` folder of hands showing none of them. Every image goes through the hand tracker; its largest
hand gives one feature vector:

* the 21 image landmarks and the 21 world landmarks, each normalised for translation (wrist at the
  origin), scale (palm size 1), in-plane rotation (wrist -> middle MCP points up) and mirroring (left
  hands flipped to look like right ones), so the classifier learns hand *shape*;
* the finger states of :mod:`handtrace.fingers` (bends, thumb position, fingertip distances);
* optionally the hand's and thumb's image directions, so that gestures told apart only by orientation
  (thumb up vs thumb down) can be learnt (``orientation=True``, the default).

The classifier is multinomial logistic regression (softmax) with L2 regularisation on standardised
features, fitted by full-batch gradient descent: no deep-learning framework and no scikit-learn. The
model saves to, and loads from, one JSON file, which :class:`~handtrace.gestures.GestureRecognizer`
loads beside its rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handtrace.fingers import finger_features, handedness_sign
from handtrace.io import IMAGE_SUFFIXES

FORMAT = "handtrace-gesture-classifier"
VERSION = 1
_TRIU = np.triu_indices(5, k=1)
#: Leading feature dimensions holding normalised coordinates (21 x 2 image + 21 x 3 world) and their weight.
COORD_DIMS = 105
COORD_WEIGHT = 0.2


def _rotation_to_up(xy_dir: np.ndarray) -> np.ndarray:
    """(..., 2, 2) rotations taking each unit direction (x right, y down) to image up (0, -1)."""
    # Angle of the direction measured clockwise from up; rotating by minus that angle points it up.
    ang = np.arctan2(xy_dir[..., 0], -xy_dir[..., 1])
    c, s = np.cos(-ang), np.sin(-ang)
    # Clockwise rotation by -ang in image coordinates (y down): [[c, -s], [s, c]].
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def normalize_landmarks(
    landmarks: np.ndarray, handedness: Any = None, *, rotate: bool = True, mirror: bool = True
) -> np.ndarray:
    """Landmarks ``(..., 21, 3)`` moved to the wrist, scaled to palm size 1, turned so wrist -> middle
    MCP points up (about the camera axis), and mirrored so every hand looks like a right hand.

    Works for image landmarks (pixels) and world landmarks (metres) alike; ``handedness`` is "Left" /
    "Right" (or a sequence); unknown handedness is not mirrored.
    """
    pts = np.asarray(landmarks, np.float64)
    pts = pts - pts[..., :1, :]
    palm = np.linalg.norm(pts[..., [5, 9, 13, 17], :], axis=-1).mean(-1)
    pts = pts / np.maximum(palm, 1e-12)[..., None, None]
    if rotate:
        d = pts[..., 9, :2]
        d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
        rot = _rotation_to_up(d)
        xy = np.einsum("...ij,...kj->...ki", rot, pts[..., :2])
        pts = np.concatenate([xy, pts[..., 2:]], axis=-1)
    if mirror:
        left = handedness_sign(handedness, pts.shape[:-2]) < 0
        pts = np.where(left[..., None, None], pts * np.array([-1.0, 1.0, 1.0]), pts)
    return pts


def hand_feature_vector(
    landmarks: np.ndarray,
    world_landmarks: np.ndarray | None = None,
    handedness: Any = None,
    *,
    orientation: bool = True,
) -> np.ndarray:
    """Feature vectors ``(N, D)`` (or ``(D,)`` for one hand) for the classifier; see the module docstring."""
    lm = np.asarray(landmarks, np.float64)
    single = lm.ndim == 2
    lm = lm.reshape(-1, 21, 3)
    n = len(lm)
    world = None if world_landmarks is None else np.asarray(world_landmarks, np.float64).reshape(-1, 21, 3)
    if world is not None and not np.any(world):
        world = None
    side = handedness_sign(handedness, (n,)) if not isinstance(handedness, str) else handedness
    f = finger_features(lm, world, side)
    parts = [normalize_landmarks(lm, side)[..., :2].reshape(n, -1)]
    # Without world landmarks the image landmarks stand in, so the vector keeps its length.
    parts.append(normalize_landmarks(world if world is not None else lm, side).reshape(n, -1))
    parts += [
        f.bend / 90.0,
        f.thumb_position,
        f.tip_distance[:, _TRIU[0], _TRIU[1]],
        np.stack([f.thumb_open, f.thumb_across], -1),
    ]
    if orientation:
        # Image directions of the hand and the thumb, mirrored like the shape so left and right agree.
        sgn = np.where(handedness_sign(side, (n,)) < 0, -1.0, 1.0)[:, None]
        parts += [f.hand_direction * np.hstack([sgn, np.ones_like(sgn)]),
                  f.finger_direction[:, 0] * np.hstack([sgn, np.ones_like(sgn)])]
    x = np.concatenate(parts, axis=1)
    return x[0] if single else x


# ---------------------------------------------------------------------------------------------- model


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 1.0, iters: int = 800, lr: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(D, K)`` and biases ``(K,)`` of L2-regularised softmax regression on standardised ``x``.

    Minimises mean cross-entropy + ``l2 / (2 N)`` * |W|^2 by gradient descent with Nesterov momentum; the
    problem is convex, so a fixed step on standardised features converges.
    """
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    # Class weights balance the classes: a folder with twice the images should not get twice the say.
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sample_w = (n / (n_classes * np.maximum(counts, 1)))[y][:, None]
    w = np.zeros((d, n_classes))
    b = np.zeros(n_classes)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    mom = 0.9
    for _ in range(iters):
        lw, lb = w + mom * vw, b + mom * vb
        p = _softmax(x @ lw + lb)
        g = sample_w * (p - onehot) / n
        gw = x.T @ g + (l2 / n) * lw
        gb = g.sum(0)
        vw = mom * vw - lr * gw
        vb = mom * vb - lr * gb
        w, b = w + vw, b + vb
    return w, b


@dataclass
class GestureClassifier:
    """A trained gesture classifier (softmax regression over :func:`hand_feature_vector` features).

    Attributes:
        classes: class names (folder names), index order of the outputs.
        mean, std: feature standardisation.
        weights: (D, K); bias: (K,).
        none_class: the class meaning "none of these" (answers fall back to the rules), or ``None``.
        min_score: the probability a class needs before the recogniser answers with it.
        orientation: whether the features include image directions.
        training: what training reported (counts, cross-validated accuracy, confusion matrix).
    """

    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    none_class: str | None = None
    min_score: float = 0.5
    orientation: bool = True
    training: dict[str, Any] = field(default_factory=dict)

    def features(
        self, landmarks: np.ndarray, world: np.ndarray | None = None, handedness: Any = None
    ) -> np.ndarray:
        """The feature vectors this model was trained on."""
        return hand_feature_vector(landmarks, world, handedness, orientation=self.orientation)

    def predict_proba(
        self, landmarks: np.ndarray, world_landmarks: np.ndarray | None = None, handedness: Any = None
    ) -> np.ndarray:
        """Class probabilities: ``(K,)`` for one hand ``(21, 3)``, ``(N, K)`` for a batch."""
        x = self.features(landmarks, world_landmarks, handedness)
        return _softmax(((x - self.mean) / self.std) @ self.weights + self.bias)

    def predict(
        self, landmarks: np.ndarray, world_landmarks: np.ndarray | None = None, handedness: Any = None
    ) -> tuple[str, float] | list[tuple[str, float]]:
        """``(class, probability)`` for one hand, or a list of them for a batch."""
        p = self.predict_proba(landmarks, world_landmarks, handedness)
        k = p.argmax(-1)
        if p.ndim == 1:
            return self.classes[int(k)], float(p[k])
        return [(self.classes[int(i)], float(q[i])) for i, q in zip(k, p, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "classes": self.classes,
            "none_class": self.none_class,
            "min_score": self.min_score,
            "features": {"orientation": self.orientation, "dim": int(self.mean.shape[0])},
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
            "training": self.training,
        }

    def save(self, path: str | Path) -> None:
        """Write the model as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GestureClassifier:
        if d.get("format") != FORMAT:
            raise ValueError(f"not a handtrace gesture classifier (format {d.get('format')!r})")
        if int(d.get("version", 0)) > VERSION:
            raise ValueError(f"gesture classifier version {d['version']} is newer than this handtrace reads")
        model = cls(
            classes=list(d["classes"]),
            mean=np.asarray(d["mean"], np.float64),
            std=np.asarray(d["std"], np.float64),
            weights=np.asarray(d["weights"], np.float64),
            bias=np.asarray(d["bias"], np.float64),
            none_class=d.get("none_class"),
            min_score=float(d.get("min_score", 0.5)),
            orientation=bool(d.get("features", {}).get("orientation", True)),
            training=d.get("training", {}),
        )
        k, dim = len(model.classes), model.mean.shape[0]
        if model.weights.shape != (dim, k) or model.bias.shape != (k,) or model.std.shape != (dim,):
            raise ValueError("gesture classifier arrays do not match its classes and feature size")
        return model

    @classmethod
    def load(cls, path: str | Path) -> GestureClassifier:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(0)
    # A floor on the spread: features that barely vary in the training set (e.g. all hands upright)
    # must not be blown up into noise amplifiers.
    std = np.maximum(x.std(0), 0.05 * max(float(np.median(x.std(0))), 1e-6))
    # The 105 normalised coordinates get a fifth of the finger-state features' weight: with a few
    # images per class they mostly add noise (model-maker folders, 3-fold CV: 82% with equal weights,
    # 98% with the coordinates down-weighted), with many images they still help.
    std[: min(COORD_DIMS, len(std))] /= COORD_WEIGHT
    return mean, std


def fit(
    x: np.ndarray,
    labels: Sequence[str],
    *,
    classes: Sequence[str] | None = None,
    none_class: str | None = None,
    l2: float = 1.0,
    orientation: bool = True,
    min_score: float = 0.5,
) -> GestureClassifier:
    """Fit a classifier on feature vectors ``x`` (N, D) with one label per row."""
    classes = list(classes) if classes is not None else sorted(set(labels))
    y = np.array([classes.index(lab) for lab in labels])
    mean, std = _standardise(x)
    w, b = fit_softmax((x - mean) / std, y, len(classes), l2=l2)
    return GestureClassifier(classes, mean, std, w, b, none_class, min_score, orientation)


def confusion_matrix(true: Sequence[int], pred: Sequence[int], n: int) -> np.ndarray:
    """(n, n) counts, rows = true class, columns = predicted class."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (np.asarray(true, int), np.asarray(pred, int)), 1)
    return m


def stratified_folds(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold index (0..k-1) per sample, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        fold[idx] = (np.arange(len(idx)) + rng.integers(k)) % k
    return fold


@dataclass
class CrossValidation:
    """Cross-validated predictions: accuracy, confusion matrix (rows true, columns predicted)."""

    classes: list[str]
    folds: int
    true: np.ndarray
    pred: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.true == self.pred)) if len(self.true) else float("nan")

    @property
    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.true, self.pred, len(self.classes))


def cross_validate(
    x: np.ndarray, labels: Sequence[str], *, classes: Sequence[str] | None = None, folds: int = 5,
    seed: int = 0, **fit_kw: Any,
) -> CrossValidation:
    """Stratified k-fold cross-validation (k capped by the smallest class, at least 2)."""
    classes = list(classes) if classes is not None else sorted(set(labels))
    y = np.array([classes.index(lab) for lab in labels])
    smallest = int(np.bincount(y, minlength=len(classes))[np.bincount(y, minlength=len(classes)) > 0].min())
    k = max(2, min(folds, smallest))
    fold = stratified_folds(y, k, seed)
    pred = np.empty_like(y)
    for i in range(k):
        test = fold == i
        if not test.any() or test.all():
            continue
        model = fit(x[~test], [classes[j] for j in y[~test]], classes=classes, **fit_kw)
        z = ((x[test] - model.mean) / model.std) @ model.weights + model.bias
        pred[test] = z.argmax(-1)
    return CrossValidation(classes, k, y, pred)


def markdown_confusion(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str] | None = None) -> str:
    """A confusion matrix as a markdown table (rows true, columns predicted)."""
    cols = list(rows) if cols is None else list(cols)
    head = "| true \\ predicted | " + " | ".join(cols) + " |"
    sep = "|---|" + "---:|" * len(cols)
    body = [
        f"| {r} | " + " | ".join(str(int(v)) for v in row) + " |" for r, row in zip(rows, matrix, strict=True)
    ]
    return "\n".join([head, sep, *body])


def per_class_table(matrix: np.ndarray, names: Sequence[str]) -> str:
    """Precision / recall / support per class as a markdown table (rows true, columns predicted)."""
    tp = np.diag(matrix).astype(np.float64)
    support = matrix.sum(1)
    predicted = matrix.sum(0)
    lines = ["| class | precision | recall | support |", "|---|---:|---:|---:|"]
    for i, name in enumerate(names):
        prec = f"{tp[i] / predicted[i]:.2f}" if predicted[i] else "-"
        rec = f"{tp[i] / support[i]:.2f}" if support[i] else "-"
        lines.append(f"| {name} | {prec} | {rec} | {int(support[i])} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- training


@dataclass
class TrainingSample:
    """One training image: its class and, when a hand was found, its landmarks."""

    path: Path
    label: str
    landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None
    handedness: str | None = None


def list_training_images(data_dir: str | Path) -> list[tuple[Path, str]]:
    """``(image, class)`` for every image in ``data_dir/<class>/`` (classes = sub-folder names)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"training folder not found: {root}")
    out = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        for img in sorted(sub.iterdir()):
            if img.suffix.lower() in IMAGE_SUFFIXES and img.is_file():
                out.append((img, sub.name))
    if not out:
        raise ValueError(f"no images in class folders under {root} (expected DATA_DIR/<gesture>/*.jpg)")
    return out


def extract_samples(
    images: Sequence[tuple[Path, str]],
    process: Callable[[np.ndarray], Sequence[Any]],
    read: Callable[[Path], np.ndarray] | None = None,
    progress: Callable[[Path], None] | None = None,
) -> list[TrainingSample]:
    """Run the tracker (``process``: RGB image -> hands) on each image and keep its largest hand."""
    if read is None:
        from handtrace.io import read_image

        read = read_image
    out = []
    for path, label in images:
        hands = list(process(read(path)))
        sample = TrainingSample(path, label)
        if hands:
            # The gesturing hand is the prominent one: take the largest landmark box.
            hand = max(hands, key=lambda h: float(np.prod(np.ptp(np.asarray(h.landmarks)[:, :2], axis=0))))
            sample.landmarks = np.asarray(hand.landmarks, np.float64)
            sample.world_landmarks = np.asarray(hand.world_landmarks, np.float64)
            sample.handedness = hand.handedness
        out.append(sample)
        if progress is not None:
            progress(path)
    return out


@dataclass
class TrainingReport:
    """What :func:`train_samples` did: the model, cross-validation, and the images without a hand."""

    model: GestureClassifier
    cv: CrossValidation | None
    counts: dict[str, int]
    missing: list[Path]

    def to_markdown(self) -> str:
        lines = [f"classes: {', '.join(f'{c} ({self.counts.get(c, 0)})' for c in self.model.classes)}"]
        if self.cv is not None:
            lines += [
                "",
                f"cross-validated accuracy ({self.cv.folds}-fold, stratified): {self.cv.accuracy:.1%} "
                f"({int(np.sum(self.cv.true == self.cv.pred))}/{len(self.cv.true)})",
                "",
                markdown_confusion(self.cv.confusion, self.cv.classes),
            ]
        else:
            lines.append("cross-validation skipped: a class has fewer than 2 images with a hand")
        lines.append("")
        if self.missing:
            lines.append(f"no hand found in {len(self.missing)} image(s), left out:")
            lines += [f"- {p}" for p in self.missing]
        else:
            lines.append("a hand was found in every image")
        return "\n".join(lines)


def train_samples(
    samples: Sequence[TrainingSample],
    *,
    none_class: str | None = "none",
    orientation: bool = True,
    l2: float = 1.0,
    folds: int = 5,
    min_score: float = 0.5,
) -> TrainingReport:
    """Cross-validate, then fit on every sample with a hand. ``none_class`` is matched case-insensitively
    against the class names (no match: the model has no none class)."""
    used = [s for s in samples if s.landmarks is not None]
    missing = [s.path for s in samples if s.landmarks is None]
    classes = sorted({s.label for s in samples})
    counts = {c: sum(s.label == c for s in used) for c in classes}
    if not used:
        raise ValueError("no hand was found in any training image")
    present = [c for c in classes if counts[c]]
    if len(present) < 2:
        raise ValueError(f"need at least two classes with hands, got {present}")
    none = next((c for c in classes if none_class is not None and c.lower() == none_class.lower()), None)
    x = hand_feature_vector(
        np.stack([s.landmarks for s in used]),  # type: ignore[misc]
        np.stack([s.world_landmarks for s in used]),  # type: ignore[misc]
        [s.handedness for s in used],
        orientation=orientation,
    )
    labels = [s.label for s in used]
    fit_kw = {"l2": l2, "orientation": orientation, "none_class": none, "min_score": min_score}
    cv = None
    if min(counts[c] for c in present) >= 2:
        cv = cross_validate(x, labels, classes=present, folds=folds, **fit_kw)
    model = fit(x, labels, classes=present, **fit_kw)
    model.training = {
        "counts": counts,
        "images": len(samples),
        "no_hand": [str(p) for p in missing],
        "cv_accuracy": None if cv is None else round(cv.accuracy, 4),
        "cv_folds": None if cv is None else cv.folds,
        "cv_confusion": None if cv is None else cv.confusion.tolist(),
    }
    return TrainingReport(model, cv, counts, missing)
