from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from members.admin import ReadOnlyAdminMixin

from .models import JobChunk, JobRun
from .registry import JOBS
from .tasks import start_job


class RunJobForm(forms.Form):
    name = forms.ChoiceField(
        choices=[(name, f"{name}: {job.description}") for name, job in JOBS.items() if job.prepare is None]
    )
    full = forms.BooleanField(
        required=False, help_text="Examine every member, not only what changed since the last run."
    )


class JobChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = JobChunk
    fields = ("index", "id_from", "id_to", "status", "attempts", "examined", "changed", "finished_at")
    readonly_fields = fields
    extra = 0


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "as_of", "since", "status", "progress", "examined", "changed", "seconds", "triggered_by")
    list_filter = ("name", "status")
    date_hierarchy = "as_of"
    inlines = [JobChunkInline]
    change_list_template = "admin/jobs/jobrun/change_list.html"

    @admin.display(description="chunks")
    def progress(self, run):
        return f"{run.chunks_done}/{run.chunks_total}"

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="jobs_jobrun_run"), *super().get_urls()]

    def run_view(self, request):
        if not request.user.has_perm("jobs.view_jobrun"):
            return HttpResponseRedirect(reverse("admin:index"))
        form = RunJobForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            start_job.delay(form.cleaned_data["name"], form.cleaned_data["full"], f"admin: {request.user}")
            self.message_user(request, f"Started {form.cleaned_data['name']}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:jobs_jobrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Run a job now",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/jobs/jobrun/run.html", context)
