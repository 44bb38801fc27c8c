"""``handtrace report``: one self-contained HTML page about a batch OUT_DIR or a ``track`` JSON Lines file.

The page needs no network: plots are drawn with matplotlib and embedded as base64 PNG, thumbnails as
base64 JPEG, the style inline, and there is no script. Contents: a table with one row per input (status,
frames, share of frames with a hand, detector runs per 100 frames, ids, handedness, gesture counts, error),
an overview plot, and for the first ``max_inputs`` inputs plots over time (hands per frame and presence,
detector runs, handedness per id, gesture timeline), wrist and fingertip trajectories and a few annotated
thumbnails read back from the input.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["load_rows", "summarize", "write_report"]

_TIPS = {"wrist": 0, "thumb tip": 4, "index tip": 8, "middle tip": 12, "pinky tip": 20}
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.failed td{background:#fde8e8}tr.partial td{background:#fff4d6}
img{max-width:100%}.thumbs img{height:160px;width:auto;margin:4px;border:1px solid #ccc}.muted{color:#777}
"""


# ------------------------------------------------------------------------------------------------ loading


def _jsonl_rows(path: Path) -> pd.DataFrame:
    """A ``track`` JSON Lines file as rows of the batch schema (one per frame and hand, null hand fields on
    frames without one); detector runs are unknown there (null)."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                frame, ts, hands = int(rec["frame"]), float(rec["timestamp_ms"]), rec.get("hands") or []
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: line {n} is not a handtrace track record ({exc})") from exc
            base = {"input": str(path), "frame": frame, "timestamp_ms": ts, "detector_runs": None}
            if not hands:
                rows.append({**base, "hand": None})
            for k, h in enumerate(hands):
                rows.append(
                    {
                        **base,
                        "hand": k,
                        "id": h.get("id"),
                        "handedness": h.get("handedness"),
                        "handedness_score": h.get("handedness_score"),
                        "presence": h.get("presence"),
                        "detection_score": h.get("detection_score"),
                        "gesture": h.get("gesture"),
                        "gesture_score": h.get("gesture_score"),
                        "box": h.get("box"),
                        "landmarks": np.asarray(h["landmarks"], np.float32).ravel(),
                        "world_landmarks": np.asarray(h["world_landmarks"], np.float32).ravel(),
                    }
                )
    if not rows:
        raise ValueError(f"{path}: no frames in the file")
    return pd.DataFrame(rows)


def load_rows(source: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """``(rows, manifest)`` of a batch OUT_DIR, or of a ``track`` JSON Lines file (manifest ``{}``).

    Raises:
        FileNotFoundError: nothing there. ValueError: not a batch folder or a JSON Lines file.
    """
    from handtrace.batch import read_results
    from handtrace.batch.manifest import read_manifest
    from handtrace.batch.parquet import HANDS_DIR

    p = Path(source)
    if not p.exists():
        raise FileNotFoundError(f"not found: {p}")
    if p.is_dir():
        if not (p / HANDS_DIR).is_dir() and not (p / "manifest.jsonl").is_file():
            raise ValueError(f"{p} is not a handtrace batch output folder (no hands/ or manifest.jsonl)")
        rows = read_results(p) if (p / HANDS_DIR).is_dir() else pd.DataFrame(columns=["input", "frame"])
        return rows, read_manifest(p)
    if p.suffix.lower() not in (".jsonl", ".ndjson"):
        raise ValueError(f"{p}: give a batch OUT_DIR or a track .jsonl file")
    return _jsonl_rows(p), {}


def _hands(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["hand"].notna()]


def summarize(rows: pd.DataFrame, manifest: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary dict per input (those of the manifest first, in its order, then any others)."""
    keys = list(manifest) + [k for k in pd.unique(rows["input"]) if k not in manifest]
    groups = dict(tuple(rows.groupby("input", sort=False))) if len(rows) else {}
    out = []
    for key in keys:
        rec = manifest.get(key, {})
        r = groups.get(key)
        s: dict[str, Any] = {
            "input": key,
            "name": rec.get("name", Path(key).name),
            "status": rec.get("status", "done"),
            "error": rec.get("error"),
            "frames": 0,
            "with_hand": 0.0,
            "detector_per_100": None,
            "ids": 0,
            "left": 0,
            "right": 0,
            "gestures": {},
        }
        if r is not None and len(r):
            frames = r.drop_duplicates("frame")
            hands = _hands(r)
            runs = pd.to_numeric(frames["detector_runs"], errors="coerce")
            s.update(
                frames=len(frames),
                with_hand=hands["frame"].nunique() / max(len(frames), 1),
                detector_per_100=None if runs.isna().all() else 100 * runs.sum() / len(frames),
                ids=hands["id"].nunique(),
                left=int((hands["handedness"] == "Left").sum()),
                right=int((hands["handedness"] == "Right").sum()),
                gestures=hands["gesture"].dropna().value_counts().to_dict(),
            )
        out.append(s)
    return out


# ------------------------------------------------------------------------------------------------ drawing


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _overview(summaries: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    s = summaries[:60]
    names = [x["name"][:28] for x in s]
    fig, axes = plt.subplots(1, 2, figsize=(12, max(2.5, 0.28 * len(s) + 1)), sharey=True)
    y = np.arange(len(s))
    axes[0].barh(y, [100 * x["with_hand"] for x in s], color="#4c78a8")
    axes[0].set_xlabel("frames with a hand (%)")
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    axes[1].barh(y, [x["detector_per_100"] or 0 for x in s], color="#f58518")
    axes[1].set_xlabel("palm detector runs per 100 frames")
    fig.suptitle("Inputs" + (f" (first {len(s)} of {len(summaries)})" if len(summaries) > len(s) else ""))
    return _png(fig)


def _timeline(r: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    frames = r.drop_duplicates("frame").set_index("frame").sort_index()
    hands = _hands(r)
    count = hands.groupby("frame").size().reindex(frames.index, fill_value=0)
    presence = hands.groupby("frame")["presence"].mean().reindex(frames.index)
    fig, ax = plt.subplots(
        4, 1, figsize=(12, 7.5), sharex=True, gridspec_kw={"height_ratios": [1.2, 0.6, 1, 1]}
    )
    ax[0].step(count.index, count.values, where="post", color="#4c78a8", label="hands")
    ax[0].set_ylabel("hands")
    ax2 = ax[0].twinx()
    ax2.plot(presence.index, presence.values, color="#54a24b", lw=0.8, label="presence")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("mean presence")
    runs = pd.to_numeric(frames["detector_runs"], errors="coerce")
    if runs.notna().any():
        hit = runs[runs > 0]
        ax[1].vlines(hit.index, 0, hit.values, color="#f58518", lw=1)
        ax[1].set_ylabel("detector")
    else:
        ax[1].text(
            0.5, 0.5, "detector runs not recorded (JSON Lines)", ha="center", transform=ax[1].transAxes
        )
    for label, colour in (("Left", "#e45756"), ("Right", "#4c78a8")):
        h = hands[hands["handedness"] == label]
        ax[2].scatter(h["frame"], h["id"].fillna(-1), s=4, color=colour, label=label)
    ax[2].set_ylabel("id")
    ax[2].legend(loc="upper right", fontsize=8, markerscale=3)
    gestures = hands.dropna(subset=["gesture"])
    names = sorted(gestures["gesture"].unique())
    cmap = plt.get_cmap("tab20")
    for k, g in enumerate(names):
        f = np.sort(gestures.loc[gestures["gesture"] == g, "frame"].to_numpy())
        # Runs of consecutive frames as bars.
        breaks = np.flatnonzero(np.diff(f) > 1)
        starts, ends = np.r_[f[:1], f[breaks + 1]], np.r_[f[breaks], f[-1:]]
        ax[3].broken_barh(
            list(zip(starts, ends - starts + 1, strict=True)), (k - 0.4, 0.8), color=cmap(k % 20)
        )
    ax[3].set_yticks(range(len(names)), names, fontsize=8)
    ax[3].set_ylabel("gesture")
    ax[3].set_xlabel("frame")
    return _png(fig)


def _trajectories(r: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    hands = _hands(r)
    fig, axes = plt.subplots(1, len(_TIPS), figsize=(12, 2.8), sharex=True, sharey=True)
    lm = np.stack(hands["landmarks"].to_numpy()).reshape(-1, 21, 3) if len(hands) else np.zeros((0, 21, 3))
    ids = hands["id"].fillna(-1).to_numpy()
    for ax, (name, k) in zip(axes, _TIPS.items(), strict=True):
        for i in np.unique(ids):
            sel = ids == i
            ax.plot(lm[sel, k, 0], lm[sel, k, 1], lw=0.8, label=f"#{int(i)}" if i >= 0 else "no id")
        ax.set_title(name, fontsize=9)
        ax.set_aspect("equal", adjustable="box")
    axes[0].invert_yaxis()  # image coordinates: y down
    axes[0].set_ylabel("y px")
    if len(np.unique(ids)) <= 8 and len(ids):
        axes[-1].legend(fontsize=7)
    return _png(fig)


def _thumbnails(key: str, r: pd.DataFrame, count: int) -> str:
    """A few frames with hands, read back from the input and drawn (skipped when the input is gone)."""
    import cv2

    from handtrace.drawing import draw_hands
    from handtrace.results import Hand

    hands = _hands(r)
    frames = np.unique(hands["frame"].to_numpy())
    if count <= 0 or not len(frames) or not Path(key).exists():
        return ""
    picks = sorted({int(frames[int(i)]) for i in np.linspace(0, len(frames) - 1, count).round()})
    out = []
    for f in picks:
        try:
            image = _read_frame(Path(key), f)
        except (OSError, ValueError, RuntimeError):
            continue
        objs = [
            Hand(
                landmarks=np.asarray(h.landmarks, np.float32).reshape(21, 3),
                world_landmarks=np.asarray(h.world_landmarks, np.float32).reshape(21, 3),
                handedness=h.handedness,
                handedness_score=float(h.handedness_score),
                presence=float(h.presence),
                detection_score=float(h.detection_score or 0.0),
                box=np.asarray(h.box if h.box is not None else np.zeros(4), np.float32),
                id=None if pd.isna(h.id) else int(h.id),
                gesture=h.gesture if isinstance(h.gesture, str) else None,
                gesture_score=0.0 if pd.isna(h.gesture_score) else float(h.gesture_score),
            )
            for h in hands[hands["frame"] == f].itertuples()
        ]
        drawn = draw_hands(image, objs)
        scale = 220 / drawn.shape[0]
        small = cv2.resize(
            drawn, (max(1, round(drawn.shape[1] * scale)), 220), interpolation=cv2.INTER_AREA
        )
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80]
        )
        if ok:
            out.append(
                f'<img alt="frame {f}" title="frame {f}" '
                f'src="data:image/jpeg;base64,{base64.b64encode(buf.tobytes()).decode()}">'
            )
    return f'<div class="thumbs">{"".join(out)}</div>' if out else ""


def _read_frame(path: Path, index: int) -> np.ndarray:
    from handtrace.io import read_image
    from handtrace.video import open_source

    if path.is_dir():
        source = open_source(str(path))
        try:
            return read_image(source.paths[index])  # type: ignore[attr-defined]
        finally:
            source.close()
    from handtrace.io import IMAGE_SUFFIXES

    if path.suffix.lower() in IMAGE_SUFFIXES:
        return read_image(path)
    from handtrace.batch.segments import SegmentSource

    with SegmentSource(path, index, index + 1) as source:
        for frame in source:
            return frame.image_rgb
    raise ValueError(f"{path}: no frame {index}")


# ------------------------------------------------------------------------------------------------- page


def _table(summaries: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th class=l>input</th><th class=l>status</th><th>frames</th><th>with a hand</th>"
        "<th>detector /100</th><th>ids</th><th>Left / Right</th><th class=l>gestures</th>"
        "<th class=l>error</th></tr>"
    )
    body = []
    for s in summaries:
        det = "—" if s["detector_per_100"] is None else f"{s['detector_per_100']:.1f}"
        gest = ", ".join(
            f"{html.escape(str(g))} {n}"
            for g, n in sorted(s["gestures"].items(), key=lambda kv: -kv[1])[:6]
        )
        body.append(
            f'<tr class="{html.escape(s["status"])}"><td class=l title="{html.escape(s["input"])}">'
            f"{html.escape(s['name'])}</td><td class=l>{html.escape(s['status'])}</td><td>{s['frames']}</td>"
            f"<td>{100 * s['with_hand']:.1f}%</td><td>{det}</td><td>{s['ids']}</td>"
            f"<td>{s['left']} / {s['right']}</td><td class=l>{gest}</td>"
            f"<td class=l>{html.escape(s['error'] or '')}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def write_report(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    max_inputs: int = 12,
    thumbnails: int = 3,
) -> Path:
    """Write the report of ``source`` (OUT_DIR or a track .jsonl) to ``output`` (temporary name, then
    renamed); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    rows, manifest = load_rows(source)
    summaries = summarize(rows, manifest)
    counts = {st: sum(s["status"] == st for s in summaries) for st in ("done", "partial", "failed")}
    total_frames = sum(s["frames"] for s in summaries)
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<link rel="icon" href="data:,">',  # no favicon request: the page loads nothing
        f"<title>handtrace report: {html.escape(str(source))}</title><style>{_CSS}</style></head><body>",
        f"<h1>handtrace report</h1><p class=muted>{html.escape(str(Path(source).resolve()))}</p>",
        f"<p>{len(summaries)} inputs: {counts['done']} done, {counts['partial']} partial, {counts['failed']} "
        f"failed; {total_frames} frames processed.</p>",
        "<h2>Inputs</h2>",
        _table(summaries),
    ]
    if not manifest:
        parts.append("<p class=muted>A track JSON Lines file: detector runs not recorded (—).</p>")
    if any(s["frames"] for s in summaries):
        parts += ["<h2>Overview</h2>", _overview(summaries)]
    groups = dict(tuple(rows.groupby("input", sort=False))) if len(rows) else {}
    shown = [s for s in summaries if s["input"] in groups][:max_inputs]
    for s in shown:
        r = groups[s["input"]]
        parts += [
            f"<h2>{html.escape(s['name'])}</h2><p class=muted>{html.escape(s['input'])}</p>",
            _thumbnails(s["input"], r, thumbnails),
            _timeline(r),
        ]
        if _hands(r).shape[0]:
            parts.append(_trajectories(r))
    if len(groups) > len(shown):
        parts.append(
            f"<p class=muted>{len(groups) - len(shown)} more inputs in the table only (--max-inputs).</p>"
        )
    parts.append("</body></html>\n")
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)
    return out
