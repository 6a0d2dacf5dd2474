"""The Django app of the integration: checks ``settings.A2A_KAFKA`` when Django starts."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig  # type: ignore[import-untyped]
from django.core.signals import setting_changed  # type: ignore[import-untyped]

from . import SETTING, check_settings, close_client

__all__ = ["A2AKafkaConfig"]


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    """``override_settings(A2A_KAFKA=...)``: close the client built from the old settings."""
    if setting == SETTING:
        close_client()


class A2AKafkaConfig(AppConfig):  # type: ignore[misc]
    """``"a2a_kafka_sync.contrib.django"`` in ``INSTALLED_APPS``, with the label ``a2a_kafka``.

    At start-up (:meth:`ready`) it checks ``settings.A2A_KAFKA`` and raises
    ImproperlyConfigured for a refused setting, before any request is served. When
    the setting changes (``override_settings`` in tests), the client built from the
    old value is closed and the next ``get_client()`` builds one from the new value.
    There is no shutdown signal in Django: at interpreter exit the client closes
    itself (its ``atexit`` hook).
    """

    name = "a2a_kafka_sync.contrib.django"
    label = "a2a_kafka"
    verbose_name = "A2A over Kafka"

    def ready(self) -> None:
        """Check the settings; follow changes of ``A2A_KAFKA`` (tests)."""
        check_settings()
        setting_changed.connect(_settings_changed, dispatch_uid="a2a_kafka_settings_changed")
