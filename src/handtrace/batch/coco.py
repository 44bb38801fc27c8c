"""COCO keypoint results for image inputs (a folder of frames or one image).

One JSON file per input, in COCO's dataset layout so that ``pycocotools.coco.COCO(path)`` loads it as is
and its ``annotations`` list is also a valid keypoint *results* list (``image_id``, ``category_id``,
``keypoints``, ``score``): ``images`` (``id`` = frame index, ``file_name``, ``width``, ``height``),
``categories`` (one ``hand`` category with the 21 landmark names and the 1-based skeleton), and per hand
``keypoints`` (21 x [x, y, v], v = 2), ``num_keypoints``, ``bbox`` ([x, y, w, h] of the landmarks),
``area``, ``score`` (presence), ``handedness``, ``track_id`` and ``gesture``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from handtrace.batch.parquet import hand_rows
from handtrace.results import HAND_CONNECTIONS, LANDMARK_NAMES

__all__ = ["CATEGORY", "write_coco"]

CATEGORY: dict[str, Any] = {
    "id": 1,
    "name": "hand",
    "supercategory": "person",
    "keypoints": list(LANDMARK_NAMES),
    "skeleton": [[a + 1, b + 1] for a, b in HAND_CONNECTIONS],
}


def coco_dict(
    table: pa.Table, image_paths: Sequence[Path], sizes: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    """The COCO dict of one image input's rows; ``sizes[i]`` is frame i's ``(width, height)``."""
    images = [
        {"id": i, "file_name": str(p), "width": int(w), "height": int(h)}
        for i, (p, (w, h)) in enumerate(zip(image_paths, sizes, strict=False))
    ]
    rows = hand_rows(table)
    gestures = table.filter(pc.is_valid(table["hand"]))["gesture"].to_pylist()
    annotations = []
    for k in range(len(rows["frame"])):
        lm = rows["landmarks"][k]
        x0, y0 = lm[:, :2].min(0)
        x1, y1 = lm[:, :2].max(0)
        kp = np.concatenate([lm[:, :2], np.full((21, 1), 2.0, np.float32)], axis=1)
        annotations.append({
            "id": k + 1, "image_id": int(rows["frame"][k]), "category_id": 1,
            "keypoints": [round(float(v), 2) for v in kp.ravel()], "num_keypoints": 21,
            "bbox": [round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
            "area": round(float((x1 - x0) * (y1 - y0)), 2), "iscrowd": 0,
            "score": round(float(rows["presence"][k]), 4), "handedness": rows["handedness"][k],
            "track_id": None if rows["id"][k] < 0 else int(rows["id"][k]), "gesture": gestures[k],
        })  # fmt: skip
    return {"images": images, "annotations": annotations, "categories": [CATEGORY]}


def write_coco(
    table: pa.Table,
    path: str | os.PathLike[str],
    image_paths: Sequence[Path],
    sizes: Sequence[tuple[int, int]],
) -> None:
    """Write :func:`coco_dict` to ``path`` through a temporary name renamed when complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(coco_dict(table, image_paths, sizes)), encoding="utf-8")
    os.replace(tmp, path)
