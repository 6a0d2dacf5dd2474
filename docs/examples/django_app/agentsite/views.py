"""Views that call the agent: one answers with its reply, one streams its events."""

from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from a2a_kafka_sync import Task
from a2a_kafka_sync.contrib import event_stream
from a2a_kafka_sync.contrib.django import get_client


@csrf_exempt  # an API endpoint for curl; keep CSRF protection for browser forms
@require_POST
def ask(request):
    # get_client() is this process's one client, shared by every request thread.
    # An error it raises is answered by A2AErrorMiddleware (see settings.MIDDLEWARE).
    reply = get_client().send_text(request.body.decode())
    if isinstance(reply, Task):
        return JsonResponse({"task": reply.to_wire()})
    return JsonResponse({"reply": reply})


@csrf_exempt
@require_POST
def stream(request):
    # The request leaves now, so an error to send it still reaches the middleware;
    # the events go out as Server-Sent Events as they arrive.
    events = get_client().send_message_streaming(request.body.decode())
    return StreamingHttpResponse(event_stream(events), content_type="text/event-stream")
