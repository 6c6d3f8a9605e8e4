from django.urls import path

from . import views

app_name = "staff"
urlpatterns = [
    path("verify/", views.otp_verify, name="otp_verify"),
    path("setup/", views.otp_setup, name="otp_setup"),
]
