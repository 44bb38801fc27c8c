"""``Category``: one classification result (handedness, gesture) of the Tasks API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Category:
    """A category: ``index`` (-1 for gestures, as MediaPipe's), ``score``, ``display_name``,
    ``category_name``."""

    index: int | None = None
    score: float | None = None
    display_name: str | None = None
    category_name: str | None = None
