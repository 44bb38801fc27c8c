"""Expanding ``handtrace batch`` INPUTS into the inputs of a job: videos, image folders and single images.

An INPUT may be

* a video file (any file that is not an image or a list: whether it decodes is found out by the worker, so
  an empty or non-video file becomes a *failed* record rather than stopping the job);
* a folder: each folder under it that holds images is one image-sequence input (tracked as ``handtrace track
  FOLDER`` does, in natural order), and each other file under it with a video suffix is a video input;
* a glob pattern (``"corpus/**/*.mp4"``): each match, as above;
* a text file listing paths (``.txt``, ``.lst``, ``.list``), one a line, relative to the list's folder;
  blank lines and ``#`` comments skipped; each line expanded as above (lists do not nest);
* a single image file: a one-frame input.

Inputs are identified by their resolved path, so the same file named twice (or through a symlink) is
tracked once; each gets an output name (its stem and a short hash of the path) that is unique in the job.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from handtrace.io import IMAGE_SUFFIXES
from handtrace.video import natural_key

__all__ = ["LIST_SUFFIXES", "VIDEO_FILE_SUFFIXES", "InputError", "InputItem", "expand_inputs"]

#: Suffixes of text files that list inputs.
LIST_SUFFIXES: frozenset[str] = frozenset({".txt", ".lst", ".list"})
#: Files taken as videos when a folder is searched (named files are tried whatever their suffix).
VIDEO_FILE_SUFFIXES: frozenset[str] = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".3gp",
        ".ts",
        ".mts",
    }
)
_GLOB_CHARS = re.compile(r"[*?\[]")


class InputError(ValueError):
    """An INPUT that names nothing (missing path, a pattern or list with no match): a usage error."""


@dataclass(frozen=True)
class InputItem:
    """One input of a batch job.

    Attributes:
        path: resolved path of the video file, image folder or image.
        kind: ``"video"``, ``"images"`` (a folder of frames) or ``"image"`` (one image).
        name: output name, unique in the job: ``<stem>-<8 hex digits of the path's hash>``.
    """

    path: Path
    kind: str
    name: str

    @property
    def key(self) -> str:
        """The manifest's key for this input: its resolved path as text."""
        return str(self.path)

    @property
    def is_image_input(self) -> bool:
        return self.kind in ("images", "image")


def _name(path: Path) -> str:
    stem = (
        re.sub(r"[^A-Za-z0-9._-]+", "_", path.name if path.is_dir() else path.stem).strip("._") or "input"
    )
    return f"{stem[:80]}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


def _has_images(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def _from_folder(folder: Path) -> list[tuple[Path, str]]:
    """Image folders (one input each) and video files under ``folder``, in natural order."""
    out: list[tuple[Path, str]] = []
    for d in sorted([folder, *(p for p in folder.rglob("*") if p.is_dir())], key=natural_key):
        try:
            if _has_images(d):
                out.append((d, "images"))
            out.extend(
                (f, "video")
                for f in sorted(d.iterdir(), key=natural_key)
                if f.is_file() and f.suffix.lower() in VIDEO_FILE_SUFFIXES
            )
        except OSError:  # an unreadable subfolder: skip it, its siblings still count
            continue
    return out


def _from_path(path: Path, named: bool) -> list[tuple[Path, str]]:
    if path.is_dir():
        return _from_folder(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return [(path, "image")]
    if named or suffix in VIDEO_FILE_SUFFIXES:
        return [(path, "video")]
    return []


def _read_list(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the list of inputs {path}: {exc}") from exc
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(line).expanduser()
        out.append(str(p if p.is_absolute() else path.parent / p))
    return out


def _expand_one(spec: str, from_list: bool) -> list[tuple[Path, str]]:
    path = Path(spec).expanduser()
    if path.exists():
        if path.is_file() and path.suffix.lower() in LIST_SUFFIXES and not from_list:
            found = [x for line in _read_list(path) for x in _expand_one(line, from_list=True)]
            if not found:
                raise InputError(f"the list {path} names no inputs")
            return found
        found = _from_path(path, named=True)
        if not found:
            raise InputError(f"no videos or images in folder {path}")
        return found
    if _GLOB_CHARS.search(spec):
        matches = sorted((Path(p) for p in globlib.glob(str(path), recursive=True)), key=natural_key)
        found = [x for m in matches for x in _from_path(m, named=m.is_file())]
        if not found:
            raise InputError(f"no files match the pattern {spec}")
        return found
    where = " (listed)" if from_list else ""
    raise InputError(f"input not found{where}: {spec}")


def expand_inputs(specs: Sequence[str] | Iterable[str]) -> list[InputItem]:
    """The inputs named by ``specs`` (see the module docstring), duplicates removed, in the order given.

    Raises:
        InputError: a path that does not exist, a pattern, folder or list that yields nothing.
    """
    items: dict[Path, InputItem] = {}
    for spec in specs:
        for path, kind in _expand_one(str(spec), from_list=False):
            resolved = path.resolve()
            if resolved not in items:
                items[resolved] = InputItem(resolved, kind, _name(resolved))
    if not items:
        raise InputError("no inputs given")
    return list(items.values())


def check_not_nested(out_dir: str | os.PathLike[str], input_dirs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse an output folder inside an input folder, or an input folder inside the output folder: a rerun
    would then read the job's own outputs as inputs (what :func:`handtrace.io.check_output_not_input` adds
    for a batch, whose inputs are folders searched recursively)."""
    out = Path(out_dir).resolve()
    for folder in input_dirs:
        inp = Path(folder).resolve()
        if inp in out.parents:
            raise ValueError(f"the output folder {out_dir} lies inside the input folder {folder}")
        if out in inp.parents:
            raise ValueError(f"the input folder {folder} lies inside the output folder {out_dir}")
