"""Odd input in admin URLs answers a clean 4xx page or an empty selection, never a 500."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_a_nul_in_a_changelist_search_is_a_400_page(admin_client_logged, member, model):
    response = admin_client_logged.get(changelist(model) + "?q=%00")

    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("query", ["status__exact=%00", "tier__id__exact=1%00", "q=13900000001&stage__exact=%00"])
def test_a_nul_in_a_list_filter_is_a_400_page(admin_client_logged, member, query):
    response = admin_client_logged.get(reverse("admin:members_member_changelist") + "?" + query)

    assert response.status_code == 400


def test_a_nul_in_an_admin_path_is_a_400_page(admin_client_logged):
    assert admin_client_logged.get("/admin/members/member/%00/change/").status_code == 400


@pytest.mark.parametrize("ids", ["%C2%B2", "1%C2%B2", "%D9%A3", "9" * 40])
def test_ids_int_cannot_read_select_nobody(admin_client_logged, member, ids):
    response = admin_client_logged.get(reverse("admin:members_member_adjust") + f"?ids={ids},{member.pk}")

    assert response.status_code == 200
    assert [m.pk for m in response.context["members"]] == [member.pk]
