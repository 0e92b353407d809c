from django.urls import path

from onetime.codes import api

urlpatterns = [
    path("api/v1/codes/verify", api.CodeVerifyApi.as_view(), name="api_code_verify"),
]
