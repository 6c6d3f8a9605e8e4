"""Deterministic sampling: the same inputs always fall on the same side, so a rerun of a job
samples exactly as the first run did, and a member stays in (or out of) a control group."""

import hashlib


def bucket(*parts: object) -> int:
    """A stable number in 0..9999 for the given parts."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000


def in_sample(percent: float, *parts: object) -> bool:
    return bucket(*parts) < percent * 100


def held_out(campaign_id: int, member_id: int, holdout_percent: int) -> bool:
    """Whether a member is in a campaign's control group."""
    return in_sample(holdout_percent, "holdout", campaign_id, member_id)
