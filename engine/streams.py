"""``numpy.random.default_rng(seed)`` for many seeds at once, as arrays.

A variant draws its numbers from ``default_rng(seed)``: a SeedSequence hashes the seed into a
PCG64 state and increment, PCG64 steps a 128-bit linear congruential generator and outputs a
64-bit word per step (XSL-RR), ``random()`` maps a word to a double and ``permutation(n)`` draws
a Fisher-Yates shuffle with masked rejection on 32-bit halves of the words. Each is specified to
the bit (NumPy's stream compatibility), so they can be computed here for every seed of a batch
with array arithmetic: 128-bit numbers are (high, low) pairs of uint64 arrays, and the state
after ``n`` steps is ``A**n * s + S_n * inc`` (``S_n = 1 + A + ... + A**(n-1)``), so a row's next
``n`` words come from one table of constants instead of ``n`` calls. Making 2,000 generators
one by one costs some 100 ms; this costs about 1 ms, and the words are the same
(``tests/engine/test_streams.py`` holds them to ``default_rng`` seed by seed).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

__all__ = ["SeedStreams"]

_U64 = np.uint64
_LOW32 = _U64(0xFFFFFFFF)
_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
"""PCG64's 128-bit LCG multiplier."""
_TWO_128 = 1 << 128
_BLOCK = 4096
"""Numbers computed at once: blocks of a few thousand stay in cache (measured 5x faster than 48,000)."""

# SeedSequence's hash constants (O'Neill's seed_seq_fe, as NumPy's SeedSequence uses them)
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4


def _split(value: int) -> tuple[np.uint64, np.uint64]:
    return _U64(value >> 64), _U64(value & ((1 << 64) - 1))


def _mul64(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The full 128-bit product of two uint64 arrays, as (high, low)."""
    a0, a1 = a & _LOW32, a >> _U64(32)
    b0, b1 = b & _LOW32, b >> _U64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> _U64(32)) + (p01 & _LOW32) + (p10 & _LOW32)
    low = (middle << _U64(32)) | (p00 & _LOW32)
    high = p11 + (p01 >> _U64(32)) + (p10 >> _U64(32)) + (middle >> _U64(32))
    return high, low


def _mul128(ah: np.ndarray, al: np.ndarray, bh: np.ndarray, bl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a * b) mod 2**128 for (high, low) pairs (numpy's uint64 arithmetic wraps)."""
    high, low = _mul64(al, bl)
    return high + al * bh + ah * bl, low


def _add128(ah: np.ndarray, al: np.ndarray, bh: np.ndarray, bl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = al + bl
    return ah + bh + (low < al).astype(np.uint64), low


@functools.lru_cache(maxsize=32)
def _jumps(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``A**n`` and ``S_n`` for n = 0 .. count, as (high, low) uint64 arrays (read-only)."""
    powers, sums = [1], [0]
    for _ in range(count):
        sums.append((sums[-1] + powers[-1]) % _TWO_128)
        powers.append(powers[-1] * _MULTIPLIER % _TWO_128)
    arrays = tuple(
        np.array([part(v) for v in values], dtype=np.uint64)
        for values in (powers, sums)
        for part in (lambda v: v >> 64, lambda v: v & ((1 << 64) - 1))
    )
    for array in arrays:
        array.flags.writeable = False
    return arrays  # type: ignore[return-value]


def _jump_table(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # tables for a power of two at least ``count`` are cached and shared
    size = 1 << max(6, (count - 1).bit_length())
    return _jumps(size)


def _seed_sequence_states(seeds: np.ndarray) -> tuple[np.ndarray, ...]:
    """SeedSequence(seed).generate_state(4, uint64) for seeds below 2**63, as four uint64 arrays.

    A seed is its uint32 words, lowest first (one word below 2**32, two above); the pool's
    missing words hash as zeros, so both lengths hash the same way as [low, high, 0, 0]. The
    hash constant's sequence does not depend on the data, so each step is one array operation.
    """
    seeds = seeds.astype(np.uint64)
    entropy = [seeds & _LOW32, seeds >> _U64(32)]
    entropy += [np.zeros_like(seeds)] * (_POOL - len(entropy))
    # hashmix's multiplier steps by MULT_A at each call, whatever the data: the k-th call's pair
    # of constants is known in advance
    constants = [_INIT_A]
    for _ in range(_POOL * _POOL):
        constants.append((constants[-1] * _MULT_A) & 0xFFFFFFFF)
    calls = itertools.pairwise(constants)

    def hashmix(value: np.ndarray) -> np.ndarray:
        before, after = next(calls)
        mixed: np.ndarray = (value.astype(np.uint32) ^ np.uint32(before)) * np.uint32(after)
        return mixed ^ (mixed >> np.uint32(16))

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
        return result ^ (result >> np.uint32(16))

    pool = [hashmix(word) for word in entropy]
    for source in range(_POOL):
        for target in range(_POOL):
            if source != target:
                pool[target] = mix(pool[target], hashmix(pool[source]))
    words = []
    state = _INIT_B
    for n in range(2 * _POOL):
        value: np.ndarray = pool[n % _POOL] ^ np.uint32(state)
        state = (state * _MULT_B) & 0xFFFFFFFF
        value = value * np.uint32(state)
        words.append((value ^ (value >> np.uint32(16))).astype(np.uint64))
    return tuple(words[2 * n] | (words[2 * n + 1] << _U64(32)) for n in range(_POOL))


class SeedStreams:
    """The PCG64 stream of ``default_rng(seed)`` for every seed, advanced row by row.

    ``doubles(rows, n)`` reads the next ``n`` doubles of some rows without moving them, and
    ``advance(rows, steps)`` moves each row on by its own number of words, so that a row can
    read ahead and keep only what it used. ``permutations(n)`` is ``permutation(n)`` of every
    row at its place; it is the streams' last use (it leaves the rows where they were).
    """

    def __init__(self, seeds: np.ndarray) -> None:
        seeds = np.asarray(seeds, dtype=np.int64)
        if seeds.ndim != 1 or (seeds < 0).any():
            raise ValueError("seeds must be non-negative integers")
        s0, s1, i0, i1 = _seed_sequence_states(seeds)
        # pcg64 srandom: inc = (initseq << 1) | 1; state = 0; step; state += seed; step
        self.inc_high = (i0 << _U64(1)) | (i1 >> _U64(63))
        self.inc_low = (i1 << _U64(1)) | _U64(1)
        high, low = self._step(np.zeros_like(s0), np.zeros_like(s0), np.arange(len(seeds)))
        high, low = _add128(high, low, s0, s1)
        self.high, self.low = self._step(high, low, np.arange(len(seeds)))

    def __len__(self) -> int:
        return len(self.high)

    def _step(self, high: np.ndarray, low: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mh, ml = _split(_MULTIPLIER)
        high, low = _mul128(high, low, np.full_like(high, mh), np.full_like(low, ml))
        return _add128(high, low, self.inc_high[rows], self.inc_low[rows])

    def _jumped(self, rows: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The states ``steps`` words on from ``rows`` (``steps`` broadcasts against ``rows``)."""
        steps = np.asarray(steps, dtype=np.int64)
        ph, pl, sh, sl = _jump_table(int(steps.max(initial=0)) + 1)
        shape = np.broadcast_shapes(rows.shape, steps.shape)
        rows_b = np.broadcast_to(rows, shape)
        high, low = _mul128(self.high[rows_b], self.low[rows_b], ph[steps], pl[steps])
        ih, il = _mul128(self.inc_high[rows_b], self.inc_low[rows_b], sh[steps], sl[steps])
        return _add128(high, low, ih, il)

    def words(self, rows: np.ndarray, count: int, start: np.ndarray | int = 0) -> np.ndarray:
        """The 64-bit outputs ``start`` .. ``start + count - 1`` ahead of ``rows``, (rows, count).

        Rows are taken a block at a time: the 128-bit arithmetic makes a dozen temporaries per
        step, and arrays that stay in the processor's cache are several times faster."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = np.broadcast_to(np.asarray(start, dtype=np.int64), rows.shape)
        out = np.empty((len(rows), count), dtype=np.uint64)
        block = max(1, _BLOCK // max(count, 1))
        for first in range(0, len(rows), block):
            part = slice(first, first + block)
            ahead = starts[part].reshape(-1, 1) + np.arange(1, count + 1)
            high, low = self._jumped(rows[part, np.newaxis], ahead)
            # XSL-RR: xor the halves, rotate right by the top six bits
            x = high ^ low
            rotation = high >> _U64(58)
            out[part] = (x >> rotation) | (x << ((_U64(64) - rotation) & _U64(63)))
        return out

    def doubles(self, rows: np.ndarray, count: int) -> np.ndarray:
        """The next ``count`` doubles of ``rows`` (as ``Generator.random``), not advancing them."""
        return (self.words(rows, count) >> _U64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)

    def advance(self, rows: np.ndarray, steps: np.ndarray | int) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.high[rows], self.low[rows] = self._jumped(rows, np.broadcast_to(steps, rows.shape))

    def permutations(self, size: int) -> np.ndarray:
        """``Generator.permutation(size)`` for every row: (rows, size) int64.

        Fisher-Yates from the last position down; position ``i`` swaps with a draw ``j`` in
        [0, i], taken as the next 32-bit half word (low half first) masked to the bits of
        ``i`` and drawn again while above ``i``.
        """
        count = len(self)
        order = np.tile(np.arange(size, dtype=np.int64), (count, 1))
        if size < 2:
            return order
        rows = np.arange(count)
        available = 2 * size
        halves = self._halves(rows, available, 0)
        cursor = np.zeros(count, dtype=np.int64)
        for i in range(size - 1, 0, -1):
            mask = (1 << i.bit_length()) - 1
            drawn = np.empty(count, dtype=np.int64)
            pending = rows
            while len(pending):
                short = cursor[pending] >= halves.shape[1]
                if short.any():
                    more = self._halves(rows, available, available // 2)
                    halves = np.concatenate([halves, more], axis=1)
                    available *= 2
                value = halves[pending, cursor[pending]] & mask
                cursor[pending] += 1
                fits = value <= i
                drawn[pending[fits]] = value[fits]
                pending = pending[~fits]
            picked = order[rows, drawn]
            order[rows, drawn] = order[:, i]
            order[:, i] = picked
        return order

    def _halves(self, rows: np.ndarray, count: int, start: int) -> np.ndarray:
        """``count`` 32-bit halves from word ``start`` on: each word's low half, then its high."""
        words = self.words(rows, count // 2, start)
        halves = np.empty((len(rows), count), dtype=np.int64)
        halves[:, 0::2] = (words & _LOW32).astype(np.int64)
        halves[:, 1::2] = (words >> _U64(32)).astype(np.int64)
        return halves
