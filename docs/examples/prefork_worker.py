"""A prefork pool of worker processes calling an agent, one client per process.

The parent forks a ``multiprocessing`` pool and hands it jobs. Each worker
process makes its own :class:`KafkaClientTransport` after the fork, in the pool's
initializer; the client opens (its connections, its reply topic, its reader
thread) on the worker's first call and serves every later call of that process.
The parent opens no client and collects the answers.

Configured from the environment:

- ``A2A_KAFKA_BOOTSTRAP``: the Kafka brokers (default ``localhost:9092``);
- ``A2A_KAFKA_PROFILE``: a settings profile, ``low-latency`` for the embedded broker
  (default: none, right for Apache Kafka);
- ``A2A_KAFKA_REQUEST_TOPIC``: the agent's request topic (default ``worker-agent``);
- ``A2A_KAFKA_POOL_PROCESSES``: worker processes (default 4);
- ``A2A_KAFKA_POOL_JOBS``: jobs to hand out (default twice the processes).

Run an agent on that topic first (``docs/examples/worker_service.py`` is one),
then ``python docs/examples/prefork_worker.py``.
"""

import multiprocessing
import os
import sys
from multiprocessing.util import Finalize

from a2a_kafka_sync import KafkaClientTransport

_client = None  # this process's client, made by start_worker() after the fork


def settings_from_env():
    """The brokers, profile and request topic, from the environment."""
    return {
        "bootstrap_servers": os.environ.get("A2A_KAFKA_BOOTSTRAP", "localhost:9092"),
        "profile": os.environ.get("A2A_KAFKA_PROFILE") or None,
        "request_topic": os.environ.get("A2A_KAFKA_REQUEST_TOPIC", "worker-agent"),
    }


def start_worker():
    """The pool's initializer: runs once in each worker process, after the fork."""
    global _client
    # Nothing connects yet: the client opens on this process's first call.
    _client = KafkaClientTransport(timeout=60, **settings_from_env())
    # Close it when the worker exits at pool.close() + pool.join() (forked children
    # leave through os._exit, which skips atexit; multiprocessing runs finalizers).
    Finalize(_client, _client.close, exitpriority=10)


def ask(job):
    """One job, run in a worker process: a blocking call through the process's client."""
    answer = _client.send_text(job)
    return {"job": job, "answer": answer, "pid": os.getpid(), "reply_topic": _client.reply_topic}


def main():
    """Fork the pool, run the jobs, print each answer and which process gave it."""
    processes = int(os.environ.get("A2A_KAFKA_POOL_PROCESSES", "4"))
    jobs = [f"job {i}" for i in range(int(os.environ.get("A2A_KAFKA_POOL_JOBS", 2 * processes)))]
    pool = multiprocessing.get_context("fork").Pool(processes, initializer=start_worker)
    try:
        # chunksize=1: a worker takes one job at a time, so a slow call holds back no other job.
        results = pool.map(ask, jobs, chunksize=1)
        pool.close()  # no more jobs: each worker closes its client and exits
    except BaseException:
        pool.terminate()  # a job failed, or Ctrl-C: stop the workers now
        raise
    finally:
        pool.join()
    for result in results:
        print(
            f"{result['job']} -> {result['answer']} "
            f"(pid {result['pid']}, reply topic {result['reply_topic']})"
        )
    pids = {r["pid"] for r in results}
    topics = {r["reply_topic"] for r in results}
    print(f"{len(jobs)} jobs, {len(pids)} worker processes, {len(topics)} reply topics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
