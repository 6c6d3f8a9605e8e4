"""Starting a job from the admin needs `jobs.run_job`; seeing the runs is not enough."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from jobs.models import JobRun
from loyalty.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_celery():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _staff_client(client, django_user_model, *codenames):
    user = django_user_model.objects.create_user(username="operator", password="x" * 16, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="jobs", codename__in=codenames))
    client.force_login(user)
    return client


def test_a_view_only_user_cannot_start_a_job(client, django_user_model, eager_celery):
    viewer = _staff_client(client, django_user_model, "view_jobrun")

    form = viewer.get(reverse("admin:jobs_jobrun_run"))
    started = viewer.post(reverse("admin:jobs_jobrun_run"), {"name": "detect_lapse"})

    assert (form.status_code, started.status_code) == (403, 403)
    assert JobRun.objects.count() == 0


def test_a_view_only_user_is_not_offered_the_button(client, django_user_model):
    viewer = _staff_client(client, django_user_model, "view_jobrun")

    page = viewer.get(reverse("admin:jobs_jobrun_changelist"))

    assert page.status_code == 200
    assert reverse("admin:jobs_jobrun_run") not in page.content.decode()


def test_a_user_allowed_to_run_jobs_starts_one(
    client, django_user_model, member, eager_celery, django_capture_on_commit_callbacks
):
    operator = _staff_client(client, django_user_model, "view_jobrun", "run_job")
    assert reverse("admin:jobs_jobrun_run") in operator.get(reverse("admin:jobs_jobrun_changelist")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("admin:jobs_jobrun_run"), {"name": "detect_lapse"})

    assert response.status_code == 302
    run = JobRun.objects.get()
    assert (run.name, run.status, run.triggered_by) == ("detect_lapse", "done", "admin: operator")
