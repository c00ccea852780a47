"""The vectorised streams are ``numpy.random.default_rng(seed)``, word for word, seed by seed."""

from __future__ import annotations

import numpy as np
import pytest

from engine.streams import SeedStreams

SEEDS = np.array(
    [0, 1, 2, 5, 12345, 2**31 - 1, 2**32 - 1, 2**32, 2**32 + 1, 2**56 - 1, 2**62 + 12345,
     *range(100, 160)],
    dtype=np.int64,
)


def _state(streams: SeedStreams, row: int) -> tuple[int, int]:
    return ((int(streams.high[row]) << 64) | int(streams.low[row]),
            (int(streams.inc_high[row]) << 64) | int(streams.inc_low[row]))


def test_the_seeded_state_is_numpys() -> None:
    streams = SeedStreams(SEEDS)
    for row, seed in enumerate(SEEDS):
        state = np.random.default_rng(int(seed)).bit_generator.state["state"]
        assert _state(streams, row) == (state["state"], state["inc"]), int(seed)


def test_doubles_are_generator_random() -> None:
    streams = SeedStreams(SEEDS)
    expected = np.array([np.random.default_rng(int(s)).random(37) for s in SEEDS])
    assert np.array_equal(streams.doubles(np.arange(len(SEEDS)), 37), expected)


def test_reading_ahead_does_not_move_a_row_and_advancing_does() -> None:
    streams = SeedStreams(SEEDS)
    rows = np.arange(len(SEEDS))
    steps = rows % 7
    first = streams.doubles(rows, 3)
    assert np.array_equal(streams.doubles(rows, 3), first)
    streams.advance(rows, steps)
    expected = []
    for seed, step in zip(SEEDS, steps, strict=True):
        rng = np.random.default_rng(int(seed))
        rng.random(int(step))
        expected.append(rng.random(5))
    assert np.array_equal(streams.doubles(rows, 5), np.array(expected))


def test_some_rows_advance_alone() -> None:
    streams = SeedStreams(SEEDS[:4])
    streams.advance(np.array([2]), 10)
    rng = np.random.default_rng(int(SEEDS[2]))
    rng.random(10)
    assert np.array_equal(streams.doubles(np.array([2]), 2)[0], rng.random(2))
    assert np.array_equal(streams.doubles(np.array([0]), 2)[0], np.random.default_rng(int(SEEDS[0])).random(2))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 8, 13, 26])
def test_permutations_are_generator_permutation(size: int) -> None:
    streams = SeedStreams(SEEDS)
    streams.advance(np.arange(len(SEEDS)), 3)
    expected = []
    for seed in SEEDS:
        rng = np.random.default_rng(int(seed))
        rng.random(3)
        expected.append(rng.permutation(size))
    assert np.array_equal(streams.permutations(size), np.array(expected).reshape(len(SEEDS), size))


def test_negative_seeds_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        SeedStreams(np.array([1, -1]))
