"""The audit trail: who changed what, when, with the old and new values (django-pghistory).

Database triggers write an event row for each insert, update and delete of the configuration and
for each change to the personal, status and pin fields of a member. The back office attaches who
and where to those rows (`staff.middleware.StaffHistoryMiddleware`); changes from the POS API, the
portal and the jobs carry no staff user.

The POS path updates a member's aggregates (balance, spend, stage, tier) on every purchase: those
columns are left out of the member's tracker, whose trigger fires only when a tracked column
changes, so a purchase writes no audit row and sends no extra statement. Counters that services
move on their own (a reward's stock, a campaign's spend, a key's last use) are snapshot but do not
fire a trigger by themselves.

Event models live in this app (`app_label="staff"`) and the triggers are installed after each
migrate (PGTRIGGER_MIGRATIONS off), so the tracked apps and their migrations stay as they are.
"""

import pghistory
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from feedback.models import GridPolicy, ResponseTarget
from members.models import Category, Member, StagePolicy
from rewards.models import EarningPolicy, EarningRule, Reward
from stores.models import Store, StoreApiKey
from tiers.models import Tier

# What a staff user can see, change or be asked about on a member; the aggregates are not here.
MEMBER_AUDITED_FIELDS = [
    "name",
    "phone",
    "email",
    "birthday",
    "interests",
    "language",
    "enrolled_store",
    "consent_email",
    "consent_sms",
    "referred_by",
    "status",
    "suspended_reason",
    "tier_pinned_until",
    "tier_pin_reason",
]
# Labels of events recorded by `staff.services.audit_record` rather than by a trigger.
MEMBER_EXPORTED = "member.export"
MEMBER_CLOSED = "member.closure"
MEMBER_MANUAL_EVENTS = (MEMBER_EXPORTED, MEMBER_CLOSED)

# Configuration: every column is snapshot; these ones alone do not make an event.
_COUNTERS = {
    Campaign: ["granted_members", "granted_points"],
    Reward: ["stock"],
    StoreApiKey: ["last_used_at"],
}


def _audited_columns(model, *, leave_out=()) -> list[str]:
    return [
        field.name
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in leave_out and not getattr(field, "auto_now", False)
    ]


def _track_configuration(model) -> None:
    quiet = _COUNTERS.get(model, [])
    pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(condition=pghistory.AnyChange(*_audited_columns(model, leave_out=quiet))),
        pghistory.DeleteEvent(),
        fields=_audited_columns(model),
        app_label="staff",
        model_name=f"{model.__name__}Audit",
        obj_field=pghistory.ObjForeignKey(db_index=True),
    )(model)


AUDITED_CONFIGURATION = (
    EarningPolicy,
    EarningRule,
    Tier,
    StagePolicy,
    Category,
    GridPolicy,
    ResponseTarget,
    Campaign,
    Reward,
    Store,
    StoreApiKey,
)
for _model in AUDITED_CONFIGURATION:
    _track_configuration(_model)

pghistory.track(
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    *(pghistory.ManualEvent(label) for label in MEMBER_MANUAL_EVENTS),
    fields=MEMBER_AUDITED_FIELDS,
    app_label="staff",
    model_name="MemberAudit",
    obj_field=pghistory.ObjForeignKey(db_index=True),
)(Member)

AUDITED_MODELS = (*AUDITED_CONFIGURATION, Member)


class AuditEvent(pghistory.models.Events):
    """Every audit event of every tracked model, one list (the back office's audit trail)."""

    class Meta:
        proxy = True
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")


__all__ = ["AuditEvent"]
