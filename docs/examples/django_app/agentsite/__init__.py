"""A minimal Django project that calls an A2A agent over Kafka (docs/django.md)."""
