"""``python -m a2a_kafka_sync.testing install [VERSION]``: fetch Apache Kafka's jars."""

import sys

from .apache import main

sys.exit(main())
