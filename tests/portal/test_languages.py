"""The portal speaks zh-hans, zh-hant and en: from the browser's language, or the switcher."""

from pathlib import Path

import polib
import pytest

from devtools.compile_messages import compile_all

pytestmark = pytest.mark.django_db
LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_every_portal_string_is_translated(language):
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))

    assert po.untranslated_entries() == [] and po.fuzzy_entries() == []


def test_the_committed_mo_files_match_their_catalogs(tmp_path):
    for language in ("zh_Hans", "zh_Hant"):
        target = tmp_path / "locale" / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "django.po").write_bytes((LOCALE / language / "LC_MESSAGES" / "django.po").read_bytes())
    compile_all(tmp_path)

    for language in ("zh_Hans", "zh_Hant"):
        committed = LOCALE / language / "LC_MESSAGES" / "django.mo"
        assert committed.read_bytes() == (tmp_path / "locale" / language / "LC_MESSAGES" / "django.mo").read_bytes()


@pytest.mark.parametrize(
    ("accept", "title"), [("zh-CN,zh;q=0.9", "登录"), ("zh-TW,zh;q=0.9", "登入"), ("en-US,en;q=0.9", "Sign in")]
)
def test_the_browser_language_picks_the_page_language(client, accept, title):
    page = client.get("/portal/sign-in/", headers={"accept-language": accept}).content.decode()

    assert f"<h1>{title}</h1>" in page


def test_the_switcher_sets_the_language(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/portal/sign-in/"})

    assert (response.status_code, response["Location"]) == (302, "/portal/sign-in/")
    assert "<h1>登入</h1>" in client.get("/portal/sign-in/").content.decode()


def test_the_sign_in_sms_is_in_the_members_language(member):
    from messaging.models import OutboxMessage
    from portal.services import code_request

    member.language = "zh-hans"
    member.save(update_fields=["language"])
    code_request(phone=member.phone, client_ip="10.0.0.1")

    body = OutboxMessage.objects.get(member=member).body
    assert body.endswith(" 是您的登录验证码\uff0c5分钟内有效。请勿告诉他人。")
