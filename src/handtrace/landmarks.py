"""Hand landmarks: crop regions to 224x224, run the landmark model on the batch, project back to the image.

Mirrors MediaPipe's hand_landmark_cpu.pbtxt: ``ImageToTensorCalculator`` (rotated crop), the model,
``TensorsToLandmarksCalculator`` (z divided by ``normalize_z`` 0.4), ``LandmarkProjectionCalculator`` and
``WorldLandmarkProjectionCalculator``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from handtrace.roi import apply_affine, crop_to_image_matrices
from handtrace.runtime import LandmarkOutput
from handtrace.warp import RGBAScratch, check_border, warp_into

LANDMARK_INPUT_SIZE = 224
NORMALIZE_Z = 0.4  # hand_landmark_cpu.pbtxt: extra z scaling for the training data's z distribution


@dataclass(frozen=True)
class LandmarkBatch:
    """Landmark-model results for K regions of one image.

    Attributes:
        landmarks: (K, 21, 3) float32 x, y in image pixels, z relative depth at the scale of x.
        world_landmarks: (K, 21, 3) float32 metres, rotated like the image.
        presence: (K,) float32 hand-presence score.
        handedness: (K,) float32 raw handedness output: probability of a right hand in a non-mirrored image.
        rois: (K, 5) float64 the regions ``cx, cy, w, h, rotation`` the landmarks came from.
    """

    landmarks: np.ndarray
    world_landmarks: np.ndarray
    presence: np.ndarray
    handedness: np.ndarray
    rois: np.ndarray

    def __len__(self) -> int:
        return len(self.presence)

    def __getitem__(self, index: slice | np.ndarray) -> LandmarkBatch:
        return LandmarkBatch(self.landmarks[index], self.world_landmarks[index], self.presence[index],
                             self.handedness[index], self.rois[index])

    @classmethod
    def concat(cls, batches: list[LandmarkBatch]) -> LandmarkBatch:
        """Several batches (of one image) as one."""
        filled = [b for b in batches if len(b)]
        if len(filled) == 1:  # the usual video frame: tracked hands and no new ones
            return filled[0]
        return cls(*(np.concatenate([getattr(b, f) for b in batches]) for f in _FIELDS))

    def where(self, mask: np.ndarray, other: LandmarkBatch) -> LandmarkBatch:
        """Row-wise choice: ``other``'s results where ``mask`` (K,) is true, this batch's elsewhere."""
        mask = np.asarray(mask, bool)
        return LandmarkBatch(*(np.where(mask.reshape(-1, *[1] * (getattr(self, f).ndim - 1)),
                                        getattr(other, f), getattr(self, f)) for f in _FIELDS))


_FIELDS = ("landmarks", "world_landmarks", "presence", "handedness", "rois")


def crop_regions(image: np.ndarray, rois: np.ndarray, size: int = LANDMARK_INPUT_SIZE,
                 border: str = "replicate", crop_to_image: np.ndarray | None = None,
                 scratch: RGBAScratch | None = None) -> np.ndarray:
    """Crop rotated regions of an RGB (or RGBA, alpha unused) uint8 image (H, W, 3|4) to a (K, size, size, 4)
    uint8 RGBA batch (alpha unspecified), the landmark model's input.

    rois: (K, 5) ``cx, cy, w, h, rotation`` in pixels. ``border``: "zero" or "replicate" (outside the image).
    ``crop_to_image``: the regions' (K, 2, 3) :func:`crop_to_image_matrices`, when already computed.
    ``scratch``: a reusable RGBA buffer that makes the crops of a large RGB frame faster (same values).
    """
    check_border(border)
    if crop_to_image is None:
        crop_to_image = crop_to_image_matrices(rois, size)
    out = np.empty((len(rois), size, size, 4), np.uint8)
    for k, m in enumerate(crop_to_image):  # one warp per region; the work is inside OpenCV
        warp_into(image, m, out[k], border, scratch)
    return out


def project_landmarks(landmarks: np.ndarray, rois: np.ndarray, size: int = LANDMARK_INPUT_SIZE,
                      normalize_z: float = NORMALIZE_Z, crop_to_image: np.ndarray | None = None
                      ) -> np.ndarray:
    """Crop-pixel landmarks (K, 21, 3) -> image pixels (K, 21, 3).

    x, y go through the crop's affine map; z is scaled like x (region width / size) and divided by
    ``normalize_z`` as MediaPipe does.
    """
    m = crop_to_image_matrices(rois, size) if crop_to_image is None else crop_to_image
    xy = apply_affine(m, landmarks[..., :2].astype(np.float64))
    z = landmarks[..., 2] * (np.asarray(rois)[:, 2:3] / size / normalize_z)
    return np.concatenate([xy, z[..., None]], axis=-1).astype(np.float32)


def rotate_world_landmarks(world: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate world landmarks (K, 21, 3) about z by each region's rotation (K,), like the image.

    Returns (K, 21, 3).
    """
    cos, sin = np.cos(rotation)[:, None], np.sin(rotation)[:, None]
    x, y = world[..., 0], world[..., 1]
    return np.stack([cos * x - sin * y, sin * x + cos * y, world[..., 2]], axis=-1).astype(np.float32)


def decode_handedness(right_prob: np.ndarray, mirrored: bool = False) -> tuple[list[str], np.ndarray]:
    """Labels and scores from the model's handedness output (K,).

    The output is the score MediaPipe labels "Left" (index 0 of handedness.txt) under its assumption that
    images are mirrored (selfie view); for a non-mirrored photo it is therefore the probability of a right
    hand. MediaPipe 0.10.21's labels, flipped, agree with this on all 151 hands of our reference fixture.
    Returns labels (K strings) and scores (K,) in [0.5, 1].
    """
    p = np.asarray(right_prob, np.float32)
    right = p > 0.5
    if mirrored:
        right = ~right
    labels = ["Right" if r else "Left" for r in right]
    return labels, np.maximum(p, 1 - p)


class LandmarkEstimator:
    """Landmarks for a batch of regions of one image with a landmark model
    (``(N, 224, 224, 4) uint8 RGBA -> LandmarkOutput``)."""

    def __init__(self, model: Callable, border: str = "replicate") -> None:
        self.model = model
        self.border = check_border(border)
        self._scratch = RGBAScratch()

    def __call__(self, image: np.ndarray, rois: np.ndarray) -> LandmarkBatch:
        """Run the model once on all regions ``rois`` (K, 5) of ``image`` (H, W, 3|4) RGB(A) uint8."""
        rois = np.asarray(rois, np.float64).reshape(-1, 5)
        to_image = crop_to_image_matrices(rois, LANDMARK_INPUT_SIZE)
        crops = crop_regions(image, rois, border=self.border, crop_to_image=to_image, scratch=self._scratch)
        return self._results(self.model(crops), rois, to_image)

    def many(self, images: Sequence[np.ndarray], rois: Sequence[np.ndarray]) -> list[LandmarkBatch]:
        """Run the model once on the regions of several images: ``rois[i]`` (K_i, 5) of ``images[i]``.

        Each image's results are those :meth:`__call__` gives it (on the CPU, bit for bit: the model's
        batch rows do not mix); one call instead of one per image is what pays on a GPU."""
        rois = [np.asarray(r, np.float64).reshape(-1, 5) for r in rois]
        to_image = [crop_to_image_matrices(r, LANDMARK_INPUT_SIZE) for r in rois]
        crops = [crop_regions(image, r, border=self.border, crop_to_image=m, scratch=self._scratch)
                 for image, r, m in zip(images, rois, to_image, strict=True)]
        if not crops:
            return []
        out = self.model(np.concatenate(crops))
        results, start = [], 0
        for r, m in zip(rois, to_image, strict=True):
            rows = slice(start, start + len(r))
            start += len(r)
            part = LandmarkOutput(out.landmarks[rows], out.presence[rows], out.handedness[rows],
                                  out.world_landmarks[rows])
            results.append(self._results(part, r, m))
        return results

    @staticmethod
    def _results(out: LandmarkOutput, rois: np.ndarray, to_image: np.ndarray) -> LandmarkBatch:
        """The model's outputs on the crops of ``rois`` (K, 5) -> landmarks in image pixels."""
        return LandmarkBatch(
            landmarks=project_landmarks(out.landmarks, rois, crop_to_image=to_image),
            world_landmarks=rotate_world_landmarks(out.world_landmarks, rois[:, 4]),
            presence=np.asarray(out.presence, np.float32),
            handedness=np.asarray(out.handedness, np.float32),
            rois=rois,
        )
