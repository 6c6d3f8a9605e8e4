"""The product categories staff pick from (earning rules, members' interests)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    """A product category: `code` is what tills send on purchase lines, `name` what staff read.

    Purchase lines keep the code as sent (a till may send a category nobody listed yet); this list
    is what the back office offers wherever a category is chosen."""

    code = models.CharField(
        max_length=64, unique=True, help_text=_("As the tills send it on purchase lines."), verbose_name=_("code")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name if self.name == self.code else f"{self.name} ({self.code})"
