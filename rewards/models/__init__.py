from .catalog import Reward, RewardKind, Voucher, VoucherStatus
from .ledger import (
    EarningPolicy,
    EarningRule,
    EntryKind,
    ExpiryMode,
    LedgerEntry,
    LotConsumption,
    PointsLot,
    Redemption,
    RedemptionStatus,
    Rounding,
)

__all__ = [
    "EarningPolicy",
    "EarningRule",
    "EntryKind",
    "ExpiryMode",
    "LedgerEntry",
    "LotConsumption",
    "PointsLot",
    "Redemption",
    "RedemptionStatus",
    "Reward",
    "RewardKind",
    "Rounding",
    "Voucher",
    "VoucherStatus",
]
