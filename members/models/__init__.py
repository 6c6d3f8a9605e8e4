from .journey import ChangeKind, HabitDimension, MemberHabit, StageChange, StagePolicy
from .member import LapseState, Member, MemberStatus, Stage
from .purchase import Purchase, PurchaseLine, Return, ReturnLine

__all__ = [
    "ChangeKind",
    "HabitDimension",
    "LapseState",
    "Member",
    "MemberHabit",
    "MemberStatus",
    "Purchase",
    "PurchaseLine",
    "Return",
    "ReturnLine",
    "Stage",
    "StageChange",
    "StagePolicy",
]
