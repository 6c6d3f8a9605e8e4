from dataclasses import dataclass


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk of a batch job did: members examined, members changed."""

    examined: int
    changed: int
