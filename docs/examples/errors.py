"""Errors across the wire: a handler raises an A2AError, the caller catches the same class.

Run it with ``python docs/examples/errors.py`` (needs the ``broker`` extra).
"""

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp
from a2a_kafka_sync.errors import A2AError, InternalError, InvalidParamsError, RequestTimeoutError
from a2a_kafka_sync.testing import EmbeddedBroker


def orders(message, context):
    if not message.text.isdigit():
        # An A2AError answers the request with its code, message and data.
        raise InvalidParamsError("an order number is digits only", data={"got": message.text})
    if message.text == "0":
        # Any other exception answers with InternalError (-32603); its message stays in
        # the server's log (error_detail="redacted", the default).
        raise ZeroDivisionError("order 0 does not exist")
    return f"order {message.text}: shipped"


def main():
    with EmbeddedBroker() as broker:
        settings = broker.settings()
        with KafkaServerApp(orders, request_topic="orders", **settings) as app:
            app.wait_until_assigned(30)
            with KafkaClientTransport(request_topic="orders", timeout=10, **settings) as client:
                print(client.send_text("42"))

                try:
                    client.send_text("forty-two")
                except InvalidParamsError as exc:  # the class the handler raised
                    print(exc.code, exc.message, exc.data)

                try:
                    client.send_text("0")
                except InternalError as exc:  # "...; the agent logged it under correlation id ..."
                    print(exc.code, exc.message.partition(";")[0])

                try:
                    client.send_text("42", timeout=0.001)
                except RequestTimeoutError as exc:  # also a builtin TimeoutError
                    print("timed out:", exc.correlation_id is not None)

                try:
                    client.send_text("abc")
                except A2AError as exc:  # the base class catches every agent error
                    print("agent error", exc.code)


if __name__ == "__main__":
    main()
