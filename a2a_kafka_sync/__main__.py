"""``python -m a2a_kafka_sync``: the ``a2a-kafka-sync`` command line (:mod:`a2a_kafka_sync.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
