"""``ClassifierOptions``: filters on the gesture categories (threshold, allow / deny lists, count)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClassifierOptions:
    """Options of a classification step (``display_names_locale`` is accepted and unused)."""

    display_names_locale: str | None = None
    max_results: int | None = None
    score_threshold: float | None = None
    category_allowlist: list[str] | None = None
    category_denylist: list[str] | None = None

    def __post_init__(self) -> None:
        if self.category_allowlist and self.category_denylist:
            raise ValueError("`category_allowlist` and `category_denylist` are mutually exclusive options.")

    def keeps(self, name: str, score: float) -> bool:
        """Whether a category passes the threshold and the lists."""
        if self.score_threshold is not None and score < self.score_threshold:
            return False
        if self.category_allowlist:
            return name in self.category_allowlist
        return not (self.category_denylist and name in self.category_denylist)
