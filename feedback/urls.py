from django.urls import path

from .views import survey_answer_view

urlpatterns = [
    path("s/<str:token>/", survey_answer_view, name="survey-answer"),
]
