"""The default loyalty-indicator survey (migration 0003) in Simplified and Traditional Chinese, and
its English importance questions mended ("How important are product quality to you?"). A question
or survey marketing has already reworded keeps its wording: only the shipped texts change."""

from django.db import migrations

SURVEY = {
    "name": ("Loyalty check-up", "会员满意度小调查", "會員滿意度小調查"),
    "intro": (
        "Two minutes of your time helps us serve you better. Thank you!",
        "占用您两分钟，帮助我们把服务做得更好。谢谢！",
        "佔用您兩分鐘，幫助我們把服務做得更好。謝謝！",
    ),
}

# key: (English as shipped, English as mended, Simplified, Traditional)
ATTRIBUTES = {
    "quality": (("product quality", "product quality"), "商品质量", "商品品質"),
    "price": (("prices", "price"), "价格", "價格"),
    "service": (("service", "service"), "服务", "服務"),
    "convenience": (
        ("convenience (location, opening hours, delivery)", "convenience (location, opening hours, delivery)"),
        "便利性（位置、营业时间、配送）",
        "便利性（位置、營業時間、配送）",
    ),
}

QUESTIONS = {
    "would-buy-again": ("Would you buy from us again?", "您还会再次光顾我们吗？", "您還會再次光顧我們嗎？"),
    "would-recommend": (
        "How likely are you to recommend us to a friend or colleague? (0 = not at all, 10 = certainly)",
        "您有多大可能向朋友或同事推荐我们？（0 = 完全不可能，10 = 一定会）",
        "您有多大可能向朋友或同事推薦我們？（0 = 完全不可能，10 = 一定會）",
    ),
    "trusts-us": (
        "How much do you trust us to do right by you? (1 = not at all, 5 = completely)",
        "您有多信任我们会真心为您着想？（1 = 完全不信任，5 = 完全信任）",
        "您有多信任我們會真心為您著想？（1 = 完全不信任，5 = 完全信任）",
    ),
    "answered-in-time": (
        "The last time you contacted us, did you get an answer in time?",
        "您上次联系我们时，是否及时得到了答复？",
        "您上次聯絡我們時，是否及時得到了答覆？",
    ),
    "comment": (
        "Is there anything else you would like to tell us?",
        "您还有什么想告诉我们的吗？",
        "您還有什麼想告訴我們的嗎？",
    ),
}
MENDED = {}  # key: (English as shipped, English as mended)
for key, ((plural_label, label), hans, hant) in ATTRIBUTES.items():
    MENDED[f"importance-{key}"] = (
        f"How important are {plural_label} to you? (1-5)",
        f"How important is {label} to you? (1-5)",
    )
    QUESTIONS[f"importance-{key}"] = (
        MENDED[f"importance-{key}"][1],
        f"{hans}对您有多重要？（1-5）",
        f"{hant}對您有多重要？（1-5）",
    )
    QUESTIONS[f"satisfaction-{key}"] = (
        f"How satisfied are you with our {plural_label}? (1-5)",
        f"您对我们的{hans}有多满意？（1-5）",
        f"您對我們的{hant}有多滿意？（1-5）",
    )
    QUESTIONS[f"competitor-{key}"] = (
        f"How satisfied are you with the {plural_label} of the shop you use most besides us? (1-5)",
        f"除我们之外，您最常光顾的那家店的{hans}让您有多满意？（1-5）",
        f"除我們之外，您最常光顧的那家店的{hant}讓您有多滿意？（1-5）",
    )


def translate(apps, schema_editor):
    survey = apps.get_model("feedback", "Survey").objects.filter(code="loyalty-indicators").first()
    if survey is None:
        return
    for field, (english, hans, hant) in SURVEY.items():
        if getattr(survey, field) == english and not getattr(survey, f"{field}_translations"):
            setattr(survey, f"{field}_translations", {"zh-hans": hans, "zh-hant": hant})
    survey.save(update_fields=["name_translations", "intro_translations"])
    for question in survey.questions.all():
        if question.key not in QUESTIONS or question.text_translations:
            continue
        shipped, mended = MENDED.get(question.key, (None, None))
        if question.text == shipped:
            question.text = mended
        english, hans, hant = QUESTIONS[question.key]
        if question.text != english:
            continue  # reworded by marketing: their wording has no translation of ours
        question.text_translations = {"zh-hans": hans, "zh-hant": hant}
        question.save(update_fields=["text", "text_translations"])


class Migration(migrations.Migration):
    dependencies = [("feedback", "0007_survey_translations")]

    operations = [migrations.RunPython(translate, migrations.RunPython.noop)]
