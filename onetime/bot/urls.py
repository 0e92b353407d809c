from django.urls import path

from onetime.bot import views

urlpatterns = [
    path("telegram/webhook/", views.webhook, name="telegram-webhook"),
]
