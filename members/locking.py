"""Knowing that a member row is already locked in the current transaction, so the POS path can
resolve the member and lock it in one query instead of two.

A mark names the atomic block that took the lock; it counts only while that block is still open,
so a member object that outlives its block is fetched (and locked) again."""

from django.db import connection

from .models import Member


def mark_locked(member: Member) -> Member:
    member._locked_in = connection.atomic_blocks[-1] if connection.in_atomic_block else None
    return member


def is_locked(member: Member) -> bool:
    token = getattr(member, "_locked_in", None)
    return token is not None and any(block is token for block in connection.atomic_blocks)
