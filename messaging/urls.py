from django.urls import path

from .views import unsubscribe_view

urlpatterns = [path("u/<str:token>/", unsubscribe_view, name="unsubscribe")]
