"""Shared fixtures. Tests run against the real PostgreSQL and Redis on 127.0.0.1 (see Makefile)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from core.config_cache import invalidate_all
from stores.key_cache import api_key_cache_clear
from tests.clock import FROZEN_DATES
from tests.factories import MemberFactory, StoreFactory, create_api_key


def pytest_sessionstart(session):
    """Fail fast, with a message that says what to start, when the services are not reachable."""
    import psycopg2
    import redis
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("The tests need PostgreSQL: run them with `make test` (DATABASE_URL=postgres://...).", 2)
    where = f"{db['HOST']}:{db['PORT']}"
    try:
        psycopg2.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db["PASSWORD"],
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {where}: {exc}".strip(), 2)
    redis_url = settings.REDIS_URL
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except (redis.RedisError, ValueError) as exc:
        pytest.exit(f"Redis is not reachable at {redis_url!r}: {exc}", 2)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The migrations seed default tiers for a fresh install (tests/tiers/test_default_tiers.py
    checks them). Every other test starts without tiers and builds those it needs
    (`standard_tiers`), so what a test sees does not depend on whether a transactional test's
    flush ran before it."""
    from tiers.models import Tier

    with django_db_blocker.unblock():
        Tier.objects.all().delete()


@pytest.fixture(autouse=True)
def _rates_out_of_the_way(settings):
    """Tests send bursts from one key (50 concurrent redemptions); the rate-limit tests set their
    own low rates."""
    for scope in ("READ", "WRITE", "LOOKUP", "ANON"):
        setattr(settings, f"API_RATE_{scope}", "100000/second")


@pytest.fixture(autouse=True)
def _second_factor_off(settings):
    """The back office asks administrators for a TOTP code in production; tests of other features
    sign in without one (tests/staff/test_two_factor.py turns it on)."""
    settings.STAFF_2FA_REQUIRED_FOR_ADMINS = False


@pytest.fixture(autouse=True)
def _english_unless_asked(settings):
    """The product defaults to zh-hans; tests assert the English msgids unless they ask for a
    language (Accept-Language, `translation.override`, or their own LANGUAGE_CODE)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _fresh_caches():
    invalidate_all()
    api_key_cache_clear()
    cache.clear()
    yield
    invalidate_all()


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def api_key(store):
    return create_api_key(store)


@pytest.fixture
def api(api_key):
    """A DRF client authenticated as `store`'s POS."""
    key, raw = api_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.store = key.store
    client.key = key
    return client


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff", password="x" * 16, is_staff=True)


@pytest.fixture
def admin_client_logged(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="boss", password="x" * 16, email="b@example.com")
    client.force_login(admin)
    client.user = admin
    return client


@pytest.fixture
def tiers(db):
    from tests.factories import standard_tiers

    return standard_tiers()


@pytest.fixture(params=list(FROZEN_DATES.values()), ids=list(FROZEN_DATES))
def frozen_dates(request, db):
    """Run the test once at each of `FROZEN_DATES` (apply with `pytest.mark.usefixtures`).

    The clock ticks on from the moment (`tick=True`) so that events of a test still follow each
    other in time. Only Python's clock travels: PostgreSQL's now() does not, so the product decides
    business dates with `timezone.now()`, never with database time."""
    from feedback.models import GridPolicy
    from members.models import StagePolicy

    with time_machine.travel(request.param, tick=True):
        # The policy rows the migrations wrote carry today's real date, which is after the frozen
        # moment once that is in the past: the jobs would read it as "rules edited since the last
        # run" and run in full. Within the test, the policies were last edited just before it.
        before = timezone.now() - timedelta(seconds=1)
        for policy in (StagePolicy, GridPolicy):
            policy.objects.update(updated_at=before)
        invalidate_all()
        yield request.param


@pytest.fixture
def now(request):
    """The moment the test starts: tests that place events in time measure from it (under
    `frozen_dates`, the frozen moment)."""
    if "frozen_dates" in request.fixturenames:
        request.getfixturevalue("frozen_dates")
    return timezone.now()
