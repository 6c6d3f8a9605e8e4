from django.urls import path

from . import views

urlpatterns = [
    path("analytics/<slug:area>/", views.AnalyticsAreaView.as_view(), name="analytics-area"),
]
