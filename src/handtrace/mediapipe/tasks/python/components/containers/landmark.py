"""Tasks API landmarks: ``NormalizedLandmark`` (x, y in [0, 1] of the image, z at the scale of x) and
``Landmark`` (world, metres)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Landmark:
    """A world landmark in metres, origin near the hand's centre."""

    x: float | None = None
    y: float | None = None
    z: float | None = None
    visibility: float | None = None
    presence: float | None = None


@dataclass
class NormalizedLandmark:
    """A landmark normalised by the image width (x, z) and height (y)."""

    x: float | None = None
    y: float | None = None
    z: float | None = None
    visibility: float | None = None
    presence: float | None = None
