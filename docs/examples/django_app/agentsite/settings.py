"""Settings of the example project: only what calling an agent needs.

The broker and the agent's topic come from the environment, as ``agent.py``
prints them: ``A2A_KAFKA_BOOTSTRAP``, ``A2A_KAFKA_PROFILE`` (``low-latency`` for the
embedded broker) and ``A2A_KAFKA_REQUEST_TOPIC``.
"""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "only-for-the-example")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "agentsite.urls"
DATABASES = {}

INSTALLED_APPS = [
    "a2a_kafka_sync.contrib.django",  # checks A2A_KAFKA at start-up
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    # Library errors raised by a view become JSON error responses (400, 502, 503, 504...).
    "a2a_kafka_sync.contrib.django.middleware.A2AErrorMiddleware",
]

# KafkaClientTransport's keyword arguments: ClientConfig fields and kafka-python settings.
A2A_KAFKA = {
    "bootstrap_servers": os.environ.get("A2A_KAFKA_BOOTSTRAP", "localhost:9092"),
    "request_topic": os.environ.get("A2A_KAFKA_REQUEST_TOPIC", "web-agent"),
    "profile": os.environ.get("A2A_KAFKA_PROFILE") or None,
    "timeout": 10,
}
