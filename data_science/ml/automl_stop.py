"""Ending an AutoGluon fit on time with the models it has, instead of being killed with none.

AutoGluon's own time limit is a target, not a promise: on a busy machine one model can run
seconds past it, and the AutoML process is killed at its hard deadline with nothing kept. Here
a fit is wrapped up at a set instant: no model starts after it, a model still fitting then is
told its time is up, and what was trained by then is what the run returns. Imported only in the
AutoML job's own process (it imports AutoGluon), and used from its main thread (signals).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from autogluon.core.callbacks import AbstractCallback
from autogluon.core.utils.exceptions import TimeLimitExceeded

# A model AutoGluon can give less time than this is skipped (it would be cut off half-fitted).
MIN_MODEL_SECONDS = 1.0


class WrapUp(AbstractCallback):  # type: ignore[misc]  # AutoGluon ships no type information
    """Stops an AutoGluon fit at `at` (a time.time() instant), keeping what was trained.

    Until one model is trained nothing is stopped: a late answer (or the hard deadline) beats
    an empty one. After that, a model there is too little time for is skipped, no model starts
    past `at`, and the alarm at `at` raises AutoGluon's own TimeLimitExceeded inside a model
    still fitting, which AutoGluon handles like any model that ran out of time. `cut_short`
    says whether any of that happened, i.e. the preset's plan did not fit in the time.
    """

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at
        self.cut_short = False
        self.trained = False
        self.fitting = False

    def before_trainer_fit(self, trainer: Any, **kwargs: Any) -> None:
        """Each fit starts afresh: bagged presets run a trial fit (dynamic stacking) first,
        and the verdict is the main fit's."""
        self.cut_short = self.trained = self.fitting = False

    def _before_model_fit(
        self,
        trainer: Any,
        model: Any,
        time_limit: float | None = None,
        stack_name: str = "core",
        level: int = 1,
    ) -> tuple[bool, bool]:
        """(stop the whole fit, skip this model)."""
        self.trained = bool(trainer.get_model_names())
        if self.trained and time.time() >= self.at:
            self.cut_short = True
            return True, False
        too_short = time_limit is not None and time_limit < MIN_MODEL_SECONDS
        if self.trained and stack_name == "core" and too_short:
            self.cut_short = True
            return False, True
        self.fitting = True
        return False, False

    def _after_model_fit(
        self, trainer: Any, model_names: list[str], stack_name: str = "core", level: int = 1
    ) -> bool:
        self.fitting = False
        self.trained = bool(trainer.get_model_names())
        return False

    def alarm(self, signum: int, frame: FrameType | None) -> None:
        """At `at`: stop the model being fitted, if another one is already there to fall back on.

        Only inside a model's fit, where AutoGluon expects the exception; never while it saves.
        """
        if self.fitting and self.trained:
            self.cut_short = True
            raise TimeLimitExceeded("the AutoML budget is spent")


@contextmanager
def wrap_up_at(at: float) -> Iterator[WrapUp]:
    """A `WrapUp` for `predictor.fit(callbacks=[...])`, its alarm set for `at` while in use."""
    wrap_up = WrapUp(at)
    previous = signal.signal(signal.SIGALRM, wrap_up.alarm)
    signal.setitimer(signal.ITIMER_REAL, max(at - time.time(), 0.001))
    try:
        yield wrap_up
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
