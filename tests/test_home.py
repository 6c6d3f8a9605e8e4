import pytest

pytestmark = pytest.mark.django_db


def test_home_page_sends_people_to_the_member_portal(client):
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/portal/")
