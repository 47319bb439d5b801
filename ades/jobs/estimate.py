"""Estimates of a job's duration and result size, learnt from the past successful jobs of
the same process in the same workspace: their mean, and how many there were."""

from __future__ import annotations

from dataclasses import dataclass

from ades.model import Job


@dataclass(frozen=True)
class Estimate:
    seconds: float
    size: int | None
    based_on: int

    @property
    def duration(self) -> str:
        """The duration as ISO 8601, e.g. PT1M30.5S."""
        minutes, seconds = divmod(round(self.seconds, 1), 60)
        hours, minutes = divmod(int(minutes), 60)
        text = "PT"
        if hours:
            text += f"{hours}H"
        if minutes:
            text += f"{minutes}M"
        return text + f"{seconds:g}S"


def estimate_from(past: list[Job]) -> Estimate | None:
    """None when no past job has both a start and an end to learn from."""
    durations = [(j.finished - j.started).total_seconds() for j in past if j.started and j.finished]
    if not durations:
        return None
    sizes = [j.size for j in past if j.size is not None]
    size = round(sum(sizes) / len(sizes)) if sizes else None
    return Estimate(sum(durations) / len(durations), size, len(durations))
