"""Deferred feedback: responses are saved during the attempt and graded when it is finished.

Moodle's ``qbehaviour_deferredfeedback``. Saving records the response (complete, invalid with the
reason, or todo when blank); saving the same response again keeps no step. Finishing grades the
last saved response; a blank or invalid one gives ``gaveup`` with fraction 0, as Moodle does for a
response that is not gradable. No feedback is visible before the question is finished.
"""

from __future__ import annotations

from typing import ClassVar

from engine.behaviours.base import Behaviour

__all__ = ["DeferredFeedback"]


class DeferredFeedback(Behaviour):
    """Save now, grade at the end; everything it needs is the shared save and finish."""

    name: ClassVar[str] = "deferredfeedback"
