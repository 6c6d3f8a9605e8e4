from .category import Category
from .journey import ChangeKind, HabitDimension, MemberHabit, StageChange, StagePolicy
from .member import LapseState, LoyaltyType, Member, MemberStatus, Stage
from .purchase import Purchase, PurchaseLine, Return, ReturnLine

__all__ = [
    "Category",
    "ChangeKind",
    "HabitDimension",
    "LapseState",
    "LoyaltyType",
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
