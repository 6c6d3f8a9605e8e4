"""POS and service-desk endpoints: feedback captured at the till, complaints."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ANY_STORE, OPTIONAL_IDEMPOTENCY_KEY, errors
from feedback.complaints import complaint_file
from feedback.services import feedback_record
from members.selectors import member_get
from stores.idempotency import idempotent

from .serializers import ComplaintInput, ComplaintOutput, FeedbackInput, FeedbackOutput


def _member(body):
    return member_get(reference=body["member"]) if body.get("member") else None


class FeedbackCreateView(APIView):
    @extend_schema(
        operation_id="feedback_create",
        request=FeedbackInput,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={201: FeedbackOutput, **errors(400, 401, 404, 422)},
        summary="Record an NPS score and/or a comment captured at the till",
        description="Give `nps`, `comment` or both (400 with neither). " + ANY_STORE,
    )
    def post(self, request):
        return idempotent(request, lambda _work: self._create(request), required=False)

    def _create(self, request):
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        feedback = feedback_record(
            member=_member(body), store=request.user.store, nps=body.get("nps"), comment=body.get("comment", "")
        )
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)


class ComplaintCreateView(APIView):
    @extend_schema(
        operation_id="complaints_create",
        request=ComplaintInput,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={201: ComplaintOutput, **errors(400, 401, 404, 422)},
        summary="File a complaint (service desk); the answer says when a first response is due",
        description=ANY_STORE,
    )
    def post(self, request):
        return idempotent(request, lambda _work: self._create(request), required=False)

    def _create(self, request):
        data = ComplaintInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        complaint = complaint_file(
            member=_member(body),
            store=request.user.store,
            channel=request.user.store.channel,
            category=body["category"],
            severity=body["severity"],
            text=body["text"],
        )
        return Response(ComplaintOutput(complaint).data, status=status.HTTP_201_CREATED)
