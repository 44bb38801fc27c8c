"""``.pose`` files (the ``pose-format`` library's binary layout, read by sign-language tools).

The header has two components named as in MediaPipe Holistic's layout, ``LEFT_HAND_LANDMARKS`` and
``RIGHT_HAND_LANDMARKS``, each with MediaPipe's 21 hand point names (``WRIST``, ``THUMB_CMC``, ...), its
hand skeleton and point format ``XYZC``; one person per frame, one frame per processed frame. As in
pose-format's Holistic reader, x and y are pixels and z is MediaPipe's normalised depth (our z, which is at
the scale of x in pixels, divided by the frame width). The confidence of a point is the hand's presence
score; 0 (masked) where no hand of that side was found. A hand goes to the side of its ``handedness`` (the
person's own left or right hand, as Holistic's components are); when two hands of a frame claim the same
side, the one with the higher presence is kept.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from handtrace.batch.parquet import hand_rows
from handtrace.results import HAND_CONNECTIONS, LANDMARK_NAMES

__all__ = ["HAND_COMPONENTS", "pose_header", "write_pose"]

HAND_COMPONENTS = ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS")
_POINTS = [name.upper() for name in LANDMARK_NAMES]
#: One colour per point, by finger (the wrist grey), so viewers draw the hand as pose-format's readers do.
_FINGER_COLOURS = [(127, 127, 127), (192, 0, 0), (0, 0, 192), (0, 192, 0), (0, 192, 192), (255, 128, 0)]
_COLOURS = [_FINGER_COLOURS[0 if i == 0 else 1 + (i - 1) // 4] for i in range(21)]


def pose_header(width: int, height: int) -> object:
    """The :class:`pose_format.pose_header.PoseHeader` of our files (version 0.2, Holistic's hand names)."""
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    components = [
        PoseHeaderComponent(
            name=name,
            points=list(_POINTS),
            limbs=[tuple(c) for c in HAND_CONNECTIONS],
            colors=list(_COLOURS),
            point_format="XYZC",
        )
        for name in HAND_COMPONENTS
    ]
    return PoseHeader(
        version=0.2,
        dimensions=PoseHeaderDimensions(width=width, height=height, depth=0),
        components=components,
    )


def write_pose(
    table: pa.Table, path: str | os.PathLike[str], *, width: int, height: int, fps: float
) -> None:
    """Write one input's rows (:data:`handtrace.batch.parquet.SCHEMA`) as a ``.pose`` file, through a
    temporary name renamed when complete."""
    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody

    frames = int(np.max(np.asarray(table["frame"]))) + 1 if table.num_rows else 0
    data = np.zeros((frames, 1, 42, 3), np.float32)
    conf = np.zeros((frames, 1, 42), np.float32)
    rows = hand_rows(table)
    # Best hand per (frame, side): write in ascending presence so the best one lands last.
    order = np.argsort(rows["presence"], kind="stable")
    for i in order:
        side = 0 if rows["handedness"][i] == "Left" else 21
        pts = rows["landmarks"][i].copy()
        pts[:, 2] /= max(width, 1)
        f = rows["frame"][i]
        data[f, 0, side : side + 21] = pts
        conf[f, 0, side : side + 21] = rows["presence"][i]
    body = NumPyPoseBody(fps=float(fps), data=data, confidence=conf)
    pose = Pose(pose_header(width, height), body)
    tmp = os.fspath(path)
    tmp = os.path.join(os.path.dirname(tmp), f".{os.path.basename(tmp)}.tmp")
    with open(tmp, "wb") as f:
        pose.write(f)
    os.replace(tmp, path)
