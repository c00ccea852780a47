"""The job runner: enqueue background work, claim it from any worker, retry it with backoff.

A handler is a function ``(session, payload, progress) -> result`` registered for a job kind. It
runs in its own transaction; what it writes commits with the job's completion, or not at all.
``progress(fraction)`` records how far it has come (committed on its own connection, so a page
can show it while the job runs). A failed job is retried after 2, 4, 8, ... seconds up to its
``max_attempts``; a job whose worker died is taken back once its lock is older than
:data:`LOCK_TIMEOUT`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assessments.db import Database, session_scope
from assessments.models import Job, JobState, utcnow

log = logging.getLogger("assay.jobs")

LOCK_TIMEOUT = timedelta(minutes=10)
MAX_BACKOFF = timedelta(minutes=30)

Progress = Callable[[float], None]
Handler = Callable[[Session, dict[str, Any], Progress], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does jobs of ``kind``."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def enqueue(session: Session, kind: str, payload: dict[str, Any], *, key: str | None = None,
            now: datetime | None = None, max_attempts: int = 8) -> Job:
    """A new job, or the live one with the same ``key`` (asking twice does the work once)."""
    if key is not None:
        live = session.scalars(select(Job).where(
            Job.key == key, Job.state.in_([JobState.QUEUED, JobState.RUNNING]))).first()
        if live is not None:
            return live
    job = Job(kind=kind, key=key, payload=payload, state=JobState.QUEUED, max_attempts=max_attempts,
              run_after=now or utcnow(), created_at=now or utcnow())
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        live = session.scalars(select(Job).where(
            Job.key == key, Job.state.in_([JobState.QUEUED, JobState.RUNNING]))).first()
        if live is None:
            raise
        return live
    return job


def claim(session: Session, worker: str, now: datetime) -> Job | None:
    """Take the oldest job that is due (or whose worker died); None when there is none."""
    query = (select(Job).where(or_(
        (Job.state == JobState.QUEUED) & (Job.run_after <= now),
        (Job.state == JobState.RUNNING) & (Job.locked_at < now - LOCK_TIMEOUT),
    )).order_by(Job.id).limit(1).with_for_update(skip_locked=True))
    job = session.scalars(query).first()
    if job is None:
        return None
    job.state = JobState.RUNNING
    job.locked_by = worker
    job.locked_at = now
    job.attempts += 1
    return job


def _record_progress(database: Database, job_id: int) -> Progress:
    def progress(fraction: float) -> None:
        with database.engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == job_id).values(progress=max(0.0, min(1.0, fraction))))

    return progress


def run_one(database: Database, worker: str | None = None, now: datetime | None = None) -> Job | None:
    """Claim one due job and do it; the job as it ended, or None when nothing was due."""
    worker = worker or worker_name()
    with session_scope(database) as session:
        job = claim(session, worker, now or utcnow())
        if job is None:
            return None
        job_id, kind, payload = job.id, job.kind, dict(job.payload)
    try:
        with session_scope(database) as session:
            result = _handler(kind)(session, payload, _record_progress(database, job_id))
            done = session.get(Job, job_id)
            assert done is not None
            done.state, done.result, done.progress = JobState.DONE, result, 1.0
            done.finished_at, done.error, done.locked_by = utcnow(), None, None
    except Exception as exc:  # noqa: BLE001 - any failure of a handler is recorded and retried
        log.warning("job %s (%s) failed: %s", job_id, kind, exc)
        return _failed(database, job_id, exc, now)
    return done


def _handler(kind: str) -> Handler:
    function = HANDLERS.get(kind)
    if function is None:
        raise LookupError(f"no handler for jobs of kind {kind!r}")
    return function


def _failed(database: Database, job_id: int, exc: Exception, now: datetime | None) -> Job:
    """Record a failure: retry later with backoff, or give up after the job's attempts."""
    with session_scope(database) as session:
        failed = session.get(Job, job_id)
        assert failed is not None
        failed.error = f"{type(exc).__name__}: {exc}"
        failed.locked_by = None
        if failed.attempts >= failed.max_attempts:
            failed.state, failed.finished_at = JobState.FAILED, utcnow()
        else:
            delay = min(timedelta(seconds=2 ** failed.attempts), MAX_BACKOFF)
            failed.state, failed.run_after = JobState.QUEUED, (now or utcnow()) + delay
    return failed


def run_until_idle(database: Database, *, limit: int = 1000) -> int:
    """Do every due job (tests, ``assay worker --once``); how many ran."""
    count = 0
    while count < limit and run_one(database) is not None:
        count += 1
    return count


def work(database: Database, stop: threading.Event, *, idle_seconds: float = 1.0) -> None:
    """A worker loop: do jobs until ``stop`` is set, sleeping while the queue is empty."""
    worker = worker_name()
    while not stop.is_set():
        try:
            if run_one(database, worker) is None:
                stop.wait(idle_seconds)
        except Exception:  # the loop must outlive a broken database connection
            log.exception("the job worker failed; retrying")
            stop.wait(idle_seconds * 5)
