"""The job runner on a real database with real commits: claiming, retries with backoff, dead
workers, deduplication; and the statistics of a large quiz computed by a job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from assessments import jobs
from assessments.db import Database, session_scope
from assessments.migrations import upgrade
from assessments.models import Attempt, Job, JobState, QuizStatisticsCache, utcnow
from assessments.reports.service import STATISTICS_JOB, _statistics_job, compute_quiz_statistics, statistics_or_job
from tests.assessments.conftest import World
from tests.assessments.test_statistics import (
    test_statistics_flag_an_item_that_strong_students_get_wrong as finish_ten_attempts,
)

CALLS: list[dict[str, Any]] = []


@jobs.handler("test_echo")
def _echo(session: Session, payload: dict[str, Any], progress: jobs.Progress) -> dict[str, Any]:
    progress(0.5)
    CALLS.append(payload)
    if payload.get("fail_times", 0) >= len([c for c in CALLS if c == payload]):
        raise RuntimeError("the LMS is down")
    return {"echo": payload["n"]}


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[Database]:
    """A database of its own, with real commits (the runner opens its own sessions)."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    upgrade(url)
    db = Database(url)
    CALLS.clear()
    yield db
    db.dispose()


def _job(queue: Database, job_id: int) -> Job:
    with session_scope(queue) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_a_job_runs_once_and_keeps_its_result(queue: Database) -> None:
    with session_scope(queue) as session:
        first = jobs.enqueue(session, "test_echo", {"n": 1}, key="echo:1").id
        again = jobs.enqueue(session, "test_echo", {"n": 1}, key="echo:1").id
    assert first == again, "the same live key is the same job"
    assert jobs.run_until_idle(queue) == 1
    done = _job(queue, first)
    assert (done.state, done.result, done.progress, done.attempts) == (JobState.DONE, {"echo": 1}, 1.0, 1)
    assert jobs.run_until_idle(queue) == 0


def test_a_failing_job_is_retried_with_backoff_then_succeeds(queue: Database) -> None:
    with session_scope(queue) as session:
        jobs.enqueue(session, "test_echo", {"n": 2, "fail_times": 2})
    start = utcnow()
    failed = jobs.run_one(queue, now=start)
    assert failed is not None and failed.state == JobState.QUEUED and "the LMS is down" in (failed.error or "")
    assert jobs.run_one(queue, now=start) is None, "not due before its backoff"
    assert jobs.run_one(queue, now=start + timedelta(seconds=3)) is not None  # second failure
    later = jobs.run_one(queue, now=start + timedelta(seconds=60))
    assert later is not None and later.state == JobState.DONE and later.result == {"echo": 2}
    assert len(CALLS) == 3


def test_a_job_that_keeps_failing_stops_after_its_attempts(queue: Database) -> None:
    with session_scope(queue) as session:
        job_id = jobs.enqueue(session, "test_echo", {"n": 3, "fail_times": 99}, max_attempts=2).id
    jobs.run_one(queue, now=utcnow())
    jobs.run_one(queue, now=utcnow() + timedelta(hours=1))
    final = _job(queue, job_id)
    assert final.state == JobState.FAILED and final.attempts == 2
    assert jobs.run_one(queue, now=utcnow() + timedelta(days=1)) is None


def test_a_job_whose_worker_died_is_taken_back(queue: Database) -> None:
    with session_scope(queue) as session:
        job_id = jobs.enqueue(session, "test_echo", {"n": 4}).id
        assert jobs.claim(session, "a worker that then dies", utcnow()) is not None
    assert jobs.run_one(queue, now=utcnow()) is None, "still locked by its worker"
    rescued = jobs.run_one(queue, now=utcnow() + jobs.LOCK_TIMEOUT + timedelta(seconds=1))
    assert rescued is not None and rescued.id == job_id and rescued.state == JobState.DONE


def test_unknown_kinds_fail_clearly(queue: Database) -> None:
    with session_scope(queue) as session:
        job_id = jobs.enqueue(session, "no_such_kind", {}, max_attempts=1).id
    jobs.run_one(queue)
    assert "no handler for jobs of kind 'no_such_kind'" in (_job(queue, job_id).error or "")


def test_large_quiz_statistics_come_from_a_job(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    finish_ten_attempts(world)
    from assessments.models import Quiz, User

    quiz = world.db.query(Quiz).one()
    teacher = world.db.query(User).filter_by(username="teacher").one()
    from assessments.auth.tokens import ALL_SCOPES
    from assessments.deps import Account, Principal

    principal = Principal(Account.of(teacher), ALL_SCOPES, "access")
    # the statistics the walkthrough asked for are kept: while nothing changes, no job is needed
    kept = statistics_or_job(world.db, principal, quiz.id, inline_limit=5, now=utcnow())
    assert not isinstance(kept, Job) and kept.attempts == 10
    world.db.execute(delete(QuizStatisticsCache))
    job = statistics_or_job(world.db, principal, quiz.id, inline_limit=5, now=utcnow())
    # keyed by the fingerprint: 10 attempts, the sum of their ids, no grade change yet
    ids = sum(world.db.scalars(select(Attempt.id)))
    assert isinstance(job, Job) and job.kind == STATISTICS_JOB and job.key == f"{STATISTICS_JOB}:{quiz.id}:10:{ids}:0"
    progress: list[float] = []
    result = _statistics_job(world.db, {"quiz_id": quiz.id}, progress.append)
    assert result["statistics"] == compute_quiz_statistics(world.db, quiz.id).model_dump(mode="json")
    assert progress[-1] == 1.0
    job.state, job.result = JobState.DONE, result
    world.db.flush()
    cached = statistics_or_job(world.db, principal, quiz.id, inline_limit=5, now=utcnow())
    assert not isinstance(cached, Job) and cached.attempts == 10
    assert world.db.scalar(select(QuizStatisticsCache.fingerprint)) == f"10:{ids}:0"
