"""POS endpoints for the rewards catalog and vouchers."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ANY_STORE, IDEMPOTENCY_KEY, OPTIONAL_IDEMPOTENCY_KEY, errors
from core.errors import DomainError, NotFound
from members.selectors import member_get
from rewards import catalog
from rewards.models import Reward
from stores.idempotency import idempotent

from .catalog_serializers import RewardOutput, RewardRedeemInput, VoucherConsumeInput, VoucherOutput

# Longer ids cannot be a reward (bigint holds 18 digits safely); they are 404s, not database errors.
MAX_ID_DIGITS = 18


class RewardListView(APIView):
    @extend_schema(
        operation_id="rewards_list",
        parameters=[OpenApiParameter("member", str, required=True, description="Member id (UUID) or card number.")],
        responses={200: RewardOutput(many=True), **errors(400, 401, 404)},
        summary="The rewards a member can redeem now (eligible, in stock, affordable)",
        description=ANY_STORE,
    )
    def get(self, request):
        reference = request.query_params.get("member", "")
        if not reference:
            raise DomainError(gettext("Give the member."), errors={"member": [gettext("This parameter is required.")]})
        rewards = catalog.rewards_for_member(member=member_get(reference=reference))
        return Response(RewardOutput(rewards, many=True).data)


def _reward(reward_id: str) -> Reward:
    # ASCII only: str.isdigit() also accepts digits such as '²' that int() refuses.
    reward_id = str(reward_id)
    is_id = reward_id.isascii() and reward_id.isdigit() and len(reward_id) <= MAX_ID_DIGITS
    reward = Reward.objects.filter(pk=int(reward_id)).first() if is_id else None
    if reward is None:
        raise NotFound(gettext("No such reward."))
    return reward


class RewardRedeemView(APIView):
    pos_operation = "reward_redemption"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="rewards_redeem",
        request=RewardRedeemInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: VoucherOutput, **errors(400, 401, 403, 404, 409, 422)},
        summary="Exchange points for a reward: returns a single-use voucher",
        description=(
            "400 `insufficient_points`, 403 `not_eligible`, 409 `out_of_stock`; nothing written then. "
            f"{ANY_STORE} The voucher records the issuing store, which alone may cancel it."
        ),
    )
    def post(self, request, reward_id):
        return idempotent(request, lambda work: self._create(request, reward_id, work))

    def _create(self, request, reward_id, work):
        data = RewardRedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = catalog.reward_redeem(
            reward=_reward(reward_id),
            member=str(data.validated_data["member"]),
            store=request.user.store,
            api_key=request.auth,
            work=work,
        )
        return Response(VoucherOutput(voucher).data, status=status.HTTP_201_CREATED)


class VoucherDetailView(APIView):
    @extend_schema(
        operation_id="vouchers_retrieve",
        responses={200: VoucherOutput, **errors(401, 404)},
        summary="Show a voucher",
        description=f"Vouchers are good in every store, so {ANY_STORE[0].lower()}{ANY_STORE[1:]}",
    )
    def get(self, request, code):
        return Response(VoucherOutput(catalog.voucher_get(code=code)).data)


class VoucherConsumeView(APIView):
    pos_operation = "voucher_consume"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="vouchers_consume",
        request=VoucherConsumeInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: VoucherOutput, **errors(400, 401, 404, 409, 410, 422)},
        summary="Use a voucher once: 409 if already used or cancelled, 410 if expired",
        description=f"Vouchers are good in every store: {ANY_STORE} The using store is recorded.",
    )
    def post(self, request, code):
        return idempotent(request, lambda work: self._consume(request, code, work))

    def _consume(self, request, code, work):
        data = VoucherConsumeInput(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = catalog.voucher_consume(
            voucher=catalog.voucher_get(code=code),
            store=request.user.store,
            receipt_id=data.validated_data["receipt_id"],
            work=work,
        )
        return Response(VoucherOutput(voucher).data)


class VoucherCancelView(APIView):
    pos_operation = "voucher_cancel"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="vouchers_cancel",
        request=None,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={200: VoucherOutput, **errors(401, 403, 404, 409, 410, 422)},
        summary="Cancel an unused voucher: its points come back, once",
        description=(
            "Only the store that issued the voucher, or a key with the `chain_wide` scope (needed for "
            "a campaign's vouchers, which no store issued). Another store gets 403 `other_store`: "
            "vouchers are visible in every store, so there is nothing to hide. With an "
            "Idempotency-Key a retry gets the first answer instead of 409."
        ),
    )
    def post(self, request, code):
        return idempotent(request, lambda work: self._cancel(request, code, work), required=False)

    def _cancel(self, request, code, work):
        voucher = catalog.voucher_cancel(
            voucher=catalog.voucher_get(code=code), store=request.user.store, api_key=request.auth, work=work
        )
        return Response(VoucherOutput(voucher).data)
