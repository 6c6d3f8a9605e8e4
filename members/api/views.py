"""POS endpoints for members, purchases, returns and quotes. Each view parses, calls one
service and renders; the rules live in `members.services`."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ANY_STORE, IDEMPOTENCY_KEY, OPTIONAL_IDEMPOTENCY_KEY, errors
from core.api.serializing import represented, validated_input
from core.errors import DomainError
from members import selectors, services
from rewards.earning import BasketLine
from stores.idempotency import idempotent

from .serializers import (
    MemberEnrollInput,
    MemberOutput,
    MemberTillOutput,
    PurchaseInput,
    PurchaseOutput,
    QuoteInput,
    QuoteOutput,
    ReturnInput,
    ReturnOutput,
)

# What a basket must satisfy beyond its fields' own rules (400 `total_mismatch` or on `occurred_at`).
BASKET_RULES = (
    "`total` must equal the items' sum (quantity times unit_price), give or take a cent per item; "
    "`occurred_at` must lie within the last three years and at most `PURCHASE_CLOCK_SKEW_MINUTES` minutes "
    "(10 unless configured) ahead of the server's clock."
)


def _basket_lines(items) -> list[BasketLine]:
    return [BasketLine(i["sku"], i["category"], i["quantity"], i["unit_price"]) for i in items]


class MemberEnrollView(APIView):
    # Enrolling a phone already enrolled answers with that member's id: a lookup by phone.
    throttle_scope = "lookup"
    pos_operation = "enrolment"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="members_enroll",
        request=MemberEnrollInput,
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        responses={201: MemberOutput, **errors(400, 401, 409, 422)},
        summary="Enrol a member",
        description=(
            "409 if the phone is already enrolled; the body then carries the existing member's `id`. "
            "400 unless `phone` is a valid number (read in the programme's region when it has no "
            "country code), `birthday` lies between 1900 and today and `referral_code` is a member's. "
            "The answer is the full record the caller just sent. "
            f"{ANY_STORE} Rate limited as a lookup (`API_RATE_LOOKUP`)."
        ),
    )
    def post(self, request):
        return idempotent(request, lambda _work: self._create(request), required=False)

    def _create(self, request):
        data = MemberEnrollInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.member_enroll(
            **data.validated_data, store=request.user.store, channel=request.user.store.channel
        )
        return Response(MemberOutput(member).data, status=status.HTTP_201_CREATED)


class MemberLookupView(APIView):
    throttle_scope = "lookup"

    @extend_schema(
        operation_id="members_lookup",
        parameters=[
            OpenApiParameter("card_number", str, description="The card number printed on the member card."),
            OpenApiParameter("phone", str, description="Phone number, with or without country code."),
            OpenApiParameter(
                "external_id", str, description="The retailer's own customer number (members imported with one)."
            ),
        ],
        responses={200: MemberTillOutput, **errors(400, 401, 404)},
        summary="Find a member by card number or phone",
        description=(
            "Give `card_number`, `phone` or `external_id` (400 with none). The till view: name, masked phone, card, "
            "balance, tier, stage; never email, birthday or the full phone. "
            f"{ANY_STORE} Rate limited more strictly than other reads (`API_RATE_LOOKUP`)."
        ),
    )
    def get(self, request):
        card_number = request.query_params.get("card_number", "")
        phone = request.query_params.get("phone", "")
        external_id = request.query_params.get("external_id", "")
        if not card_number and not phone and not external_id:
            message = gettext("Give card_number, phone or external_id.")
            raise DomainError(message, errors={"card_number": [message]})
        member = selectors.member_lookup(card_number=card_number, phone=phone, external_id=external_id)
        return Response(MemberTillOutput(member).data)


class MemberDetailView(APIView):
    @extend_schema(
        operation_id="members_retrieve",
        responses={
            200: PolymorphicProxySerializer(
                component_name="MemberAnswer",
                serializers=[MemberOutput, MemberTillOutput],
                resource_type_field_name=None,
            ),
            **errors(401, 404),
        },
        summary="A member",
        description=(
            "The full record (`MemberOutput`) for keys with the `member_details` scope; the till view "
            f"(`MemberTillOutput`, as the lookup answers) for other keys. {ANY_STORE}"
        ),
    )
    def get(self, request, member_id):
        member = selectors.member_get(reference=member_id)
        output = MemberOutput if request.auth.member_details else MemberTillOutput
        return Response(output(member).data)


class PurchaseCreateView(APIView):
    pos_operation = "purchase"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="purchases_create",
        request=PurchaseInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PurchaseOutput, **errors(400, 401, 404, 409, 422)},
        summary="Record a purchase and earn points",
        description=(
            "The same `receipt_id` from the same store is accepted once (409 afterwards). A suspended "
            f"member's purchase is recorded with 0 points and a `note` saying why. {ANY_STORE} " + BASKET_RULES
        ),
    )
    def post(self, request):
        return idempotent(request, lambda work: self._create(request, work))

    def _create(self, request, work):
        body = validated_input(PurchaseInput, request.data)
        purchase = services.purchase_record(
            member=str(body["member"]),
            store=request.user.store,
            receipt_id=body["receipt_id"],
            channel=body["channel"],
            occurred_at=body["occurred_at"],
            currency=body["currency"],
            total=body["total"],
            lines=_basket_lines(body["items"]),
            api_key=request.auth,
            work=work,
        )
        return Response(represented(PurchaseOutput, purchase), status=status.HTTP_201_CREATED)


class PurchaseReturnView(APIView):
    pos_operation = "return"  # counted by outcome in loyalty_pos_operations_total

    @extend_schema(
        operation_id="purchases_return",
        request=ReturnInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ReturnOutput, **errors(400, 401, 404, 409, 422)},
        summary="Return goods from a purchase and take back their points",
        description=(
            "Give `amount` or `items` (by sku). Returns never add up to more than the purchase (400 "
            "`over_return`). Points are taken back pro rata; if they were already spent the balance "
            "may go below zero, and redemptions are refused until it is positive again. Any store of "
            "the chain may take a return (bought online, returned in store); the return records the "
            "returning store."
        ),
    )
    def post(self, request, purchase_id):
        return idempotent(request, lambda work: self._create(request, purchase_id, work))

    def _create(self, request, purchase_id, work):
        body = validated_input(ReturnInput, request.data)
        return_record = services.purchase_return(
            purchase=selectors.purchase_get(public_id=purchase_id),
            store=request.user.store,
            receipt_id=body["receipt_id"],
            amount=body.get("amount"),
            items=[services.ReturnItem(i["sku"], i["quantity"]) for i in body.get("items", [])],
            api_key=request.auth,
            work=work,
        )
        return Response(represented(ReturnOutput, return_record), status=status.HTTP_201_CREATED)


class QuoteView(APIView):
    @extend_schema(
        operation_id="quotes_create",
        request=QuoteInput,
        responses={200: QuoteOutput, **errors(400, 401, 404)},
        summary="What a basket would earn, without writing anything",
        description=f"{ANY_STORE} " + BASKET_RULES,
    )
    def post(self, request):
        body = validated_input(QuoteInput, request.data)
        member = selectors.member_get(reference=body["member"]) if body.get("member") else None
        points, note = services.purchase_quote(
            member=member,
            store=request.user.store,
            channel=body["channel"],
            total=body["total"],
            lines=_basket_lines(body["items"]),
            occurred_at=body["occurred_at"],
            currency=body["currency"],
        )
        return Response(represented(QuoteOutput, {"points": points, "note": note}))
