"""How the admin prints moments (always in the business time zone, TIME_ZONE, never UTC),
durations and amounts (in the staff user's language: `¥1,234.00`, see core.i18n)."""

from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from core.i18n import money, points

__all__ = ["duration_label", "local_date", "local_time", "money", "points"]


def local_time(moment) -> str:
    """A stored (UTC) moment as staff read it: in the business time zone, to the minute."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def local_date(moment) -> str:
    """The business-time-zone day of a stored moment."""
    return date_format(timezone.localtime(moment), "Y-m-d")


def duration_label(duration: timedelta | None) -> str:
    """A service-level duration as staff read it ("2 h 05 min"), not `0:00:00.000698`."""
    if duration is None:
        return "-"
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return gettext("under 1 min")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min") % {"minutes": minutes}


class ReadOnlyAdminMixin:
    """Rows written only by services (so the ledger stays consistent) are read-only here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
