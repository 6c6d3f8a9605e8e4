"""The category list the back office offers (members.models.Category)."""

from .models import Category


def category_choices() -> list[tuple[str, str]]:
    return [(category.code, str(category)) for category in Category.objects.all()]
