"""The back office's import page: a small file through the same services as the commands."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from .forms import ImportForm
from .services import ImportFileError, members_import, purchases_import
from .tasks import jobs_after_import

PERMISSIONS = {ImportForm.MEMBERS: "members.add_member", ImportForm.PURCHASES: "members.add_purchase"}


def import_page(request):
    if not (
        request.user.has_perm(PERMISSIONS[ImportForm.MEMBERS])
        or request.user.has_perm(PERMISSIONS[ImportForm.PURCHASES])
    ):
        raise PermissionDenied
    report = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not request.user.has_perm(PERMISSIONS[data["kind"]]):
            raise PermissionDenied
        try:
            report = _run(data)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if report.inserted:
                triggered_by = f"import: {request.user.get_username()}"
                transaction.on_commit(lambda: jobs_after_import.delay(triggered_by))
    context = {
        **admin.site.each_context(request),
        "title": _("Import members or purchases"),
        "form": form,
        "report": report,
        "rejected_shown": report.rejected[:200] if report else [],
    }
    return TemplateResponse(request, "imports/import_page.html", context)


def _run(data):
    if data["kind"] == ImportForm.MEMBERS:
        return members_import(stream=data["file"].file)
    lines = data.get("lines_file")
    return purchases_import(
        stream=data["file"].file,
        lines_stream=lines.file if lines else None,
        default_store=data.get("default_store"),
        create_members=data["create_members"],
        earn_points=data["earn_points"],
    )
