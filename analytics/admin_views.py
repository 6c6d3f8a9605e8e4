"""The analytics dashboard in the back office: the home page of figures and charts, a page per
area, and a CSV export of every table (`?export=<table>`). Views parse the filters, ask
`reports` for the area's tables and render; the figures are computed in `metrics`."""

import csv

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .forms import AnalyticsFilterForm
from .reports import AREAS, plain

# Which tables the area pages draw, and how (the rest are shown as tables only).
CHARTS = {
    "revenue_by_day": {"type": "line", "x": "day", "y": ["revenue"]},
    "revenue_by_tier": {"type": "bar", "x": "tier", "y": ["revenue"]},
    "pareto": {"type": "line", "x": "buyers_share", "y": ["revenue_share"]},
    "funnel": {"type": "bar", "x": "stage", "y": ["members"]},
    "tier_mix": {"type": "doughnut", "x": "tier", "y": ["members"]},
    "points_by_month": {"type": "line", "x": "month", "y": ["liability", "expected_liability"]},
    "win_back": {"type": "bar", "x": None, "y": ["win_back_rate", "first_purchase_rate"]},
    "nps": {"type": "line", "x": "month", "y": ["nps"]},
    "grid_mix": {"type": "bar", "x": "day", "y": "stacked"},
}


def _csv(table) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 (Chinese names) only with the byte-order mark
    writer = csv.writer(response)
    writer.writerow([str(label) for _key, label in table.columns])
    writer.writerows([[plain(cell) for cell in row] for row in table.rows])
    return response


PERCENT_KEYS = ("rate", "share", "breakage", "answered_within_target", "conversion")


def _display_cell(key: str, value, *, heat: bool):
    """(text, heat): rates as percentages; `heat` (0-1) shades a cohort cell."""
    if value is None:
        return ("-", None)
    if isinstance(value, float) and (heat or any(part in key for part in PERCENT_KEYS)):
        return (f"{value:.1%}", value if heat else None)
    if isinstance(value, float):
        return (f"{value:.2f}", None)
    return (plain(value), None)


def _display_row(table, row):
    heat = table.name == "cohorts"
    return [
        _display_cell(key, cell, heat=heat and key.startswith("m") and key != "members")
        for (key, _label), cell in zip(table.columns, row, strict=True)
    ]


def area_view(request, area: str = "overview"):
    if area not in AREAS:
        raise Http404
    form = AnalyticsFilterForm(request.GET or None)
    tables = []
    if form.is_bound and not form.is_valid():
        context_period = None
    else:
        if not form.is_bound:
            form = AnalyticsFilterForm({})
            form.is_valid()
        context_period = form.cleaned_data["the_period"]
        tables = AREAS[area].tables(context_period, form.cleaned_data["the_filters"])
    export = request.GET.get("export")
    if export:
        for table in tables:
            if table.name == export:
                return _csv(table)
        raise Http404
    charts = [
        {
            "id": f"chart-{t.name}",
            "spec": CHARTS[t.name],
            "columns": [key for key, _label in t.columns],
            "labels": [str(label) for _key, label in t.columns],
            "rows": [[plain(cell) for cell in row] for row in t.rows],
            "title": str(t.title),
        }
        for t in tables
        if t.name in CHARTS
    ]
    shown = [{"table": t, "rows": [_display_row(t, row) for row in t.rows]} for t in tables]
    query = request.GET.copy()
    query.pop("export", None)
    context = {
        **admin.site.each_context(request),
        "title": _("Analytics: %(area)s") % {"area": AREAS[area].title},
        "areas": [(slug, a.title, reverse("analytics-admin:area", args=[slug])) for slug, a in AREAS.items()],
        "area": area,
        "form": form,
        "period": context_period,
        "previous": context_period.previous() if context_period else None,
        "tables": shown,
        "charts": charts,
        "query": query.urlencode(),
    }
    return TemplateResponse(request, "admin/analytics/area.html", context)


def urls():
    """`path("admin/analytics/dashboard/", include((admin_views.urls(), "analytics-admin")))`,
    before the admin's own URLs (its app index is /admin/analytics/); every view needs a staff
    session (the admin's login)."""
    view = admin.site.admin_view(area_view)
    return [path("", view, name="overview"), path("<slug:area>/", view, name="area")]
