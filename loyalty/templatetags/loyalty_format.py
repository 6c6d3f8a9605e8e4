"""`{% load loyalty_format %}`: {{ amount|money }}, {{ balance|points }}, {{ moment|local_day }}."""

from django import template

from core import i18n

register = template.Library()
register.filter("money", i18n.money)
register.filter("points", i18n.points)
register.filter("local_day", i18n.local_day)
