"""Parameter declarations: how each student's numbers are drawn.

Every parameter is drawn from the attempt's seeded generator, in declaration order, with one of:

- ``uniform: [low, high]`` and an optional ``step`` (values on the grid low, low+step, ..., high);
- ``integers: [low, high]`` (both ends included);
- ``choice: [a, b, c]`` (one of the listed numbers);
- ``value: x`` (a fixed number or list: a constant that authors still want named).

``size: K`` draws a vector of K values instead of one.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.items.limits import MAX_CHOICES, at_most

__all__ = ["MAX_PARAM_SIZE", "ParamSpec"]

MAX_PARAM_SIZE = 64
"""Most numbers one parameter holds (its ``size``, or a fixed ``value`` list's length) [5]."""
MAX_GRID = 10_000_000

Number = Annotated[float, Field(allow_inf_nan=False)]


class ParamSpec(BaseModel):
    """One parameter's distribution. Exactly one of uniform, integers, choice, value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uniform: tuple[Number, Number] | None = None
    step: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    integers: tuple[int, int] | None = None
    choice: Annotated[tuple[Number, ...], at_most(MAX_CHOICES, "choices")] | None = None
    value: Number | Annotated[tuple[Number, ...], at_most(MAX_PARAM_SIZE, "numbers in a value")] | None = None
    size: Annotated[int, Field(ge=1, le=MAX_PARAM_SIZE)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k in ("uniform", "integers", "choice", "value") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("declare exactly one of uniform, integers, choice or value")
        if self.step is not None and self.uniform is None:
            raise ValueError("step goes with uniform")
        if self.uniform is not None:
            self._check_grid(*self.uniform)
        if self.integers is not None and not self.integers[0] <= self.integers[1]:
            raise ValueError("integers needs low <= high")
        if self.choice is not None and len(self.choice) == 0:
            raise ValueError("choice needs at least one value")
        if self.value is not None and self.size is not None:
            raise ValueError("a fixed value takes no size (write the list)")
        return self

    def _check_grid(self, low: float, high: float) -> None:
        if not low < high:
            raise ValueError("uniform needs low < high")
        if self.step is not None:
            count = (high - low) / self.step
            if count > MAX_GRID:
                raise ValueError(f"the step makes more than {MAX_GRID} grid points")
            if abs(count - round(count)) > 1e-9 * max(1.0, count):
                raise ValueError("the step must divide high - low")

    @property
    def shape(self) -> tuple[int, ...]:
        if isinstance(self.value, tuple):
            return (len(self.value),)
        return () if self.size is None else (self.size,)

    @property
    def decimals(self) -> int | None:
        """Decimal places of the step grid, so 0.1 * 3 prints as 0.3, not 0.30000000000000004."""
        if self.step is None or self.uniform is None:
            return None
        places = [
            -int(Decimal(repr(x)).normalize().as_tuple().exponent)
            for x in (self.step, self.uniform[0])
        ]
        return max(0, *places)

    @property
    def width(self) -> int:
        """How many uniform numbers one draw consumes (0 for a fixed value)."""
        return 0 if self.value is not None else math.prod(self.shape)

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Draws for a batch from uniforms ``u`` in [0, 1), shape (B, width).

        Every distribution is a deterministic map of the generator's doubles, so a variant
        depends only on the seed and needs one generator call per draw, whatever the parameters.
        """
        batch = u.shape[0]
        shape = (batch, *self.shape)
        if self.value is not None:
            return np.broadcast_to(np.array(self.value, dtype=np.float64), shape).copy()
        u = u.reshape(shape)
        if self.integers is not None:
            first, last = self.integers
            return first + np.floor(u * (last - first + 1))
        if self.choice is not None:
            picks = np.floor(u * len(self.choice)).astype(np.int64)
            return np.asarray(self.choice, dtype=np.float64)[picks]
        assert self.uniform is not None
        low, high = self.uniform
        if self.step is None:
            return low + u * (high - low)
        count = round((high - low) / self.step) + 1
        ticks = np.floor(u * count)
        values = low + ticks * self.step
        decimals = self.decimals
        return np.round(values, decimals) if decimals is not None else values

    @property
    def is_random(self) -> bool:
        return self.value is None and not (
            (self.choice is not None and len(self.choice) == 1)
            or (self.integers is not None and self.integers[0] == self.integers[1])
        )

    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        if self.value is not None:
            values = self.value if isinstance(self.value, tuple) else (self.value,)
            return min(values), max(values)
        if self.integers is not None:
            return float(self.integers[0]), float(self.integers[1])
        if self.choice is not None:
            return min(self.choice), max(self.choice)
        assert self.uniform is not None
        return self.uniform
