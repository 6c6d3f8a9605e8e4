"""The read-only analytics API for BI tools: the dashboard's tables as JSON, one area a call,
with the same filters. Staff only (an admin session or an analytics token), never store keys."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors
from stores.authentication import StoreApiKeyAuthentication

from ..forms import AnalyticsFilterForm
from ..periods import PERIOD_LABELS, Period
from ..reports import AREAS, plain
from ..tokens import AnalyticsTokenAuthentication, IsStaff

FILTER_PARAMETERS = [
    OpenApiParameter("period", str, enum=[kind.value for kind in PERIOD_LABELS], description="Default: month."),
    OpenApiParameter("day", OpenApiTypes.DATE, description="A day in the period (default: today)."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day, with period=range."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, with period=range."),
    OpenApiParameter("store", int, description="Only this store's purchases (and the members it enrolled)."),
    OpenApiParameter("channel", str, description="Only purchases in this channel."),
    OpenApiParameter("tier", int, description="Only members now in this tier."),
]

_period = inline_serializer(
    "AnalyticsPeriod",
    {"kind": serializers.CharField(), "first": serializers.DateField(), "last": serializers.DateField()},
)
_table = inline_serializer(
    "AnalyticsTable",
    {
        "title": serializers.CharField(),
        "columns": serializers.ListField(child=serializers.CharField(), help_text="Keys of each row's values."),
        "rows": serializers.ListField(
            child=serializers.DictField(child=serializers.JSONField()),
            help_text="Money as decimal strings, dates ISO 8601, rates as fractions (0.25 is 25%).",
        ),
    },
)
AREA_OUTPUT = inline_serializer(
    "AnalyticsArea",
    {
        "area": serializers.CharField(),
        "period": _period,
        "previous_period": _period,
        "tables": serializers.DictField(child=_table),
    },
)


def _period_data(period: Period) -> dict:
    return {"kind": str(period.kind), "first": period.first.isoformat(), "last": period.last.isoformat()}


class AnalyticsAreaView(APIView):
    # A store key is recognised (and then refused by IsStaff with 403) so that every /api/v1/
    # endpoint answers a missing or wrong key alike (401, the Api-Key challenge).
    authentication_classes = [StoreApiKeyAuthentication, AnalyticsTokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="analytics_area",
        parameters=[
            OpenApiParameter("area", str, OpenApiParameter.PATH, enum=list(AREAS), description="Which dashboard area."),
            *FILTER_PARAMETERS,
        ],
        responses={200: AREA_OUTPUT, **errors(400, 401, 403, 404)},
        summary="The figures of one analytics area (read-only, for BI tools)",
        description=(
            "Staff only: an admin session or `Authorization: Bearer <analytics token>`; store API keys "
            "are refused. The metrics are defined in docs/metrics.md."
        ),
        tags=["analytics"],
    )
    def get(self, request, area: str):
        if area not in AREAS:
            raise NotFound()
        form = AnalyticsFilterForm(request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(
                {field: [error["message"] for error in errs] for field, errs in form.errors.get_json_data().items()}
            )
        period, filters = form.cleaned_data["the_period"], form.cleaned_data["the_filters"]
        tables = AREAS[area].tables(period, filters)
        return Response(
            {
                "area": area,
                "period": _period_data(period),
                "previous_period": _period_data(period.previous()),
                "tables": {
                    t.name: {
                        "title": str(t.title),
                        "columns": [key for key, _label in t.columns],
                        "rows": [{key: plain(value) for key, value in record.items()} for record in t.as_records()],
                    }
                    for t in tables
                },
            }
        )
