"""The back office's front page: a member lookup, the day's work for the signed-in staff user, and
the panels other modules add.

A panel is a function of the request returning None (nothing to show to this user) or a dict
with `template` (rendered with the dashboard's context plus `panel`) and whatever that template
reads. Register one with `@dashboard_panel` in a module that is imported at start-up (an app's
admin.py). Panels render in registration order after the built-in ones, e.g.::

    from loyalty.dashboard import dashboard_panel

    @dashboard_panel
    def sales_chart(request):
        if not request.user.has_perm("analytics.view_membervalue"):
            return None
        return {"template": "admin/analytics/dashboard_sales.html", "series": [...]}

Unfold bundles Chart.js; a panel's template can use unfold's chart component
(`{% component "unfold/components/chart/line.html" with data=panel.data %}`).
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DashboardPanel = Callable[[HttpRequest], dict | None]
PANELS: list[DashboardPanel] = []


def dashboard_panel(panel: DashboardPanel) -> DashboardPanel:
    """Adds a panel to the dashboard (once, however often the module is imported)."""
    if panel not in PANELS:
        PANELS.append(panel)
    return panel


def work_cards(user) -> list[dict]:
    """What waits for this staff user: counts over small tables only (complaints, tasks)."""
    from campaigns.models import StaffTask, TaskStatus
    from feedback.admin import ComplaintAdmin
    from feedback.models import Complaint
    from feedback.selectors import OPEN_STATES
    from staff.selectors import scope_to_user_stores

    cards = []
    if user.has_perm("feedback.view_complaint"):
        # A store manager counts the complaints of their stores, as the queue the card opens lists.
        open_complaints = scope_to_user_stores(
            Complaint.objects.filter(status__in=OPEN_STATES), user=user, paths=ComplaintAdmin.store_scope_path
        )
        overdue = open_complaints.filter(resolution_due_at__lt=timezone.now())
        queue = reverse("admin:feedback_complaint_changelist")
        cards += [
            {"title": _("Open complaints"), "value": open_complaints.count(), "link": queue},
            {"title": _("Complaints past their deadline"), "value": overdue.count(), "link": queue},
        ]
    if user.has_perm("campaigns.view_stafftask"):
        mine = StaffTask.objects.filter(assignee=user, status=TaskStatus.OPEN)
        link = reverse("admin:campaigns_stafftask_changelist") + "?whose=mine_due"
        cards.append({"title": _("My open tasks"), "value": mine.count(), "link": link})
    return cards


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    """settings.UNFOLD["DASHBOARD_CALLBACK"]: what the front page (templates/admin/index.html) shows."""
    panels = []
    for panel in PANELS:
        shown = panel(request)
        if shown is not None:
            panels.append(shown)
    context.update(work_cards=work_cards(request.user), dashboard_panels=panels)
    return context
