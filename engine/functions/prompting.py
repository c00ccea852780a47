"""Prompting (Ch.3): the arithmetic of self-consistency voting and of retrieval for RAG.

Self-consistency samples k chains of thought and answers with the most frequent final answer.
When each sample is right with probability p independently, the vote is right with the
probability :func:`majority_vote_accuracy` gives (two answers, right or wrong: a binomial tail,
Condorcet's jury theorem) or :func:`plurality_vote_accuracy` gives (the wrong samples spread over
several wrong answers, which split their votes). Ties are broken uniformly at random, so a tie
between the right answer and one wrong one is worth half.

Retrieval-augmented generation puts the top k retrieved passages into the prompt; the ranked list
is judged by :func:`precision_at_k`, :func:`recall_at_k`, :func:`reciprocal_rank` and
:func:`ndcg_at_k`, each over the last axis of a vector of relevance judgements in rank order.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import numpy.typing as npt

from engine.functions._util import FloatArray, as_float64, broadcast_rows, require, require_axis, result

MAX_MAJORITY_SAMPLES = 1001
"""Most samples ``majority_vote_accuracy`` takes: its binomial sum has k + 1 terms per value."""
MAX_PLURALITY_SAMPLES = 15
"""Most samples ``plurality_vote_accuracy`` takes: it sums over every way of splitting k votes
among the answers (816 splits of 15 votes among 4 answers, 3,876 among 5)."""
MAX_PLURALITY_ANSWERS = 5
"""Most distinct answers (the right one and the wrong ones) ``plurality_vote_accuracy`` takes."""
_ROWS_PER_CHUNK = 512

# log(n!) for n = 0..MAX_MAJORITY_SAMPLES, each from math.lgamma (correctly rounded to ~1 ulp).
_LOG_FACTORIAL = np.array([math.lgamma(n + 1.0) for n in range(MAX_MAJORITY_SAMPLES + 1)])


def _sample_counts(k: FloatArray, name: str, most: int) -> FloatArray:
    require(np.isfinite(k) & (k >= 1) & (k == np.round(k)), name, "must be a whole number >= 1", k)
    require(k <= most, name, f"must be at most {most}", k)
    return k


def _xlogy(count: FloatArray, p: FloatArray) -> FloatArray:
    """count * log(p), with 0 * log(0) = 0 (no samples of an answer that never comes up)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count == 0, 0.0, count * np.log(p))


def _tie_credit(wrong_votes: FloatArray, correct_votes: FloatArray) -> FloatArray:
    """1 when the right answer has strictly the most votes; 1/(t + 1) when it shares the most
    with t wrong answers (a tie broken uniformly at random); 0 when a wrong answer has more."""
    ahead = np.max(wrong_votes, axis=-1) <= correct_votes
    tied = np.sum(wrong_votes == correct_votes[..., None], axis=-1)
    return np.where(ahead, 1.0 / (tied + 1.0), 0.0)


def majority_vote_accuracy(p: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    r"""Probability that a majority vote of k independent samples is right (self-consistency).

    .. math::

        P = \sum_{j > k/2} \binom{k}{j} p^j (1-p)^{k-j} + \tfrac{1}{2}\binom{k}{k/2} p^{k/2}(1-p)^{k/2}

    Each sample is right with probability :math:`p` and otherwise gives the one wrong answer; the
    vote is right when more than half the samples are, and a tie (even :math:`k`) is broken by a
    fair coin, hence the half. Above :math:`p = 1/2` the vote beats one sample and tends to 1 as
    :math:`k` grows; below it, voting makes things worse (Condorcet's jury theorem).

    Parameters
    ----------
    p : array_like
        Accuracy of one sample, in [0, 1].
    k : array_like
        Number of samples, a whole number from 1 to 1001.

    Returns
    -------
    numpy.ndarray
        float64 probabilities in [0, 1], of the broadcast shape of the inputs.

    References
    ----------
    .. [1] Marquis de Condorcet, "Essai sur l'application de l'analyse à la probabilité des
       décisions rendues à la pluralité des voix", 1785 (the jury theorem).
    .. [2] X. Wang et al., "Self-consistency improves chain of thought reasoning in language
       models", ICLR 2023 (majority vote over sampled reasoning paths).

    Examples
    --------
    Three samples each right 60% of the time: :math:`0.6^3 + 3 \cdot 0.6^2 \cdot 0.4 = 0.648`.

    >>> from engine.functions import majority_vote_accuracy
    >>> majority_vote_accuracy(0.6, [1, 3, 4]).round(6)
    array([0.6  , 0.648, 0.648])
    """
    p_arr = as_float64(p, "p")
    require((p_arr >= 0) & (p_arr <= 1), "p", "must be a probability in [0, 1]", p_arr)
    k_arr = _sample_counts(as_float64(k, "k"), "k", MAX_MAJORITY_SAMPLES)
    p_arr, k_arr = np.broadcast_arrays(p_arr, k_arr)
    out = np.empty(p_arr.shape)
    # One binomial sum per distinct k, of exactly k + 1 terms, so that a value never depends on
    # which other values share its batch (a padded sum would round differently).
    for votes in np.unique(k_arr).astype(np.int64):
        rows = k_arr == votes
        j = np.arange(votes + 1)
        log_binomial = _LOG_FACTORIAL[votes] - _LOG_FACTORIAL[j] - _LOG_FACTORIAL[votes - j]
        weight = np.where(2 * j > votes, 1.0, np.where(2 * j == votes, 0.5, 0.0))
        pp = p_arr[rows][:, None]
        log_term = log_binomial + _xlogy(j.astype(np.float64), pp) + _xlogy((votes - j).astype(np.float64), 1.0 - pp)
        out[rows] = np.minimum(np.sum(weight * np.exp(log_term), axis=-1), 1.0)
    return result(out)


@functools.cache
def _splits(k: int, answers: int) -> npt.NDArray[np.int64]:
    """Every way of splitting k votes among the answers: shape (splits, answers)."""
    rows = [
        np.diff(np.array((-1, *bars, k + answers - 1))) - 1
        for bars in itertools.combinations(range(k + answers - 1), answers - 1)
    ]
    splits = np.array(rows, dtype=np.int64).reshape(-1, answers)
    splits.setflags(write=False)
    return splits


def plurality_vote_accuracy(probs: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    r"""Probability that the most frequent of k sampled answers is the right one, among several.

    .. math::

        P = \sum_{n_0 + \dots + n_{m-1} = k} \frac{k!}{\prod_i n_i!} \prod_i q_i^{n_i}
            \cdot \frac{\mathbb{1}[n_0 = \max_i n_i]}{\#\{i : n_i = n_0\}}

    Each sample gives answer :math:`i` with probability :math:`q_i`; answer 0 is the right one.
    The vote picks the answer with the most votes and breaks a tie uniformly at random, so a tie
    of the right answer with :math:`t` wrong ones is worth :math:`1/(t+1)`. Wrong samples that
    spread over several wrong answers split their votes: the vote can be right with fewer than
    half the samples right. With two answers this is :func:`majority_vote_accuracy`.

    Parameters
    ----------
    probs : array_like
        Shape (..., m), 2 <= m <= 5: the probability of each answer, the right one first; each row
        sums to 1 (within 1e-9, then normalised).
    k : array_like
        Number of samples, a whole number from 1 to 15, broadcast against the rows.

    Returns
    -------
    numpy.ndarray
        float64 probabilities in [0, 1], of shape (...).

    References
    ----------
    .. [1] X. Wang et al., "Self-consistency improves chain of thought reasoning in language
       models", ICLR 2023 (majority vote over sampled reasoning paths).
    .. [2] W. Feller, *An Introduction to Probability Theory and Its Applications*, vol. 1, 3rd
       ed., 1968, sec. VI.9 (the multinomial distribution).

    Examples
    --------
    Each sample is right 40% of the time and picks one of three wrong answers 20% of the time
    each: one sample is right 40% of the time, a vote of five 50.9%.

    >>> from engine.functions import plurality_vote_accuracy
    >>> plurality_vote_accuracy([0.4, 0.2, 0.2, 0.2], [1, 5]).round(4)
    array([0.4   , 0.5094])
    """
    q = as_float64(probs, "probs")
    axis = require_axis(q, "probs", min_length=2)
    q = np.moveaxis(q, axis, -1)
    answers = q.shape[-1]
    if answers > MAX_PLURALITY_ANSWERS:
        raise ValueError(f"probs takes at most {MAX_PLURALITY_ANSWERS} answers, got {answers}")
    require((q >= 0) & (q <= 1), "probs", "must be probabilities in [0, 1]", q)
    total = np.sum(q, axis=-1)
    require(np.abs(total - 1.0) <= 1e-9, "probs", "must sum to 1 along the last axis", total)
    q = q / total[..., None]
    k_arr = _sample_counts(as_float64(k, "k"), "k", MAX_PLURALITY_SAMPLES)
    rows, (k_rows,) = broadcast_rows(q, k_arr)
    out = np.empty(rows.shape[:-1])
    flat_rows, flat_k, flat_out = rows.reshape(-1, answers), k_rows.reshape(-1), out.reshape(-1)
    for votes in np.unique(flat_k).astype(np.int64):
        splits = _splits(int(votes), answers)
        log_multinomial = _LOG_FACTORIAL[votes] - np.sum(_LOG_FACTORIAL[splits], axis=-1)
        credit = _tie_credit(splits[:, 1:].astype(np.float64), splits[:, 0].astype(np.float64))
        keep = credit > 0  # splits in which a wrong answer leads add nothing
        counts = splits[keep].astype(np.float64)
        weight = credit[keep]
        (index,) = np.nonzero(flat_k == votes)
        for start in range(0, index.size, _ROWS_PER_CHUNK):
            chunk = index[start:start + _ROWS_PER_CHUNK]
            q_chunk = flat_rows[chunk][:, None, :]
            log_pmf = log_multinomial[keep] + np.sum(_xlogy(counts, q_chunk), axis=-1)
            flat_out[chunk] = np.minimum(np.sum(np.exp(log_pmf) * weight, axis=-1), 1.0)
    return result(out)


def _ranked(relevance: npt.ArrayLike, name: str) -> FloatArray:
    rel = as_float64(relevance, name)
    require_axis(rel, name)
    require(np.isfinite(rel) & (rel >= 0), name, "must be relevance judgements >= 0", rel)
    return rel


def _cutoff(k: npt.ArrayLike) -> FloatArray:
    k_arr = as_float64(k, "k")
    require(np.isfinite(k_arr) & (k_arr >= 1) & (k_arr == np.round(k_arr)), "k",
            "must be a whole number >= 1", k_arr)
    return k_arr


def _hits_in_top(relevance: FloatArray, k: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The number of relevant results among the first k of each row, and k per row."""
    rows, (k_rows,) = broadcast_rows(relevance, k)
    rank = np.arange(1, rows.shape[-1] + 1, dtype=np.float64)
    hits = np.sum((rows > 0) & (rank <= k_rows[..., None]), axis=-1).astype(np.float64)
    return hits, k_rows


def precision_at_k(relevant: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    r"""Precision at k: the share of the first k retrieved results that are relevant.

    .. math::

        \mathrm{P@}k = \frac{1}{k}\sum_{i=1}^{k} \mathbb{1}[\mathrm{rel}_i > 0]

    A list shorter than k counts its missing places as not relevant (the divisor stays k).

    Parameters
    ----------
    relevant : array_like
        Shape (..., n): relevance of the results in rank order (0 = not relevant; any positive
        grade counts as relevant).
    k : array_like
        Cut-off, a whole number >= 1, broadcast against the rows.

    Returns
    -------
    numpy.ndarray
        float64 precisions in [0, 1], of shape (...).

    References
    ----------
    .. [1] C. D. Manning, P. Raghavan and H. Schütze, *Introduction to Information Retrieval*,
       Cambridge University Press, 2008, sec. 8.4.

    Examples
    --------
    >>> from engine.functions import precision_at_k
    >>> precision_at_k([1, 0, 1, 1, 0], [1, 3, 5]).round(4)
    array([1.    , 0.6667, 0.6   ])
    """
    hits, k_rows = _hits_in_top(_ranked(relevant, "relevant"), _cutoff(k))
    return result(hits / k_rows)


def recall_at_k(relevant: npt.ArrayLike, k: npt.ArrayLike, n_relevant: npt.ArrayLike) -> FloatArray:
    r"""Recall at k: the share of all relevant documents found among the first k results.

    .. math::

        \mathrm{R@}k = \frac{1}{R}\sum_{i=1}^{k} \mathbb{1}[\mathrm{rel}_i > 0]

    :math:`R` counts every relevant document in the collection, including those the retriever
    never returned, so it may exceed the number of relevant results in the list.

    Parameters
    ----------
    relevant : array_like
        Shape (..., n): relevance of the results in rank order (0 = not relevant).
    k : array_like
        Cut-off, a whole number >= 1, broadcast against the rows.
    n_relevant : array_like
        :math:`R`, the number of relevant documents in the collection, at least the number of
        relevant results in the list and at least 1.

    Returns
    -------
    numpy.ndarray
        float64 recalls in [0, 1], of shape (...).

    References
    ----------
    .. [1] C. D. Manning, P. Raghavan and H. Schütze, *Introduction to Information Retrieval*,
       Cambridge University Press, 2008, sec. 8.3.

    Examples
    --------
    Four relevant passages exist; the list finds three of them, at ranks 1, 3 and 4:

    >>> from engine.functions import recall_at_k
    >>> recall_at_k([1, 0, 1, 1, 0], [1, 3, 5], 4)
    array([0.25, 0.5 , 0.75])
    """
    rel = _ranked(relevant, "relevant")
    total = as_float64(n_relevant, "n_relevant")
    require(np.isfinite(total) & (total >= 1) & (total == np.round(total)), "n_relevant",
            "must be a whole number >= 1", total)
    rows, (k_rows, total_rows) = broadcast_rows(rel, _cutoff(k), total)
    in_list = np.sum(rows > 0, axis=-1)
    require(total_rows >= in_list, "n_relevant",
            "must be at least the number of relevant results in the list", total)
    hits, _ = _hits_in_top(rows, k_rows)
    return result(hits / total_rows)


def reciprocal_rank(relevant: npt.ArrayLike) -> FloatArray:
    r"""Reciprocal rank: one over the rank of the first relevant result (0 when there is none).

    .. math::

        \mathrm{RR} = \frac{1}{\min\{i : \mathrm{rel}_i > 0\}}

    The mean of the reciprocal ranks of a set of queries is their mean reciprocal rank (MRR).

    Parameters
    ----------
    relevant : array_like
        Shape (..., n): relevance of the results in rank order (0 = not relevant).

    Returns
    -------
    numpy.ndarray
        float64 reciprocal ranks in [0, 1], of shape (...).

    References
    ----------
    .. [1] E. M. Voorhees, "The TREC-8 question answering track report", TREC 1999 (mean
       reciprocal rank).

    Examples
    --------
    Three queries whose first relevant answer is at rank 3, 2 and 1 (MRR = 11/18):

    >>> from engine.functions import reciprocal_rank
    >>> rr = reciprocal_rank([[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    >>> rr.round(4), rr.mean().round(4)
    (array([0.3333, 0.5   , 1.    ]), np.float64(0.6111))
    """
    rel = _ranked(relevant, "relevant") > 0
    first = np.argmax(rel, axis=-1).astype(np.float64) + 1.0
    return result(np.where(np.any(rel, axis=-1), 1.0 / first, 0.0))


def ndcg_at_k(gains: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    r"""Normalised discounted cumulative gain at k, with the list's own ideal order.

    .. math::

        \mathrm{nDCG@}k = \frac{\sum_{i=1}^{k} g_i / \log_2(i + 1)}{\sum_{i=1}^{k} g^*_i / \log_2(i + 1)}

    :math:`g_i` is the graded relevance at rank :math:`i` and :math:`g^*` the same gains sorted
    from the highest down (the ideal order of the judged results). A list with no gain at all
    scores 0.

    Parameters
    ----------
    gains : array_like
        Shape (..., n): graded relevance (>= 0) of the results in rank order.
    k : array_like
        Cut-off, a whole number >= 1, broadcast against the rows.

    Returns
    -------
    numpy.ndarray
        float64 values in [0, 1], of shape (...).

    References
    ----------
    .. [1] K. Järvelin and J. Kekäläinen, "Cumulated gain-based evaluation of IR techniques",
       ACM Transactions on Information Systems 20(4), 2002.

    Examples
    --------
    >>> from engine.functions import ndcg_at_k
    >>> print(ndcg_at_k([3, 2, 3, 0, 1, 2], 6).round(4))
    0.9608
    """
    g = _ranked(gains, "gains")
    rows, (k_rows,) = broadcast_rows(g, _cutoff(k))
    discount = 1.0 / np.log2(np.arange(2, rows.shape[-1] + 2, dtype=np.float64))
    in_top = np.arange(1, rows.shape[-1] + 1) <= k_rows[..., None]
    dcg = np.sum(rows * discount * in_top, axis=-1)
    ideal = np.sum(-np.sort(-rows, axis=-1) * discount * in_top, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return result(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0))
