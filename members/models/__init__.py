from .category import Category
from .journey import ChangeKind, HabitDimension, MemberHabit, StageChange, StagePolicy
from .member import LapseState, LoyaltyType, Member, MemberStatus, Stage
from .privacy import PrivacyAction, PrivacyChannel, PrivacyRecord
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
    "PrivacyAction",
    "PrivacyChannel",
    "PrivacyRecord",
    "Purchase",
    "PurchaseLine",
    "Return",
    "ReturnLine",
    "Stage",
    "StageChange",
    "StagePolicy",
]
