"""POS endpoints for paying with points and reading a member's ledger."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ANY_STORE, IDEMPOTENCY_KEY, OPTIONAL_IDEMPOTENCY_KEY, OWN_STORE, errors
from members.selectors import member_get
from rewards import selectors, services
from stores.idempotency import idempotent

from .serializers import LedgerEntryOutput, RedemptionInput, RedemptionOutput


class RedemptionCreateView(APIView):
    pos_operation = "redemption"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="redemptions_create",
        request=RedemptionInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: RedemptionOutput, **errors(400, 401, 404, 409, 422)},
        summary="Pay with points",
        description=(
            "Never overdraws: 400 with code `insufficient_points` and nothing written. A receipt pays "
            "with points once per store: another redemption with the same `receipt_id` from the same "
            "store, whatever its Idempotency-Key, is refused with 409 `duplicate_receipt` carrying "
            f"the first one's `id` (a retry with the same key replays the first answer). {ANY_STORE}"
        ),
    )
    def post(self, request):
        return idempotent(request, lambda work: self._create(request, work))

    def _create(self, request, work):
        data = RedemptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        redemption = services.points_redeem(
            member=str(body["member"]),
            points=body["points"],
            receipt_id=body["receipt_id"],
            store=request.user.store,
            api_key=request.auth,
            work=work,
        )
        return Response(RedemptionOutput(redemption).data, status=status.HTTP_201_CREATED)


class RedemptionDetailView(APIView):
    @extend_schema(
        operation_id="redemptions_retrieve",
        responses={200: RedemptionOutput, **errors(401, 404)},
        summary="A redemption (e.g. to check its status after a timeout)",
        description=OWN_STORE,
    )
    def get(self, request, redemption_id):
        redemption = selectors.redemption_get(public_id=redemption_id, store=request.user.store, api_key=request.auth)
        return Response(RedemptionOutput(redemption).data)


class RedemptionCancelView(APIView):
    pos_operation = "redemption_cancel"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="redemptions_cancel",
        request=None,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={200: RedemptionOutput, **errors(401, 404, 409, 422)},
        summary="Cancel a redemption and give its points back (once; 409 afterwards)",
        description=f"{OWN_STORE} With an Idempotency-Key a retry gets the first answer instead of 409.",
    )
    def post(self, request, redemption_id):
        return idempotent(request, lambda work: self._cancel(request, redemption_id, work), required=False)

    def _cancel(self, request, redemption_id, work):
        redemption = services.redemption_cancel(
            redemption=selectors.redemption_get(public_id=redemption_id),
            store=request.user.store,
            api_key=request.auth,
            work=work,
        )
        return Response(RedemptionOutput(redemption).data)


class LedgerPagination(CursorPagination):
    ordering = "-id"
    page_size = 50


class MemberLedgerView(generics.ListAPIView):
    serializer_class = LedgerEntryOutput
    pagination_class = LedgerPagination

    @extend_schema(
        operation_id="members_ledger",
        responses={200: LedgerEntryOutput(many=True), **errors(401, 404)},
        summary="A member's points ledger, newest first",
        description=f"404 for an unknown member or a cursor this API did not hand out. {ANY_STORE}",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.ledger_entries(member=member_get(reference=self.kwargs["member_id"]))
