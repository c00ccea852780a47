"""Items' 2PL calibrations from students' answers, and practice choosing by them (SQLite, and
PostgreSQL when configured)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.models import Item, ItemCalibration, ItemVersion, Practice, PracticeQuestion, Role, User
from assessments.practice.calibration import MIN_RESPONSES, calibrate, first_answers
from assessments.practice.service import pool_of
from tests.assessments.conftest import PASSWORD_HASH, T0, World
from tests.assessments.test_practice import QUIZ_ITEMS, _classroom
from tests.conftest import ROOT

TRUE = {  # (discrimination, difficulty) the simulated students answer by
    "evaluating-reward-model-score-outputs": (1.0, -1.0),
    "ranking-loss-which-pair-is-penalised": (1.6, 0.0),
    "bradley-terry-preference-probability": (0.8, 0.6),
    "dpo-loss-value": (1.3, 1.2),
}


def _versions(db: Session) -> dict[str, tuple[int, int]]:
    rows = db.execute(select(Item.key, Item.id, ItemVersion.id).join(
        ItemVersion, (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_number))
        .where(Item.key.in_(QUIZ_ITEMS)))
    return {key: (item_id, version_id) for key, item_id, version_id in rows}


def _students_answer(db: Session, practice_id: int, count: int, *, seed: int = 7) -> None:
    """``count`` students, each answering every item of TRUE once in practice, right with the 2PL
    probability at an ability drawn from N(0, 1)."""
    rng = np.random.default_rng(seed)
    versions = _versions(db)
    users = [User(username=f"sim{n:04d}", display_name=f"Sim {n}", role=Role.STUDENT, password_hash=PASSWORD_HASH)
             for n in range(count)]
    db.add_all(users)
    db.flush()
    for user in users:
        theta = rng.normal()
        for key, (a, b) in TRUE.items():
            right = rng.random() < 1 / (1 + np.exp(-a * (theta - b)))
            item_id, version_id = versions[key]
            db.add(PracticeQuestion(practice_id=practice_id, user_id=user.id, item_id=item_id,
                                    item_version_id=version_id, seed=1, rule="information", concept="c",
                                    asked_at=T0, response=None, fraction=1.0 if right else 0.0, answered_at=T0))
    db.flush()


def test_items_answered_enough_are_calibrated_and_practice_chooses_by_them(world: World, db: Session) -> None:
    _, _, _, _, practice_id = _classroom(world)
    _students_answer(db, practice_id, 800)
    report = calibrate(db, T0)
    assert (report.calibrated, report.students, report.answers, report.misfit) == (4, 800, 3200, 0)
    versions = _versions(db)
    stored = {row.item_id: row for row in db.scalars(select(ItemCalibration))}
    assert set(stored) == {versions[key][0] for key in TRUE}
    for key, (a, b) in TRUE.items():
        fit = stored[versions[key][0]]
        # The simulated truth within four standard errors (800 students: about 0.1 logits).
        assert abs(fit.difficulty - b) < 4 * fit.difficulty_se, (key, fit.difficulty, b)
        assert abs(fit.discrimination - a) < 0.6, (key, fit.discrimination, a)
        assert fit.responses == 800 and fit.fitted_at is not None
    # Practice reads them: those items are calibrated in its pool, at the stored values; the case
    # study (an essay) is not practised at all.
    practice = db.get(Practice, practice_id)
    assert practice is not None
    pool = pool_of(db, ROOT / "content", practice).pool
    for key in TRUE:
        row = pool.index(key)
        fit = stored[versions[key][0]]
        assert pool.calibrated[row]
        assert (pool.difficulty[row], pool.discrimination[row]) == (fit.difficulty, fit.discrimination)
    # A calibration replaces the last one.
    assert calibrate(db, T0).calibrated == 4
    assert len(db.scalars(select(ItemCalibration)).all()) == 4


def test_items_with_too_few_answers_keep_their_bloom_prior(world: World, db: Session) -> None:
    _, _, _, _, practice_id = _classroom(world)
    _students_answer(db, practice_id, MIN_RESPONSES - 1)
    report = calibrate(db, T0)
    assert (report.calibrated, report.too_few) == (0, 4)
    practice = db.get(Practice, practice_id)
    assert practice is not None
    pool = pool_of(db, ROOT / "content", practice).pool
    assert not pool.calibrated.any()


def test_a_students_first_answer_counts_and_previews_do_not(world: World, db: Session) -> None:
    teacher, ada, _, _, practice_id = _classroom(world)
    api = world.client
    assert api is not None
    practice = db.get(Practice, practice_id)
    assert practice is not None and practice.quiz_id is not None
    for user in (ada, teacher):  # the teacher's attempt is a preview
        attempt = api.post(f"/api/v1/quizzes/{practice.quiz_id}/attempts", headers=world.headers(user)).json()
        saved = api.put(f"/api/v1/attempts/{attempt['id']}/responses/4", headers=world.headers(user),
                        json={"response": {"answer": "12345"}, "seq": attempt["questions"][3]["seq"]})
        assert saved.status_code == 200, saved.text
        done = api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=world.headers(user))
        assert done.status_code == 200, done.text
    # Later, Ada answers the same item right in practice: her first answer (the quiz's) counts.
    item_id, version_id = _versions(db)["dpo-loss-value"]
    db.add(PracticeQuestion(practice_id=practice_id, user_id=ada.id, item_id=item_id, item_version_id=version_id,
                            seed=1, rule="information", concept="c", asked_at=T0, fraction=1.0, answered_at=T0))
    db.flush()
    answers = first_answers(db)
    assert answers[(ada.id, item_id)] is False
    assert not any(user == teacher.id for user, _ in answers)
