"""Long videos: split into segments tracked in parallel, then joined so that ids carry across the joins.

Segment ``k`` of a video covers frames ``[start_k, stop_k)``; its task tracks from ``first_k = start_k -
overlap`` so that, by ``start_k``, the tracker has found the hands, its smoothing has settled and its region
follows the hands as in an unsplit run. Joining keeps segment ``k``'s rows from ``start_k`` on and gives its
ids the ids of the previous segments: in the overlap both runs saw the same frames, and each id of segment
``k`` takes the id of the stitched result's hand whose landmarks lie closest to it there (mean distance in
hand sizes, below :data:`MATCH_MAX_DISTANCE`); an id with no match is new and numbered after every id so far,
as the unsplit tracker numbers a new track. Measured agreement with an unsplit run: ``benchmarks/
batch_segments.py`` and the README's Corpora section.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from handtrace.batch.parquet import hand_rows
from handtrace.video import Frame, VideoFileSource, VideoReadError, _rgb

__all__ = [
    "MATCH_MAX_DISTANCE",
    "MIN_SEGMENT_FRAMES",
    "SegmentSource",
    "plan_segments",
    "stitch",
    "video_frame_count",
]

#: Auto mode never makes segments shorter than this (each one pays ``overlap`` frames of warm-up).
MIN_SEGMENT_FRAMES = 500
#: Largest mean landmark distance, in hand sizes, at which two hands of the overlap are the same hand.
MATCH_MAX_DISTANCE = 0.5


class SegmentSource(VideoFileSource):
    """Frames ``[first, stop)`` of a video file, with the indices and timestamps an unsplit read gives them.

    Frames before ``first`` are skipped with ``grab()`` (decoded, not converted): seeking by frame number is
    not exact in every container, and the timestamps must come from the same reads as in a whole run.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        first: int,
        stop: int | None,
        *,
        fps: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(path, fps=fps, strict=True, **kwargs)
        self.first = int(first)
        self.stop = int(stop) if stop is not None else None
        self.frame_count = (
            None
            if self.frame_count is None
            else max(0, min(self.frame_count, self.stop or self.frame_count) - self.first)
        )

    def _frames(self) -> Iterator[Frame]:
        cap = self._cap
        if cap is None:
            return
        stop = self.stop if self.stop is not None else math.inf
        step_ms = 1000.0 / self.fps
        index, last_ms = 0, -math.inf
        bgr, pos_ms = self._first, self._first_ms
        self._first = None
        while index < stop:
            # The timestamp rule of VideoFileSource._frames, so a segment's frames carry the same times.
            if math.isfinite(pos_ms) and pos_ms >= 0 and pos_ms > last_ms:
                ts = pos_ms
            else:
                ts = index * step_ms if last_ms == -math.inf else last_ms + step_ms
            if index >= self.first:
                yield Frame(index, ts, _rgb(bgr))
            index, last_ms = index + 1, ts
            if index >= stop:
                return
            if index < self.first:
                ok = cap.grab()
            else:
                ok, bgr = cap.read()
                ok = ok and bgr is not None
            if not ok:
                break
            pos_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
        header = cv2.CAP_PROP_FRAME_COUNT
        expected = min(stop, float(cap.get(header) or 0.0))
        if index < expected:
            raise VideoReadError(
                self.name,
                index,
                f"decoding failed after {index} frames (the video has "
                f"{int(expected)}; file truncated or corrupt)",
            )


def video_frame_count(path: str | os.PathLike[str]) -> int | None:
    """The frame count a video's header announces (no decoding), ``None`` when it cannot be read."""
    cap = cv2.VideoCapture(os.fspath(path))
    try:
        if not cap.isOpened():
            return None
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        return int(n) if math.isfinite(n) and n >= 1 else None
    finally:
        cap.release()


def plan_segments(frames: int, segment_frames: int, overlap: int) -> list[tuple[int, int, int]]:
    """``(first, start, stop)`` of each segment of a ``frames``-long video: about ``segment_frames`` each
    (the remainder spread evenly), ``first = max(0, start - overlap)``. One segment when the video is not
    longer than 1.5 segments."""
    if segment_frames <= 0 or frames <= 1.5 * segment_frames:
        return [(0, 0, frames)]
    count = max(1, round(frames / segment_frames))
    bounds = np.linspace(0, frames, count + 1).round().astype(int)
    return [
        (max(0, int(a) - overlap), int(a), int(b)) for a, b in itertools.pairwise(bounds)
    ]


def auto_segment_frames(total_frames: int, workers: int) -> int:
    """Segment length for ``--segment-frames auto``: about two tasks per worker over the whole job, never
    below :data:`MIN_SEGMENT_FRAMES`; corpora of many short videos are therefore not split."""
    return max(MIN_SEGMENT_FRAMES, math.ceil(total_frames / max(1, 2 * workers)))


def _match_ids(prev: dict[str, np.ndarray], cur: dict[str, np.ndarray]) -> dict[int, int]:
    """Ids of ``cur`` -> ids of ``prev`` for the hands both saw in the same frames (greedy, closest first)."""
    pairs: dict[tuple[int, int], list[float]] = {}
    key_prev = {(int(f), int(i)): k for k, (f, i) in enumerate(zip(prev["frame"], prev["id"], strict=True))}
    frames_prev: dict[int, list[int]] = {}
    for (f, _), k in key_prev.items():
        frames_prev.setdefault(f, []).append(k)
    for k, (f, i) in enumerate(zip(cur["frame"], cur["id"], strict=True)):
        for j in frames_prev.get(int(f), []):
            a, b = cur["landmarks"][k, :, :2], prev["landmarks"][j, :, :2]
            size = max(float(np.ptp(b[:, 0])), float(np.ptp(b[:, 1])), 1.0)
            pairs.setdefault((int(i), int(prev["id"][j])), []).append(
                float(np.linalg.norm(a - b, axis=1).mean()) / size
            )
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for (i, j), d in sorted(pairs.items(), key=lambda kv: float(np.mean(kv[1]))):
        if i in mapping or j in used or i < 0 or j < 0 or float(np.mean(d)) > MATCH_MAX_DISTANCE:
            continue
        mapping[i] = j
        used.add(j)
    return mapping


def stitch(tables: Sequence[pa.Table], starts: Sequence[int]) -> pa.Table:
    """Join segment tables (each with its overlap rows) into the rows of one unsplit run.

    ``starts[k]`` is segment ``k``'s first own frame; rows before it are the overlap, used for matching ids
    and then dropped (segment 0 has none).
    """
    out = [tables[0].filter(pc.greater_equal(tables[0]["frame"], starts[0]))]
    next_id = _max_id(out[0]) + 1
    for table, start in zip(tables[1:], starts[1:], strict=True):
        overlap = table.filter(pc.less(table["frame"], start))
        first = int(pc.min(table["frame"]).as_py()) if table.num_rows else start
        done = pa.concat_tables(out)
        prev = done.filter(pc.greater_equal(done["frame"], first))
        mapping = _match_ids(hand_rows(prev), hand_rows(overlap))
        own = table.filter(pc.greater_equal(table["frame"], start))
        ids = np.asarray(own["id"].fill_null(-1), np.int64)
        new_ids = ids.copy()
        for old in dict.fromkeys(
            int(i) for i in ids if i >= 0 and int(i) not in mapping
        ):  # order of appearance
            mapping[old] = next_id
            next_id += 1
        for old, new in mapping.items():
            new_ids[ids == old] = new
        mask = ids < 0
        own = own.set_column(
            own.schema.get_field_index("id"), "id", pa.array(new_ids, pa.int32(), mask=mask)
        )
        out.append(own)
        next_id = max(next_id, _max_id(own) + 1)
    return pa.concat_tables(out)


def _max_id(table: pa.Table) -> int:
    m = pc.max(table["id"]).as_py() if table.num_rows else None
    return -1 if m is None else int(m)
