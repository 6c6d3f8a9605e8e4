from django.urls import path

from . import views

urlpatterns = [
    path("analytics/<str:area>/", views.AnalyticsAreaView.as_view(), name="analytics-area"),
]
