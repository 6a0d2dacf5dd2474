"""``DefaultRequestHandler``: every A2A method, with the task lifecycle behind a plain function."""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..auth import ServerAuthSettings
from ..errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    InvalidAgentResponseError,
    InvalidParamsError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from ..metrics import ServerMetrics
from ..types import (
    AgentCapabilities,
    AgentCard,
    ListTasksParams,
    Message,
    MessageSendParams,
    PushNotificationConfig,
    Task,
    TaskArtifactUpdateEvent,
    TaskPage,
    TaskPushNotificationConfig,
    TaskStatusUpdateEvent,
)
from ..wire import SUCCESS
from .context import RequestContext
from .handlers import RequestHandler, _positional_arity, check_handler, is_handler_object
from .moved import RequestMoved
from .push_versions import as_answered, remember_version
from .resume import follow_task
from .send_config import SendOptions, output_modes_error, trim_history
from .tasks import InMemoryTaskStore, TaskStore
from .tasks.chunks import ArtifactChunks
from .tasks.event_log import InMemoryTaskEventLog, TaskEventLog
from .tasks.listing import DEFAULT_PAGE_SIZE, page_of
from .tasks.updater import TaskEvent, TaskUpdater

__all__ = ["DefaultRequestHandler"]

logger = logging.getLogger(__name__)

_TASK_EVENTS = (Task, TaskStatusUpdateEvent, TaskArtifactUpdateEvent)
_CANCEL_CHECKS = 5
_CANCEL_CHECK_INTERVAL = 0.1


def default_card(name: str) -> AgentCard:
    """The card of an agent that declared none: streaming and push notifications supported."""
    return AgentCard(
        name=name,
        preferred_transport="KAFKA",
        capabilities=AgentCapabilities(streaming=True, push_notifications=True),
    )


class DefaultRequestHandler(RequestHandler):
    """Serves a plain-function agent with every A2A method and a task store behind it.

    The agent is ``fn(message, context)`` (or ``fn(message)``), a plain function or
    a generator function. ``context.task`` is a :class:`TaskUpdater` for the task the
    message starts or continues: a handler that uses it (``start_work``,
    ``add_artifact``, ``requires_input``, ``complete`` ...) answers with that Task;
    one that never touches it answers with its Message. A str or Message returned
    after using the task completes the task with that message. Every change is
    stored, streamed live to a streaming caller, published to resubscribers, and
    pushed to the task's push notification configs. A generator function's stream is
    A2A-shaped: the task, each yielded str or Message as a chunk of one artifact
    (:class:`~a2a_kafka_sync.server.tasks.chunks.ArtifactChunks`), then the task
    completed (failed when it raises); called without a stream, it answers as a
    plain function would, with its last Message (or its task).

    A task created by an authenticated caller (``context.principal``) belongs to
    it: for anyone else every task method (get, cancel, resubscribe, the push
    configs, a message to it) answers TaskNotFoundError, and ``list_tasks`` leaves
    it out. A task created anonymously is everybody's.

    Args:
        agent: the function that does the work.
        task_store: where tasks live; default an :class:`InMemoryTaskStore`.
        agent_card: this agent's card; its ``capabilities.push_notifications`` gates
            the push-config methods (-32003 when false).
        extended_agent_card: the card ``agent_card_get`` returns; -32007 when None.
        event_log: where task events are numbered and kept for resubscriptions
            (``after_sequence``); default an :class:`InMemoryTaskEventLog`.
    """

    def __init__(
        self,
        agent: Callable[..., Any],
        *,
        task_store: TaskStore | None = None,
        agent_card: AgentCard | None = None,
        extended_agent_card: AgentCard | None = None,
        event_log: TaskEventLog | None = None,
    ) -> None:
        if is_handler_object(agent):
            raise TypeError(
                "DefaultRequestHandler runs a function; a handler object is served as it is"
            )
        check_handler(agent)
        self.agent = agent
        self.task_store = task_store or InMemoryTaskStore()
        self.agent_card = agent_card or default_card(getattr(agent, "__name__", "agent"))
        self.extended_agent_card = extended_agent_card
        self._generator = inspect.isgeneratorfunction(agent)
        self._with_context = _positional_arity(agent) >= 2
        self.event_log = event_log or InMemoryTaskEventLog()
        self._running: dict[str, tuple[threading.Event, TaskUpdater]] = {}
        self._running_lock = threading.Lock()
        self._notifier: Any = None
        self._max_push_configs = ServerAuthSettings().max_push_configs_per_task
        self._push_config_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<DefaultRequestHandler {getattr(self.agent, '__qualname__', self.agent)!r}>"

    # -- lifecycle, driven by the server ---------------------------------------------------------

    resubscribe_idle_timeout: float | None = 300.0
    """Seconds a resubscription waits for its task's next event before it ends with
    InternalError (reason ``no_progress``); the app sets it from its config."""

    def start(
        self,
        producer: Any = None,
        *,
        allow_insecure_webhooks: bool = False,
        settings: ServerAuthSettings | None = None,
        metrics: ServerMetrics | None = None,
    ) -> None:
        """Start the task store and event log, and push delivery through ``producer`` (a
        KafkaProducer, or the app's :class:`~a2a_kafka_sync.server.producer.ServerProducer`,
        whose current producer each push asks for); webhooks over http:// or to non-public
        addresses only with ``allow_insecure_webhooks``, the server's setting. ``settings``
        (the server's config) gives the push limits (``max_push_configs_per_task``,
        ``push_workers``, ``push_per_target``, ``push_timeout``, ``max_push_queue``,
        ``max_push_queue_per_target``; their defaults without it); ``metrics`` counts push
        deliveries and drops. When the event log cannot start (e.g. its topic's ACLs), the
        store is closed again."""
        limits = settings if settings is not None else ServerAuthSettings()
        self._max_push_configs = limits.max_push_configs_per_task
        self.task_store.start()
        try:
            self.event_log.start()
        except BaseException:
            self.task_store.close()
            raise
        if producer is not None:
            from .push import PushNotifier

            self._notifier = notifier = PushNotifier(
                producer,
                allow_insecure_webhooks=allow_insecure_webhooks,
                workers=limits.push_workers,
                per_target=limits.push_per_target,
                timeout=limits.push_timeout,
                max_queued=limits.max_push_queue,
                max_queued_per_target=limits.max_push_queue_per_target,
                metrics=metrics,
            )
            if metrics is not None:
                metrics.watch_push_queue(lambda: notifier.queued)

    def stopping(self) -> None:
        """The server stops taking requests: end open resubscriptions now, not after the drain."""
        self.event_log.close_subscriptions()

    def close(self, timeout: float = 10.0) -> None:
        """Wake resubscribers, stop push delivery, close the event log and the task store,
        within ``timeout`` seconds in all (each part gets at most 5 s of it).

        Each part is closed even when closing another fails (a broker outage): the failure
        is logged, and no part's threads outlive the close. A task store or event log of
        your own is closed with its ``close()``.
        """
        deadline = time.monotonic() + timeout
        self.event_log.close_subscriptions()
        parts: list[tuple[str, Callable[[float], Any]]] = [
            ("push delivery", lambda t: self._notifier.close(t) if self._notifier else None),
            ("the task-event log", self._close_part(self.event_log)),
            ("the task store", self._close_part(self.task_store)),
        ]
        for name, close in parts:
            try:
                close(max(0.1, min(5.0, deadline - time.monotonic())))
            except Exception:
                logger.exception("closing %s failed", name)

    @staticmethod
    def _close_part(part: Any) -> Callable[[float], Any]:
        """``part.close``, given the time it may take when it accepts a ``timeout``."""
        if "timeout" in inspect.signature(part.close).parameters:
            return lambda t: part.close(timeout=t)
        return lambda t: part.close()

    # -- message_send ----------------------------------------------------------------------------

    def on_message_send(self, params: MessageSendParams, context: RequestContext) -> Message | Task:
        """Run the agent; answer with its Message, or the Task it started or continued.

        As the request's ``configuration`` asks (:mod:`~a2a_kafka_sync.server.send_config`):
        ``blocking: false`` answers with the task at its first update (``context.respond``)
        while the agent runs on (the task fails if it then raises); ``historyLength`` trims
        the task answered.
        """
        options = SendOptions.of(params)
        respond = context.respond if options.returns_immediately else None
        answered: list[Task] = []

        def answer_now(task: Task) -> None:  # under the updater's lock: one at a time
            if respond is not None and not answered:
                answered.append(task)
                respond(trim_history(task.model_copy(deep=True), options.history_length))

        result: Message | Task | None = None
        try:
            for event in self._run(params, context, options, answer_now):
                if isinstance(event, Message):
                    result = event
        except Exception as exc:
            if answered:  # its caller follows the task: tell it there
                context.state["updater"].fail_for(exc)
            raise
        updater: TaskUpdater = context.state["updater"]
        if updater.touched:
            return trim_history(updater.task, options.history_length)
        if result is None:
            raise InvalidAgentResponseError("the agent answered with no Message and used no task")
        return result

    def on_message_send_stream(
        self, params: MessageSendParams, context: RequestContext
    ) -> Iterator[Any]:
        """Run the agent; its task's events reach the caller live, its Messages in order."""
        yield from self._run(params, context)

    def _run(
        self,
        params: MessageSendParams,
        context: RequestContext,
        options: SendOptions | None = None,
        on_task: Callable[[Task], None] | None = None,
    ) -> Iterator[Message]:
        """Run the agent once; task events are published as they happen (then ``on_task``
        gets the task), Messages yielded. First the request's ``configuration`` is checked:
        accepted output modes the card's do not meet (-32005), a push config the card
        does not support (-32003); that push config is registered for the task."""
        options = options if options is not None else SendOptions.of(params)
        error = output_modes_error(self.agent_card, context.accepted_output_modes)
        if error is not None:
            raise error
        push_config = options.push_config
        if push_config is not None:
            self._check_push()
            push_config = remember_version(push_config, context.a2a_version)
        message = params.message
        existing = self._continued_task(message, context, push_config)
        shared = self.task_store.shared
        updater = TaskUpdater(
            # A new task's id comes from the request: a request redelivered to another
            # instance after a crash runs under the same task id, so the caller who follows
            # it (resubscribe, resume=True) sees the new run's events, numbered on.
            task_id=message.task_id or _task_id_of(context),
            context_id=message.context_id or (existing.context_id if existing else None),
            load=lambda: self.task_store.get(updater.task_id),
            publish=self._publisher(
                context.emit,
                None if existing else _owner(context),
                push_config=None if existing else push_config,
                on_task=on_task,
                moved=context.moved,
            ),
            request=message,
            refresh=(lambda: self.task_store.get(updater.task_id)) if shared else None,
            on_ended_elsewhere=context.cancelled.set,
        )
        if existing is not None:
            updater.touched = True
            task = updater.task  # a turn's first event: the task with the new message
            sequence = self.event_log.append(task.id, task)
            if context.emit is not None:
                context.emit(task, sequence)
        context.state["updater"] = updater
        cancelled = context.cancelled  # one event: task_cancel and the watchdog both set it
        agent_context = context.replace(task=updater)
        with self._running_lock:
            self._running[updater.task_id] = (cancelled, updater)
        try:
            args = (message, agent_context) if self._with_context else (message,)
            if self._generator and context.streaming:
                self._stream_items(self.agent(*args), updater, message)
            elif self._generator:
                for item in self.agent(*args):
                    yield from self._take(item, updater, message, final=False)
            else:
                yield from self._take(self.agent(*args), updater, message, final=True)
        finally:
            with self._running_lock:
                self._running.pop(updater.task_id, None)
            if updater.touched and not updater.turn_ended and not context.moved.is_set():
                # The agent returned with its turn still open: resubscribers stop waiting.
                self.event_log.end_run(updater.task_id)

    def _stream_items(self, items: Iterable[Any], updater: TaskUpdater, request: Message) -> None:
        """A generator's stream, A2A-shaped: its text as chunks of one artifact of the task
        (:class:`ArtifactChunks`), its task events applied; everything reaches the caller
        through the updater. The task fails, final, when the generator raises."""
        chunks = ArtifactChunks(updater)
        try:
            for item in items:
                if chunks.takes(item):
                    chunks.add(item)
                else:
                    if isinstance(item, (Task, TaskStatusUpdateEvent)):
                        chunks.agent_controls = True  # its status is its own from now on
                    for _ in self._take(item, updater, request, final=False):
                        pass  # _take yields only Messages, which chunks took
            chunks.close()
        except Exception as exc:
            chunks.fail(exc)
            raise

    def _continued_task(
        self,
        message: Message,
        context: RequestContext,
        push_config: PushNotificationConfig | None = None,
    ) -> Task | None:
        """The task the message continues, its message added (and ``push_config``
        registered for it); None for a message that starts no known task."""
        if not message.task_id:
            return None
        task = self._task(message.task_id, context)
        if task.status.state.is_terminal:
            raise InvalidParamsError(
                f"task {task.id} is {task.status.state.value}: it takes no more messages"
            )
        if push_config is not None:
            self._add_push_config(task.id, push_config)
        task.history = [*(task.history or []), message]
        self.task_store.save(task)
        return task

    def _take(
        self, value: Any, updater: TaskUpdater, request: Message, *, final: bool
    ) -> Iterator[Message]:
        """Turn what the agent returned or yielded into task events or a Message."""
        if value is None:
            return
        if isinstance(value, str):
            value = Message.agent_text(
                value, context_id=request.context_id, task_id=request.task_id
            )
        if isinstance(value, _TASK_EVENTS):
            updater.record(value)
        elif isinstance(value, Message):
            if final and updater.touched:
                if not updater.turn_ended:
                    updater.complete(value)
                return
            yield value
        else:
            raise InvalidAgentResponseError(
                f"the agent produced {type(value).__name__}; expected Message, Task, "
                "TaskStatusUpdateEvent, TaskArtifactUpdateEvent, str or None"
            )

    def _publisher(
        self,
        emit: Callable[..., None] | None,
        owner: str | None = None,
        *,
        push_config: PushNotificationConfig | None = None,
        on_task: Callable[[Task], None] | None = None,
        moved: threading.Event | None = None,
    ) -> Callable[[Task, TaskEvent], None]:
        unowned = [owner] if owner is not None else []  # recorded before the first save
        # A new task's push config from its message, stored with its first save (a task
        # is made only then: an agent that answers with a Message leaves no config behind).
        unregistered = [push_config] if push_config is not None else []

        def publish(task: Task, event: TaskEvent) -> None:
            if moved is not None and moved.is_set():  # the new owner's run writes the task
                raise RequestMoved(f"the request running task {task.id} moved to another server")
            if unowned:
                self.task_store.set_owner(task.id, unowned.pop())
            if unregistered:
                self._add_push_config(task.id, unregistered.pop())
            self.task_store.save(task)
            sequence = self.event_log.append(task.id, event)  # resubscribers get it here
            if emit is not None:
                emit(event, sequence)
            if isinstance(event, (Task, TaskStatusUpdateEvent)) and self._notifier is not None:
                configs = self.task_store.get_push_configs(task.id)
                if configs:
                    self._notifier.notify(task, configs)
            if on_task is not None:
                on_task(task)

        return publish

    # -- tasks ------------------------------------------------------------------------------------

    def _task(self, task_id: str, context: RequestContext | None = None) -> Task:
        """The stored task; TaskNotFoundError when absent or, with ``context``, when it
        belongs to another principal than the caller's (its existence is not told)."""
        task = self.task_store.get(task_id)
        if task is None or (
            context is not None
            and self.task_store.get_owner(task_id) not in (None, _owner(context))
        ):
            raise TaskNotFoundError(f"task {task_id} not found")
        return task

    def on_get_task(self, params: Any, context: RequestContext) -> Task:
        """The task, with at most ``historyLength`` of its latest messages."""
        return trim_history(self._task(params.id, context), params.history_length)

    def on_list_tasks(self, params: ListTasksParams, context: RequestContext) -> TaskPage:
        """A page of the stored tasks the caller may see (its own, and nobody's), most
        recently updated first, filtered as asked (``contextId``, ``status``,
        ``statusTimestampAfter``; see ``tasks/listing.py``)."""
        all_at_once = context.a2a_version == "0.3" and params.page_size is None
        size = None if all_at_once else DEFAULT_PAGE_SIZE
        visible = self.task_store.list_visible(_owner(context), params.context_id)
        return page_of(visible, params, default_size=size)

    def on_cancel_task(self, params: Any, context: RequestContext) -> Task:
        """Cancel a task: a running handler sees ``context.cancelled``; its stream ends canceled."""
        task = self._task(params.id, context)
        if task.status.state.is_terminal:
            raise TaskNotCancelableError(f"task {task.id} is {task.status.state.value}")
        with self._running_lock:
            running = self._running.get(task.id)
        if running is not None:
            cancelled, updater = running
            cancelled.set()
        else:
            updater = TaskUpdater(
                task_id=task.id,
                context_id=task.context_id,
                load=lambda: self.task_store.get(task.id),
                publish=self._publisher(None),
            )
        if not updater.cancel():
            raise TaskNotCancelableError(f"task {task.id} is {updater.state.value}")
        if running is None and self.task_store.shared:
            return self._cancel_sticks(task.id)
        return self._task(task.id)

    def _cancel_sticks(self, task_id: str) -> Task:
        """Make a cancel of a task running on another instance stick.

        The shared stores have no compare-and-set: the running instance re-reads
        the task before each update, but an update it read just before the cancel
        landed can overwrite it once. Re-assert the cancel a few times, until
        the stored task stays canceled (or reaches another terminal state).
        """
        for _ in range(_CANCEL_CHECKS):
            time.sleep(_CANCEL_CHECK_INTERVAL)
            task = self._task(task_id)
            if task.status.state.is_terminal:
                continue
            logger.info("task %s was updated over its cancel: canceling again", task_id)
            TaskUpdater(
                task_id=task_id,
                context_id=task.context_id,
                load=lambda: self.task_store.get(task_id),
                publish=self._publisher(None),
            ).cancel()
        return self._task(task_id)

    def on_resubscribe_to_task(self, params: Any, context: RequestContext) -> Iterator[Any]:
        """The task as it is, then its live events until its turn ends; with the request's
        ``after_sequence``, exactly the task's events after it instead of the task.
        Another principal's task is not found. A 1.0 ``SubscribeToTask`` of a task in a
        terminal state is UnsupportedOperationError (-32004), as A2A 1.0 asks; resuming
        it after a sequence is not (it replays what the caller missed)."""
        if context.a2a_version != "0.3" and context.after_sequence is None:
            task = self._task(params.id, context)
            if task.status.state.is_terminal:
                raise UnsupportedOperationError(
                    f"task {task.id} is {task.status.state.value}: there is nothing to "
                    "subscribe to (get it with GetTask)"
                )
        return follow_task(
            self.event_log,
            lambda task_id: self._task(task_id, context),
            params.id,
            context,
            self.resubscribe_idle_timeout,
        )

    # -- push notification configs ---------------------------------------------------------------

    def _check_push(self) -> None:
        if not (self.agent_card.capabilities and self.agent_card.capabilities.push_notifications):
            raise PushNotificationNotSupportedError(
                f"agent {self.agent_card.name} does not support push notifications"
            )

    def on_set_task_push_notification_config(
        self, params: Any, context: RequestContext
    ) -> TaskPushNotificationConfig:
        """Store a push config for an existing task; at most ``max_push_configs_per_task``
        of them (InvalidParamsError, -32602, for one more). The config remembers the A2A
        version of the request, the version its pushes are sent in (``push_versions``)."""
        self._check_push()
        self._task(params.task_id, context)
        config = remember_version(params.push_notification_config, context.a2a_version)
        stored = self._add_push_config(params.task_id, config)
        return TaskPushNotificationConfig(
            task_id=params.task_id, push_notification_config=as_answered(stored)
        )

    def _add_push_config(
        self, task_id: str, config: PushNotificationConfig
    ) -> PushNotificationConfig:
        """Store a push config of a task (the caller checked the task, and the config
        remembers its A2A version: ``push_versions``); InvalidParamsError past
        ``max_push_configs_per_task``."""
        with self._push_config_lock:  # the count and the write agree (on this instance)
            existing = {c.id for c in self.task_store.get_push_configs(task_id)}
            if (config.id or task_id) not in existing and (len(existing) >= self._max_push_configs):
                raise InvalidParamsError(
                    f"task {task_id} already has {len(existing)} push notification "
                    f"configs, the most this server keeps per task "
                    f"(max_push_configs_per_task={self._max_push_configs}): delete one, or "
                    "replace one by setting its id",
                    data={"field": "push_notification_config", "limit": self._max_push_configs},
                )
            return self.task_store.set_push_config(task_id, config)

    def on_get_task_push_notification_config(
        self, params: Any, context: RequestContext
    ) -> TaskPushNotificationConfig:
        """One push config of a task (by id; the first when no id is given)."""
        self._check_push()
        self._task(params.id, context)
        configs = self.task_store.get_push_configs(params.id)
        wanted = params.push_notification_config_id
        for config in configs:
            if wanted is None or config.id == wanted:
                return TaskPushNotificationConfig(
                    task_id=params.id, push_notification_config=as_answered(config)
                )
        raise InvalidParamsError(f"task {params.id} has no push notification config {wanted}")

    def on_list_task_push_notification_config(
        self, params: Any, context: RequestContext
    ) -> list[TaskPushNotificationConfig]:
        """Every push config of a task."""
        self._check_push()
        self._task(params.id, context)
        return [
            TaskPushNotificationConfig(
                task_id=params.id, push_notification_config=as_answered(config)
            )
            for config in self.task_store.get_push_configs(params.id)
        ]

    def on_delete_task_push_notification_config(self, params: Any, context: RequestContext) -> str:
        """Remove one push config of a task."""
        self._check_push()
        self._task(params.id, context)
        if not self.task_store.delete_push_config(params.id, params.push_notification_config_id):
            raise InvalidParamsError(
                f"task {params.id} has no push notification config "
                f"{params.push_notification_config_id}"
            )
        return SUCCESS

    def on_get_authenticated_extended_card(self, params: Any, context: RequestContext) -> AgentCard:
        """The extended agent card, when one is configured."""
        if self.extended_agent_card is None:
            raise AuthenticatedExtendedCardNotConfiguredError(
                f"agent {self.agent_card.name} has no extended card"
            )
        return self.extended_agent_card


def _task_id_of(context: RequestContext) -> str:
    """The id of the task a request starts: 32 hex digits from its correlation id, reply
    topic and principal (the same request gets the same id, another caller never does)."""
    principal = context.principal.name if context.principal is not None else ""
    seed = f"{context.correlation_id}\x1f{context.reply_topic}\x1f{principal}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def _owner(context: RequestContext) -> str | None:
    """The owner name of the caller's tasks: its principal's name, or None (anonymous)."""
    principal = getattr(context, "principal", None)
    return principal.name if principal is not None else None
