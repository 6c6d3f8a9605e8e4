"""Reads of members and purchases that several callers share."""

import re
import uuid

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from core.errors import NotFound
from events.types import MemberRef
from loyalty import logs

from .identifiers import CARD_LENGTH, InvalidPhone, normalize_phone
from .models import Member, Purchase


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def members_in_chunk(member_id_from: int, member_id_to: int, member_ids: list[int] | None = None) -> QuerySet:
    """The members of a batch-job chunk: ids in [from, to), or only `member_ids` of them when the
    run knew its candidates."""
    members = Member.objects.filter(pk__gte=member_id_from, pk__lt=member_id_to)
    return members if member_ids is None else members.filter(pk__in=member_ids)


def member_reference_filter(reference: str) -> dict:
    """The lookup for a member reference: a public id or a card number, as a POS sends either."""
    reference = str(reference).strip()
    public_id = _as_uuid(reference)
    return {"public_id": public_id} if public_id else {"card_number": reference}


def member_get(*, reference: str) -> Member:
    """A member by public id or card number (write services lock it with `members.locking`)."""
    member = Member.objects.filter(**member_reference_filter(reference)).first()
    if member is None:
        raise NotFound(
            gettext("No member with this id or card number."), errors={"member": [gettext("Unknown member.")]}
        )
    # Every POS request resolves its member here: from now on its log lines name them (by public id).
    logs.bind(member=str(member.public_id))
    return member


def member_lookup(*, card_number: str = "", phone: str = "", external_id: str = "") -> Member:
    if card_number:
        member = Member.objects.filter(card_number=card_number.strip()).first()
    elif external_id:
        member = Member.objects.filter(external_id=external_id.strip()).first()
    else:
        try:
            member = Member.objects.filter(phone=normalize_phone(phone)).first()
        except InvalidPhone:
            member = None
    if member is None:
        raise NotFound(gettext("No member matches."))
    logs.bind(member=str(member.public_id))
    return member


# How people write card and phone numbers: ASCII digits, grouped by spaces, dashes, dots or
# brackets, a phone perhaps with a leading +. Letters are left out on purpose: phonenumbers reads
# them as keypad digits, and a referral code or a name must not turn into a phone number.
_SEPARATORS = re.compile(r"[\s().-]+")
_CARD_DIGITS = re.compile(rf"[0-9]{{{CARD_LENGTH}}}")
_PHONE_LIKE = re.compile(r"\+?[0-9]{5,}")


def member_identifier_filter(term: str, *, via: str = "") -> Q | None:
    """The exact card-number or phone match a search term stands for, written as a person types
    it (`8123 4567 8901 2345`, `139-0000-0001`, `+86 139 0000 0001`), or None when it is neither.
    Phones are normalised as the API does, so both columns are matched through their unique
    indexes instead of a scan. `via` is the path from another model to the member (`member__`)."""
    compact = _SEPARATORS.sub("", term.strip())
    if _CARD_DIGITS.fullmatch(compact):
        return Q(**{f"{via}card_number": compact})
    if _PHONE_LIKE.fullmatch(compact):
        try:
            return Q(**{f"{via}phone": normalize_phone(compact)})
        except InvalidPhone:
            return None
    return None


def purchase_get(*, public_id) -> Purchase:
    purchase_uuid = _as_uuid(public_id)
    purchase = Purchase.objects.filter(public_id=purchase_uuid).first() if purchase_uuid else None
    if purchase is None:
        raise NotFound(gettext("No such purchase."))
    return purchase


def member_refs(member_ids) -> dict:
    """Members as events need them (id and public id), by id: for batch jobs that hold ids."""
    return {
        pk: MemberRef(pk, public_id)
        for pk, public_id in Member.objects.filter(pk__in=list(member_ids)).values_list("pk", "public_id")
    }
