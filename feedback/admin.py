from django.contrib import admin

from .models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "member", "store", "source", "nps", "comment")
    list_filter = ("source", "nps", "store")
    search_fields = ("=member__phone", "=member__card_number", "comment")
    list_select_related = ("member", "store")
    raw_id_fields = ("member",)
    date_hierarchy = "created_at"
