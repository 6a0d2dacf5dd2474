"""The example's two views."""

from django.urls import path

from . import views

urlpatterns = [
    path("ask", views.ask),
    path("stream", views.stream),
]
