"""The back office's sidebar: organised by what staff do, not by which app holds a model.

Each link shows only to a staff user who may view what it opens; the System group (the plumbing:
jobs, outbox, idempotency, login attempts, schedules' parts, staff accounts, their stores and
second factors, the audit trail, privacy records, analytics tokens) only to administrators (the
staff app's Administrator role, or superusers). Unfold calls `sidebar_navigation(request)` on
every page (settings.UNFOLD)."""

from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from staff import roles

# The group of the shipped Administrator role (staff/roles.py), besides superusers.
ADMINISTRATORS_GROUP = roles.ADMINISTRATOR


def is_administrator(user) -> bool:
    if not user.is_active or not user.is_staff:
        return False
    return roles.is_administrator(user)


def _plural(label: str):
    """A model's own (translated) plural name, as a sidebar title."""
    from django.apps import apps

    return capfirst(apps.get_model(label)._meta.verbose_name_plural)


def _item(request, title, icon, model: str, *, query: str = "", url_name: str = "", hidden: bool = False) -> dict:
    """A link to a model's list (or another of its admin pages), shown to whoever may view it."""
    app_label, model_name = model.split(".")
    user = request.user
    allowed = not hidden and (
        user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(f"{app_label}.change_{model_name}")
    )
    return {
        "title": title,
        "icon": icon,
        "link": reverse(url_name or f"admin:{app_label}_{model_name}_changelist") + query,
        # Unfold wants a callable here (a plain True would hide the link).
        "permission": lambda request: allowed,
    }


def sidebar_navigation(request) -> list[dict]:
    def item(title, icon, model, **kwargs):
        return _item(request, title, icon, model, **kwargs)

    administrator = is_administrator(request.user)

    def system(title, icon, model, **kwargs):
        return _item(request, title, icon, model, hidden=not administrator, **kwargs)

    return [
        {
            "items": [
                {"title": _("Dashboard"), "icon": "dashboard", "link": reverse("admin:index")},
            ]
        },
        {
            "title": _("Members"),
            "collapsible": False,
            "items": [
                item(_("Members"), "person_search", "members.member"),
                item(_("Purchases"), "receipt_long", "members.purchase"),
                item(_("Returns"), "assignment_return", "members.return"),
                item(_("Points ledger"), "account_balance_wallet", "rewards.ledgerentry"),
                item(_("Redemptions"), "redeem", "rewards.redemption"),
                item(_("Points lots"), "hourglass_bottom", "rewards.pointslot"),
            ],
        },
        {
            "title": _("Journey and tiers"),
            "collapsible": True,
            "items": [
                item(_("Stage and lapse changes"), "conversion_path", "members.stagechange"),
                item(_("Tier changes"), "military_tech", "tiers.tierchange"),
                item(_("Badges earned"), "workspace_premium", "campaigns.memberbadge"),
            ],
        },
        {
            "title": _("Rewards and campaigns"),
            "collapsible": True,
            "items": [
                item(_("Campaigns"), "campaign", "campaigns.campaign"),
                item(_("Reward catalogue"), "card_giftcard", "rewards.reward"),
                item(_("Vouchers"), "confirmation_number", "rewards.voucher"),
                item(_("Campaign grants"), "volunteer_activism", "campaigns.campaigngrant"),
                item(_("Badges"), "verified", "campaigns.badge"),
            ],
        },
        {
            "title": _("Listening"),
            "collapsible": True,
            "items": [
                item(_("Complaints queue"), "support_agent", "feedback.complaint"),
                item(_("Feedback"), "reviews", "feedback.feedback"),
                item(_("Surveys"), "quiz", "feedback.survey"),
                item(_("Survey invitations"), "forward_to_inbox", "feedback.surveyinvitation"),
                item(_("Survey answers"), "fact_check", "feedback.surveyresponse"),
                item(_("Follow-ups"), "call", "feedback.followup"),
                item(_("Lost-customer interviews"), "person_off", "feedback.lostcustomerinterview"),
                item(_("Loyalty grid"), "grid_view", "feedback.gridpolicy"),
            ],
        },
        {
            "title": _("Staff tasks"),
            "collapsible": False,
            "items": [
                item(_("My tasks due"), "task_alt", "campaigns.stafftask", query="?whose=mine_due"),
                item(_("All tasks"), "checklist", "campaigns.stafftask"),
                item(_plural("staff.approvalrequest"), "approval", "staff.approvalrequest"),
            ],
        },
        {
            "title": _("Reports"),
            "collapsible": True,
            "items": [
                item(
                    _("Complaint service levels"),
                    "monitoring",
                    "feedback.complaint",
                    url_name="admin:feedback_complaint_metrics",
                ),
                item(_("Customer value"), "insights", "analytics.membervalue"),
                item(_("Customer value fits"), "query_stats", "analytics.customervaluefit"),
            ],
        },
        {
            "title": _("Settings"),
            "collapsible": True,
            "items": [
                item(_("Earning policy"), "tune", "rewards.earningpolicy"),
                item(_("Earning rules"), "rule", "rewards.earningrule"),
                item(_plural("members.category"), "category", "members.category"),
                item(_("Tiers"), "stars", "tiers.tier"),
                item(_("Stage policy"), "route", "members.stagepolicy"),
                item(_("Loyalty grid policy"), "grid_on", "feedback.gridpolicy"),
                item(_("Response targets"), "timer", "feedback.responsetarget"),
                item(_("Stores"), "storefront", "stores.store"),
                item(_("POS API keys"), "key", "stores.storeapikey"),
                item(_("Schedules"), "schedule", "django_celery_beat.periodictask"),
            ],
        },
        {
            "title": _("System"),
            "collapsible": True,
            "items": [
                system(_("Batch jobs"), "settings_suggest", "jobs.jobrun"),
                system(_("Outbox"), "outbox", "messaging.outboxmessage"),
                system(_("Idempotency records"), "fingerprint", "stores.idempotencyrecord"),
                system(_("Login attempts"), "lock_person", "axes.accessattempt"),
                system(_("Login failures"), "no_accounts", "axes.accessfailurelog"),
                system(_("Login log"), "login", "axes.accesslog"),
                system(_("Crontabs"), "more_time", "django_celery_beat.crontabschedule"),
                system(_("Intervals"), "timelapse", "django_celery_beat.intervalschedule"),
                system(_("Solar events"), "wb_twilight", "django_celery_beat.solarschedule"),
                system(_("Clocked times"), "alarm", "django_celery_beat.clockedschedule"),
                system(_("Staff accounts"), "badge", "auth.user"),
                system(_("Roles"), "groups", "auth.group"),
                system(_plural("staff.staffstore"), "store", "staff.staffstore"),
                system(_plural("otp_totp.totpdevice"), "phonelink_lock", "otp_totp.totpdevice"),
                system(_("Audit trail"), "history", "staff.auditevent"),
                system(_plural("members.privacyrecord"), "privacy_tip", "members.privacyrecord"),
                system(_plural("analytics.analyticstoken"), "token", "analytics.analyticstoken"),
            ],
        },
    ]
