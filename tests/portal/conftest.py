import re

import pytest

from messaging.models import OutboxMessage
from tests.factories import MemberFactory


@pytest.fixture
def member():
    return MemberFactory(phone="+8613800138000", language="en")


def sent_code(member) -> str:
    """The code in the member's latest sign-in SMS, as the member reads it."""
    body = OutboxMessage.objects.filter(member=member, kind="portal_sign_in_code").latest("id").body
    return re.search(r"\b(\d{6})\b", body).group(1)


def signed_in_client(client, member):
    """A test client with a portal session, signed in through the real code flow."""
    client.post("/portal/sign-in/", {"phone": member.phone})
    response = client.post("/portal/sign-in/code/", {"code": sent_code(member)})
    assert response.status_code == 302, response.content
    return client
