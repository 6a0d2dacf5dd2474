"""Raw calls: A2A JSON in, A2A JSON out, in either version (docs/raw_calls.md).

Run it with ``python docs/examples/raw_calls.py`` (needs the ``broker`` extra).
"""

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.errors import A2AError
from a2a_kafka_sync.testing import EmbeddedBroker


def echo(message, context):
    if message.text == "task":
        context.task.start_work()
        return "done"  # completes the task with this message
    return f"echo ({context.a2a_version}): {message.text}"


def main():
    with EmbeddedBroker() as broker:
        settings = broker.settings()
        with KafkaServerApp(echo, request_topic="echo", **settings) as app:
            app.wait_until_assigned(30)
            with KafkaClientTransport(request_topic="echo", timeout=10, **settings) as client:
                # A2A 0.3: a v0.3 JSON-RPC method name and its params
                hello = {
                    "kind": "message",
                    "messageId": "m-1",
                    "role": "user",
                    "parts": [{"kind": "text", "text": "hello"}],
                }
                reply = client.raw_call("message/send", {"message": hello})
                print(reply["kind"], reply["parts"])

                # A2A 1.0: a method of a2a.proto and its request in protobuf JSON
                hi = {"messageId": "m-2", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
                reply = client.raw_call("SendMessage", {"message": hi})
                print(list(reply), reply["message"]["parts"])

                task = {"messageId": "m-3", "role": "ROLE_USER", "parts": [{"text": "task"}]}
                for result in client.raw_stream("SendStreamingMessage", {"message": task}):
                    ((kind, body),) = result.items()  # a StreamResponse holds exactly one
                    print(kind, (body.get("status") or {}).get("state", ""))

                try:  # an error reply is raised as its A2AError: code, message, data
                    client.raw_call("GetTask", {"id": "no-such-task"})
                except A2AError as exc:
                    print(type(exc).__name__, exc.code)


if __name__ == "__main__":
    main()
