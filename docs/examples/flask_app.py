"""A Flask app that calls an A2A agent over Kafka: one route answers, one streams.

Run it with ``python docs/examples/flask_app.py`` (needs the ``broker`` and
``flask`` extras): it starts the embedded broker, serves a small agent, and runs
the Flask development server on http://127.0.0.1:5000. Then::

    curl -X POST --data 'hello' http://127.0.0.1:5000/ask
    curl -N -X POST --data 'tell me a story' http://127.0.0.1:5000/stream

Against your own Kafka and agent, run ``flask --app docs/examples/flask_app run``
with ``A2A_KAFKA_BOOTSTRAP`` (and ``A2A_KAFKA_REQUEST_TOPIC``) set.
"""

import os

from flask import Flask, Response, request

from a2a_kafka_sync import A2AKafkaError, KafkaServerApp, Task
from a2a_kafka_sync.contrib import event_stream
from a2a_kafka_sync.contrib.flask import A2AKafka, current_client, error_response
from a2a_kafka_sync.errors import InvalidParamsError
from a2a_kafka_sync.testing import EmbeddedBroker

# One extension for the whole module; create_app() binds it to each app it makes.
a2a = A2AKafka()


def create_app(a2a_kafka=None):
    """The application factory; ``a2a_kafka`` is the A2A_KAFKA settings dict."""
    app = Flask(__name__)
    app.config["A2A_KAFKA"] = a2a_kafka or {
        "bootstrap_servers": os.environ.get("A2A_KAFKA_BOOTSTRAP", "localhost:9092"),
        "request_topic": os.environ.get("A2A_KAFKA_REQUEST_TOPIC", "web-agent"),
        "timeout": 10,
    }
    a2a.init_app(app)  # checks the settings; connects nothing yet

    # Library errors become JSON error responses: 400 for the agent's
    # InvalidParamsError, 502 for its other errors, 503 without Kafka, 504 on timeout.
    app.register_error_handler(A2AKafkaError, error_response)

    @app.post("/ask")
    def ask():
        # Every request thread shares this process's one client.
        reply = current_client().send_text(request.get_data(as_text=True))
        if isinstance(reply, Task):
            return {"task": reply.to_wire()}
        return {"reply": reply}

    @app.post("/stream")
    def stream():
        # The request leaves now, so an error to send it is still answered by
        # error_response; the events go out as Server-Sent Events as they arrive.
        events = current_client().send_message_streaming(request.get_data(as_text=True))
        return Response(event_stream(events), mimetype="text/event-stream")

    return app


def agent(message, context):
    """The agent the example serves: streams the words back, or says what it got."""
    if not message.text.strip():
        raise InvalidParamsError("say something")
    if context.streaming:
        for word in message.text.split():
            yield f"you said: {word}"
    else:
        yield f"you said: {message.text}"


def main():
    with EmbeddedBroker() as broker:
        settings = {**broker.settings(), "request_topic": "web-agent"}
        with KafkaServerApp(agent, **settings):
            app = create_app({**settings, "timeout": 10})
            try:
                app.run(port=5000)  # threaded: request threads share the one client
            finally:
                a2a.close()


if __name__ == "__main__":
    main()
