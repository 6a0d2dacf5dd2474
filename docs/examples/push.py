"""Push notifications: a webhook and a kafka:// target for task updates, and server push records.

Run it with ``python docs/examples/push.py`` (needs the ``broker`` extra).
"""

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from a2a_kafka_sync import KafkaClientTransport, KafkaServerApp, Message, TaskState
from a2a_kafka_sync.client import push_config
from a2a_kafka_sync.testing import EmbeddedBroker
from a2a_kafka_sync.types import PushNotificationAuthenticationInfo

deliveries = queue.Queue()  # what the webhook received


class Webhook(BaseHTTPRequestHandler):
    """A webhook on loopback: records each POST and answers 204."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        deliveries.put((self.path, dict(self.headers), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


apps = {}


def pizza(message, context):
    task = context.task
    if task.state is TaskState.submitted:
        # a server-initiated push record, straight to this caller's reply topic
        apps["pizza"].push(context.reply_topic, Message.agent_text("the oven is hot"))
        task.requires_input("Which size?")
        return None
    return f"A {message.text} pizza is on its way."


def main():
    webhook = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{webhook.server_port}/a2a/push"

    with EmbeddedBroker() as broker:
        settings = broker.settings()
        # The webhook here is plain http:// on this machine: a development setting allows it
        # (by default a server takes only https:// webhooks to public addresses).
        apps["pizza"] = KafkaServerApp(
            pizza, request_topic="pizza", allow_insecure_webhooks=True, **settings
        )
        with apps["pizza"] as app:
            app.wait_until_assigned(30)
            with KafkaClientTransport(request_topic="pizza", timeout=10, **settings) as client:
                pushed = queue.Queue()
                client.on_push(pushed.put)  # runs on the a2a-kafka-push-dispatcher thread

                task = client.send_text("I want a pizza")
                print("push record:", pushed.get(timeout=10).text)

                # Two push configs for the task: a webhook, and this client's reply topic.
                auth = PushNotificationAuthenticationInfo(schemes=["Bearer"], credentials="abc")
                hook = push_config(task.id, url, token="s3cret", authentication=auth)
                stored = client.set_task_callback(hook)
                print("stored under id:", stored.push_notification_config.id == task.id)
                to_me = push_config(task.id, f"kafka://{client.reply_topic}", id="to-me")
                client.set_task_callback(to_me)
                print("configs:", len(client.list_task_callbacks(task.id)))
                fetched = client.get_task_callback(task.id, "to-me")
                print("to-me:", fetched.push_notification_config.url.split(":")[0])

                # The task completes: each config gets the Task as it is now.
                client.send_text("large", task_id=task.id)
                path, headers, body = deliveries.get(timeout=10)
                print("webhook:", path, body["kind"], body["status"]["state"])
                print("  token:", headers["X-A2A-Notification-Token"])
                print("  authorization:", headers["Authorization"])
                event = pushed.get(timeout=10)
                print("kafka:// push:", type(event).__name__, event.status.state)

                client.delete_task_callback(task.id, "to-me")
                print("configs left:", len(client.list_task_callbacks(task.id)))
    webhook.shutdown()


if __name__ == "__main__":
    main()
