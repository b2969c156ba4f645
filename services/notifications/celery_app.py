"""The Celery app: settings that make a killed worker lose nothing.

What depends on the settings (the broker, the time limits) is set by `configure` when a
process starts: the worker, consumer and sweeper as they build their collaborators
(wiring.build), the web app as it makes its `enqueue`. Importing this module reads no
setting.
"""
from celery import Celery
from celery.signals import celeryd_init, worker_init

from shared import config

app = Celery("notifications")
app.conf.update(
    imports=["services.notifications.pipeline.tasks"],
    task_serializer="json", accept_content=["json"], task_ignore_result=True,
    task_acks_late=True,  # ack after the task ran, so a crash mid-task redelivers it
    task_reject_on_worker_lost=True,  # ...even when the pool child was killed
    worker_prefetch_multiplier=1,  # few reserved-but-unstarted tasks at risk on a kill
    # Longer than any task; retries wait in the database (deliveries.due_at), never in
    # Celery countdowns, so no ETA can outlive the visibility timeout and run twice.
    broker_transport_options={"visibility_timeout": 3600},
    # Two processes per core of a 2-core host: a send waits on the SMTP server and the
    # database much of the time, and a large fan-out goes out faster than with two.
    worker_concurrency=int(config.env("CELERY_CONCURRENCY", "4")),
    worker_cancel_long_running_tasks_on_connection_loss=True,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,  # Redis away for minutes: keep trying, never exit
)


def configure(settings):
    """The broker, and time limits that end a task well before the sweeper would call its
    row stuck and send it again."""
    app.conf.update(
        broker_url=settings.redis_url,
        task_time_limit=min(60, settings.stale_after * 0.8),
        task_soft_time_limit=min(45, settings.stale_after * 0.6),
    )


@celeryd_init.connect
def _start_worker(**_):
    """Before the worker reads its configuration: a bad setting (SECRET_KEY above all)
    stops it here with one line, and its collaborators are made once, for every task."""
    from services.notifications import wiring
    from services.notifications.pipeline import tasks

    tasks.collaborators = wiring.build(config.load_or_exit("notifications"))


@worker_init.connect
def _load_before_forking(**_):
    """The pool's processes are forked from this one after this signal: what it loads here,
    each of them need not load again on its first email."""
    from services.notifications.mail import compose

    compose.warm_up()
