"""The product categories staff pick from (earning rules, members' interests)."""

from django.db import models


class Category(models.Model):
    """A product category: `code` is what tills send on purchase lines, `name` what staff read.

    Purchase lines keep the code as sent (a till may send a category nobody listed yet); this list
    is what the back office offers wherever a category is chosen."""

    code = models.CharField(max_length=64, unique=True, help_text="As the tills send it on purchase lines.")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name if self.name == self.code else f"{self.name} ({self.code})"
