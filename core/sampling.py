"""Deterministic sampling: the same inputs always fall on the same side, so a rerun of a job
samples exactly as the first run did, and a member stays in (or out of) a control group."""

import hashlib


def rank(*parts: object) -> int:
    """A stable 64-bit number for the given parts: an order over members with no practical ties,
    so "the first n of them" is exactly n."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def bucket(*parts: object) -> int:
    """A stable number in 0..9999 for the given parts."""
    return rank(*parts) % 10_000


def in_sample(percent: float, *parts: object) -> bool:
    return bucket(*parts) < percent * 100


def held_out(campaign_id: int, member_id: int, holdout_percent: int) -> bool:
    """Whether a member is in a promotion window's control group. Decided per purchase, where no
    list of the audience exists, so the share is the configured one only on average; campaign
    runs split their audience exactly instead (`campaigns.services.campaign_split`)."""
    return in_sample(holdout_percent, "holdout", campaign_id, member_id)
