"""The standard loyalty-indicator survey (seed 004), default complaint response targets and the
loyalty grid policy row."""

from django.db import migrations

ATTRIBUTES = [
    ("quality", "product quality"),
    ("price", "prices"),
    ("service", "service"),
    ("convenience", "convenience (location, opening hours, delivery)"),
]

QUESTIONS = [
    ("would-buy-again", "yes_no", "Would you buy from us again?", True),
    ("would-recommend", "nps", "How likely are you to recommend us to a friend or colleague? (0 = not at all, 10 = certainly)", True),
    ("trusts-us", "scale", "How much do you trust us to do right by you? (1 = not at all, 5 = completely)", False),
    ("answered-in-time", "yes_no", "The last time you contacted us, did you get an answer in time?", False),
]
for key, label in ATTRIBUTES:
    QUESTIONS += [
        (f"importance-{key}", "scale", f"How important are {label} to you? (1-5)", False),
        (f"satisfaction-{key}", "scale", f"How satisfied are you with our {label}? (1-5)", False),
        (f"competitor-{key}", "scale", f"How satisfied are you with the {label} of the shop you use most besides us? (1-5)", False),
    ]
QUESTIONS.append(("comment", "text", "Is there anything else you would like to tell us?", False))

TARGETS = [("high", 4, 24), ("medium", 24, 72), ("low", 72, 168)]


def create(apps, schema_editor):
    survey_model = apps.get_model("feedback", "Survey")
    question_model = apps.get_model("feedback", "Question")
    survey, created = survey_model.objects.get_or_create(
        code="loyalty-indicators",
        defaults={
            "name": "Loyalty check-up",
            "intro": "Two minutes of your time helps us serve you better. Thank you!",
            "invite_after_purchase": True,
        },
    )
    if created:
        question_model.objects.bulk_create(
            question_model(survey=survey, position=i, key=key, kind=kind, text=text, required=required)
            for i, (key, kind, text, required) in enumerate(QUESTIONS)
        )
    apps.get_model("feedback", "GridPolicy").objects.get_or_create(pk=1)
    target_model = apps.get_model("feedback", "ResponseTarget")
    for severity, respond, resolve in TARGETS:
        target_model.objects.get_or_create(
            severity=severity, defaults={"first_response_hours": respond, "resolution_hours": resolve}
        )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0002_surveys_complaints_followups")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
