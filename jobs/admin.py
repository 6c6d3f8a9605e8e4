from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_base import ModelAdmin, TabularInline
from core.admin_display import ReadOnlyAdminMixin

from .models import JobChunk, JobRun
from .registry import JOBS
from .tasks import start_job

RUN_PERMISSION = "jobs.run_job"


class RunJobForm(forms.Form):
    name = forms.ChoiceField(
        choices=[(name, f"{name}: {job.description}") for name, job in JOBS.items() if job.prepare is None]
    )
    full = forms.BooleanField(
        required=False, help_text="Examine every member, not only what changed since the last run."
    )


class JobChunkInline(ReadOnlyAdminMixin, TabularInline):
    model = JobChunk
    fields = (
        "index",
        "id_from",
        "id_to",
        "status",
        "attempts",
        "failures",
        "examined",
        "changed",
        "claimed_at",
        "finished_at",
        "last_error",
    )
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("last error"))
    def last_error(self, chunk):
        # The first line says what went wrong; the traceback is there on a click.
        if not chunk.error:
            return "-"
        what, _, where = chunk.error.partition("\n\n")
        return format_html("<details><summary>{}</summary><pre>{}</pre></details>", what, where)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("name", "as_of", "since", "status", "progress", "examined", "changed", "seconds", "triggered_by")
    list_filter = ("name", "status")
    date_hierarchy = "as_of"
    inlines = [JobChunkInline]
    change_list_template = "admin/jobs/jobrun/change_list.html"

    @admin.display(description=_("chunks"))
    def progress(self, run):
        if run.chunks_failed:
            return gettext("%(done)s/%(total)s, %(failed)s failed") % {
                "done": run.chunks_done,
                "total": run.chunks_total,
                "failed": run.chunks_failed,
            }
        return f"{run.chunks_done}/{run.chunks_total}"

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="jobs_jobrun_run"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_run_jobs": request.user.has_perm(RUN_PERMISSION)}
        return super().changelist_view(request, extra_context)

    def run_view(self, request):
        # Starting a job changes members' data: seeing the runs is not enough.
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        form = RunJobForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            start_job.delay(form.cleaned_data["name"], form.cleaned_data["full"], f"admin: {request.user}")
            self.message_user(
                request, gettext("Started %(name)s.") % {"name": form.cleaned_data["name"]}, messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:jobs_jobrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Run a job now"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/jobs/jobrun/run.html", context)
