from django.urls import path

from . import views

urlpatterns = [
    path("redemptions/", views.RedemptionCreateView.as_view(), name="redemption-create"),
    path("redemptions/<str:redemption_id>/cancel/", views.RedemptionCancelView.as_view(), name="redemption-cancel"),
]
