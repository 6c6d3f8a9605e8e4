"""The member-facing survey page, reached through a signed link without logging in."""

from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from core.errors import DomainError

from .models import QuestionKind
from .surveys import InvitationUnusable, invitation_from_token, survey_answer


@require_http_methods(["GET", "POST"])
def survey_answer_view(request, token):
    try:
        invitation = invitation_from_token(token)
    except InvitationUnusable as exc:
        return render(request, "feedback/survey_unusable.html", {"message": exc.detail}, status=410)
    # The member answers in their own language, whatever the browser they opened the link in says.
    language = invitation.member.language if invitation.member_id else translation.get_language()
    with translation.override(language):
        return _survey_page(request, invitation, language)


def _survey_page(request, invitation, language: str):
    survey = invitation.survey
    questions = list(survey.questions.all())
    errors = {}
    if request.method == "POST":
        try:
            survey_answer(survey=survey, invitation=invitation, answers=request.POST)
        except InvitationUnusable as exc:
            return render(request, "feedback/survey_unusable.html", {"message": exc.detail}, status=410)
        except DomainError as exc:
            errors = {key: messages[0] for key, messages in exc.errors.items()}
        else:
            return render(request, "feedback/survey_done.html", {"survey_name": survey.name_in(language)})
    items = [
        {
            "question": q,
            "text": q.text_in(language),
            "options": _options(q),
            "error": errors.get(q.key),
            "posted": request.POST.get(q.key, ""),
        }
        for q in questions
    ]
    context = {
        "survey_name": survey.name_in(language),
        "survey_intro": survey.intro_in(language),
        "items": items,
        "errors": errors,
    }
    return render(request, "feedback/survey_form.html", context, status=400 if errors else 200)


def _options(question) -> list[tuple]:
    if question.kind == QuestionKind.NPS:
        return [(n, n) for n in range(11)]
    if question.kind == QuestionKind.SCALE:
        return [(n, n) for n in range(1, 6)]
    if question.kind == QuestionKind.YES_NO:
        return [(1, gettext("Yes")), (0, gettext("No"))]
    if question.kind == QuestionKind.CHOICE:
        return [(c, c) for c in question.choices]
    return []
