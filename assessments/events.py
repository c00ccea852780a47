"""What happened in a domain, for whoever cares: a small registry of handlers, run in the same transaction.

A domain that changes something others care about publishes an event (:func:`publish`) where the
change is made; it knows nothing of who listens. A listener (:func:`subscribe`) runs at once, in the
publisher's transaction, and does only quick database work there. Work that must reach the world
outside and survive a crash (a score posted to an LMS that may be down) goes into the outbox, which
is the job table (:func:`assessments.jobs.enqueue`): the job row commits with the change or not at
all, and a worker does the work, retrying with backoff.

Listeners live in the packages named by :data:`LISTENERS`, imported the first time anything is
published, so no process (the server, a worker, the CLI's sweep) can publish before its listeners
are in place; the domains themselves never import them.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

__all__ = ["AttemptFinished", "Event", "GradeChanged", "PracticeProgressed", "QuizOpening", "publish", "subscribe"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened; subclasses name what."""


@dataclass(frozen=True, slots=True)
class AttemptFinished(Event):
    """A student's attempt finished (submitted, or closed at its deadline) and was graded."""

    attempt_id: int
    quiz_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class GradeChanged(Event):
    """A finished attempt's marks changed (a manual grade, a regrade): the student's quiz grade may move."""

    attempt_id: int
    quiz_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class QuizOpening(Event):
    """A quiz was published, or scheduled to publish: its students may soon start at once."""

    quiz_id: int


@dataclass(frozen=True, slots=True)
class PracticeProgressed(Event):
    """A student answered in a practice whose instructor chose to send completion: ``completion``
    is the fraction of its concepts the student has mastered (never a grade of the answers)."""

    practice_id: int
    course_id: int
    user_id: int
    completion: float


Listener = Callable[[Session, Any, datetime], None]
"""``listener(session, event, now)``: the event is one of the kinds it subscribed to."""
L = TypeVar("L", bound=Listener)

LISTENERS = ("assessments.lti.ags", "assessments.attempts.prepared", "assessments.reports.summaries")
"""The modules that subscribe (imported on the first publish): LTI grade passback, the
preparation of a quiz's starts before it opens, and the answer summaries statistics read."""

_listeners: dict[type[Event], list[Listener]] = {}
_loaded = False
_lock = threading.Lock()


def subscribe(*kinds: type[Event]) -> Callable[[L], L]:
    """Register the decorated function for events of ``kinds``: ``listener(session, event, now)``."""

    def register(listener: L) -> L:
        for kind in kinds:
            handlers = _listeners.setdefault(kind, [])
            if listener not in handlers:
                handlers.append(listener)
        return listener

    return register


def _load() -> None:
    global _loaded  # noqa: PLW0603 - the listeners are imported once per process
    if _loaded:
        return
    with _lock:
        if not _loaded:
            for module in LISTENERS:
                importlib.import_module(module)
            _loaded = True


def publish(session: Session, event: Event, now: datetime) -> None:
    """Tell every listener of the event's kind, in this transaction (flushed first, so they read
    the change). A listener that fails fails the publisher's transaction: nothing half-happens."""
    _load()
    handlers = _listeners.get(type(event), [])
    if handlers:
        session.flush()
    for handler in handlers:
        handler(session, event, now)
