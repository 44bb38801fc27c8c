"""The Parquet rows of a batch job: one row per processed frame and hand.

Schema (:data:`SCHEMA`; one file per input under ``OUT/hands/``, together a Parquet dataset):

========================  ================================  ==============================================
column                    type                              meaning
========================  ================================  ==============================================
``input``                 string                            the input's resolved path
``frame``                 int32                             frame index from 0
``timestamp_ms``          float64                           frame time (container time, as ``track``)
``detector_runs``         int16                             palm detector runs on this frame
``hand``                  int8, null                        position of the hand in the frame's list;
                                                            **null: the frame was processed, no hand found**
``id``                    int32, null                       track id
``handedness``            string                            ``Left`` / ``Right``
``handedness_score``,     float32                           as :class:`handtrace.Hand`
``presence``,
``detection_score``
``gesture``               string, null                      gesture name (null: none recognised)
``gesture_score``         float32, null
``box``                   fixed_size_list<float32>[4]       x_min, y_min, x_max, y_max px
``landmarks``             fixed_size_list<float32>[63]      21 x (x, y, z) px, row-major
``world_landmarks``       fixed_size_list<float32>[63]      21 x (x, y, z) m, row-major
========================  ================================  ==============================================

A frame that was never processed (after a truncated video's last good frame, or an input that failed) has
no row at all: rows with a null ``hand`` are the frames processed without a hand, absent frames the frames
never processed.
Values are the tracker's float32 outputs, unrounded (JSON Lines rounds to 0.01 px / 1e-5 m).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from handtrace.results import Hand

__all__ = ["HANDS_DIR", "SCHEMA", "RowBuffer", "frame_count", "hand_rows", "read_table", "write_table"]

#: Folder of the Parquet dataset inside OUT_DIR.
HANDS_DIR = "hands"

SCHEMA = pa.schema([
    ("input", pa.string()),
    ("frame", pa.int32()),
    ("timestamp_ms", pa.float64()),
    ("detector_runs", pa.int16()),
    ("hand", pa.int8()),
    ("id", pa.int32()),
    ("handedness", pa.string()),
    ("handedness_score", pa.float32()),
    ("presence", pa.float32()),
    ("detection_score", pa.float32()),
    ("gesture", pa.string()),
    ("gesture_score", pa.float32()),
    ("box", pa.list_(pa.float32(), 4)),
    ("landmarks", pa.list_(pa.float32(), 63)),
    ("world_landmarks", pa.list_(pa.float32(), 63)),
])  # fmt: skip


class RowBuffer:
    """Collects one input's rows frame by frame (cheap appends), then makes one Arrow table."""

    def __init__(self) -> None:
        self._frame: list[int] = []
        self._ts: list[float] = []
        self._runs: list[int] = []
        self._hand: list[int | None] = []
        self._id: list[int | None] = []
        self._label: list[str | None] = []
        self._scores: list[tuple[float, float, float]] = []
        self._gesture: list[str | None] = []
        self._gesture_score: list[float | None] = []
        self._arrays: list[np.ndarray] = []  # (130,) per hand row: box 4, landmarks 63, world 63
        self.frames = 0
        self.hands = 0
        self.frames_with_hands = 0

    def add(self, index: int, timestamp_ms: float, hands: Sequence[Hand], detector_runs: int = 0) -> None:
        """One processed frame and its hands (a row with null hand fields when there are none)."""
        self.frames += 1
        if not hands:
            self._frame.append(index)
            self._ts.append(timestamp_ms)
            self._runs.append(detector_runs)
            self._hand.append(None)
            self._id.append(None)
            self._label.append(None)
            self._scores.append((np.nan, np.nan, np.nan))
            self._gesture.append(None)
            self._gesture_score.append(None)
            self._arrays.append(_EMPTY)
            return
        for k, h in enumerate(hands):
            self._frame.append(index)
            self._ts.append(timestamp_ms)
            self._runs.append(detector_runs)
            self._hand.append(k)
            self._id.append(h.id)
            self._label.append(h.handedness)
            self._scores.append((h.handedness_score, h.presence, h.detection_score))
            self._gesture.append(h.gesture)
            self._gesture_score.append(None if h.gesture is None else float(h.gesture_score))
            self._arrays.append(
                np.concatenate(
                    [
                        np.asarray(h.box, np.float32).ravel(),
                        np.asarray(h.landmarks, np.float32).ravel(),
                        np.asarray(h.world_landmarks, np.float32).ravel(),
                    ]
                )
            )
        self.hands += len(hands)
        self.frames_with_hands += 1

    def table(self, input_key: str) -> pa.Table:
        """The rows so far as a table of :data:`SCHEMA`."""
        n = len(self._frame)
        no_hand = np.array([h is None for h in self._hand], bool)
        arrays = np.stack(self._arrays) if n else np.zeros((0, 130), np.float32)
        scores = np.asarray(self._scores, np.float32).reshape(n, 3)

        def fixed(a: np.ndarray, size: int) -> pa.Array:
            return pa.FixedSizeListArray.from_arrays(pa.array(a.ravel()), size, mask=pa.array(no_hand))

        def masked(col: np.ndarray) -> pa.Array:
            return pa.array(col, mask=no_hand)

        return pa.Table.from_arrays([
            pa.array([input_key] * n, pa.string()),
            pa.array(self._frame, pa.int32()),
            pa.array(self._ts, pa.float64()),
            pa.array(self._runs, pa.int16()),
            pa.array(self._hand, pa.int8()),
            pa.array(self._id, pa.int32()),
            pa.array(self._label, pa.string()),
            masked(scores[:, 0]), masked(scores[:, 1]), masked(scores[:, 2]),
            pa.array(self._gesture, pa.string()),
            pa.array(self._gesture_score, pa.float32()),
            fixed(np.ascontiguousarray(arrays[:, :4]), 4),
            fixed(np.ascontiguousarray(arrays[:, 4:67]), 63),
            fixed(np.ascontiguousarray(arrays[:, 67:]), 63),
        ], schema=SCHEMA)  # fmt: skip


_EMPTY = np.zeros(130, np.float32)


def write_table(
    table: pa.Table, path: str | os.PathLike[str], metadata: dict[str, str] | None = None
) -> None:
    """Write ``table`` to ``path`` through a temporary name in the same folder, renamed when complete."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    """One Parquet file, or every ``*.parquet`` file of a folder (hidden temporary files skipped), as one
    table of :data:`SCHEMA`."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.glob("*.parquet") if not f.name.startswith((".", "_")))
        tables = [pq.read_table(f, schema=SCHEMA) for f in files]
        return pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    return pq.read_table(p, schema=SCHEMA)


def hand_rows(table: pa.Table) -> dict[str, np.ndarray]:
    """Numpy views of a table's hand rows (rows with a hand): ``frame`` (N,), ``id`` (N,) (-1 for null),
    ``landmarks`` and ``world_landmarks`` (N, 21, 3), ``presence`` (N,), ``handedness`` (N,) object."""
    t = table.filter(pc.is_valid(table["hand"]))
    n = t.num_rows

    def lm(col: str) -> np.ndarray:
        return np.asarray(t[col].combine_chunks().flatten(), np.float32).reshape(n, 21, 3)

    return {
        "frame": np.asarray(t["frame"], np.int64),
        "id": np.asarray(t["id"].fill_null(-1), np.int64),
        "landmarks": lm("landmarks"),
        "world_landmarks": lm("world_landmarks"),
        "presence": np.asarray(t["presence"], np.float32),
        "handedness": np.asarray(t["handedness"].to_pylist(), object),
    }


def frame_count(table: pa.Table) -> int:
    """Processed frames in a one-input table."""
    return len(pc.unique(table["frame"])) if table.num_rows else 0
