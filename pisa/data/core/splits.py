"""Splits shared by every adapter: a validation split carved from the training
performances, grouped and stratified, and the per-level counts a run prints.

The carve is grouped by each performance's ``performer`` (the pianist, the diver, ...;
the performance itself when the annotation does not say), so no performer is on both
sides, and stratified by level (``label``; for score datasets by quantile bins of
``score``), so that every level keeps most of its training data: a level gives at most
its share of the carve (in performances, rounded up), never more than half of its frames
(``num_frames`` where annotated, else one per performance) and never its last training
performer. :func:`nested_fraction` takes nested training subsets (learning curves), grouped
and stratified the same way.
"""
from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from typing import Any, Dict, List, Sequence, Tuple, Union

import numpy as np

Amount = Union[int, float]


class SplitWarning(UserWarning):
    """A validation carve could not keep every level in training."""

#: quantile bins a score dataset is stratified by
SCORE_BINS = 5


def performer_of(perf: Dict[str, Any]) -> str:
    """What the carve groups by: the record's ``performer``, else its ``perf_id``."""
    performer = perf.get("performer")
    return str(performer) if performer not in (None, "") else str(perf["perf_id"])


def strata(perfs: Sequence[Dict[str, Any]]) -> List[Any]:
    """The stratum of each performance: its level, or for score datasets (label -1) the
    quantile bin of its score."""
    labels = [int(p.get("label", -1)) for p in perfs]
    if all(label >= 0 for label in labels):
        return labels
    scores = np.asarray([float(p.get("score", 0.0)) for p in perfs])
    edges = np.quantile(scores, np.linspace(0, 1, SCORE_BINS + 1)[1:-1])
    return [int(b) for b in np.searchsorted(edges, scores, side="right")]


def _wanted(amount: Amount, total: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
        raise ValueError(f"val_performances must be a count >= 1 or a fraction in (0, 1), got {amount!r}")
    if isinstance(amount, float):
        if not amount < 1:
            raise ValueError(f"val_performances={amount!r}: a fraction must be below 1")
        return max(1, int(round(amount * total)))
    return int(amount)


def carve_validation(perfs: Sequence[Dict[str, Any]], amount: Amount,
                     seed: int = 0) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Split training performances into ``(train, val)``: up to ``amount`` performances
    (a count, or a fraction of ``perfs``) go to val, whole performers at a time, chosen
    with ``seed``, under the module docstring's limits (first with the per-level share,
    then without it; fewer than ``amount`` when the limits allow no more; when they allow
    none at all, one performer with a :class:`SplitWarning`). Raises ``ValueError`` when
    the amount leaves no train or no val performances."""
    perfs = list(perfs)
    want = _wanted(amount, len(perfs))
    if not 0 < want < len(perfs):
        raise ValueError(f"val_performances={amount!r} leaves no train or no val performances "
                         f"(train has {len(perfs)})")
    stratum = strata(perfs)
    members: Dict[str, List[int]] = defaultdict(list)
    for i, perf in enumerate(perfs):
        members[performer_of(perf)].append(i)
    share = want / len(perfs)
    quota = {s: int(np.ceil(share * n)) for s, n in Counter(stratum).items()}
    weight = [float(p.get("num_frames") or 1) for p in perfs]
    total_w: Counter = Counter()
    for s, w in zip(stratum, weight):
        total_w[s] += w
    taken_w: Counter = Counter()
    performers_left = Counter()  # stratum -> training performers holding it
    for indices in members.values():
        for s in {stratum[i] for i in indices}:
            performers_left[s] += 1
    order = sorted(members)
    np.random.default_rng(seed).shuffle(order)
    taken: Counter = Counter()
    val: set = set()
    for relaxed in (False, True):  # the quotas first; then fill up to `want` without them
        for performer in order:
            if len(val) >= want:
                break
            indices = members[performer]
            if indices[0] in val:
                continue
            counts = Counter(stratum[i] for i in indices)
            weights: Counter = Counter()
            for i in indices:
                weights[stratum[i]] += weight[i]
            if any(performers_left[s] <= 1 for s in counts):
                continue  # a level's last training performer stays in train
            if any(taken_w[s] + w > 0.5 * total_w[s] for s, w in weights.items()):
                continue  # nor most of a level's frames
            if not relaxed and any(taken[s] + c > quota[s] for s, c in counts.items()):
                continue
            val.update(indices)
            taken.update(counts)
            taken_w.update(weights)
            for s in counts:
                performers_left[s] -= 1
    if not val:  # too few performers per level for the limits: one performer, with a warning
        performer = order[0]
        warnings.warn(f"val_performances={amount!r}: every performer holds the last training "
                      f"performance (or most of the frames) of some level; carving {performer!r} "
                      "regardless, so that level is missing from training", SplitWarning,
                      stacklevel=2)
        val.update(members[performer])
    return ([p for i, p in enumerate(perfs) if i not in val],
            [p for i, p in enumerate(perfs) if i in val])


def assign_folds(perfs: Sequence[Dict[str, Any]], folds: int, seed: int = 0) -> List[int]:
    """The fold (``0..folds-1``) of each performance for ``folds``-fold cross-validation:
    whole performers to one fold, each stratum dealt out evenly over the folds (a
    performer goes to the fold holding fewest of its stratum, then fewest in all), the
    order shuffled with ``seed``. Raises ``ValueError`` with fewer performers than folds."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    stratum = strata(perfs)
    members: Dict[str, List[int]] = defaultdict(list)
    for i, perf in enumerate(perfs):
        members[performer_of(perf)].append(i)
    if len(members) < folds:
        raise ValueError(f"folds={folds}: only {len(members)} performers to spread over them")
    order = sorted(members)
    np.random.default_rng(seed).shuffle(order)
    # the largest performers first, so the folds end up even in size
    order.sort(key=lambda g: -len(members[g]))
    per_fold = [Counter() for _ in range(folds)]
    sizes = [0] * folds
    fold_of = [0] * len(perfs)
    for performer in order:
        indices = members[performer]
        main = Counter(stratum[i] for i in indices).most_common(1)[0][0]
        target = min(range(folds), key=lambda f: (per_fold[f][main], sizes[f], f))
        for i in indices:
            fold_of[i] = target
            per_fold[target][stratum[i]] += 1
        sizes[target] += len(indices)
    return fold_of


def check_fraction(fraction: Any, what: str = "train_fraction") -> float:
    """``fraction`` as a float in (0, 1]; raises ``ValueError`` naming ``what`` otherwise."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"{what} must be a number in (0, 1], got {fraction!r}")
    return float(fraction)


def nested_fraction(perfs: Sequence[Dict[str, Any]], fraction: float,
                    seed: int = 0) -> List[Dict[str, Any]]:
    """The first ``fraction`` of ``perfs`` in one seeded order of their performers: whole
    performers, taken until at least ``ceil(fraction * len(perfs))`` performances are in,
    in the order of ``perfs``.

    The order is stratified: each stratum's performers (a performer counts in the stratum
    of most of its performances) are shuffled with ``seed`` and spread evenly over the
    order (the ``r``-th of ``n`` sits at ``(r + 0.5) / n``), so every prefix holds each
    level in about its share. For one ``seed`` the subsets are nested (a smaller fraction
    is a prefix of the same order) and depend only on the performances given, not on
    their order. ``fraction=1`` returns all of them."""
    fraction = check_fraction(fraction)
    perfs = list(perfs)
    if fraction == 1.0 or not perfs:
        return perfs
    stratum = strata(perfs)
    members: Dict[str, List[int]] = defaultdict(list)
    for i, perf in enumerate(perfs):
        members[performer_of(perf)].append(i)
    main: Dict[Any, List[str]] = defaultdict(list)
    for performer in sorted(members):
        counts = Counter(stratum[i] for i in members[performer])
        main[max(counts, key=lambda s: (counts[s], -s))].append(performer)
    rng = np.random.default_rng(seed)
    keyed = []
    for s in sorted(main):
        performers = list(main[s])
        rng.shuffle(performers)
        n = len(performers)
        # ties between strata (equal positions) broken at random too
        keyed += [((r + 0.5) / n, float(rng.random()), p) for r, p in enumerate(performers)]
    want = int(np.ceil(fraction * len(perfs) - 1e-9))
    chosen: set = set()
    for _, _, performer in sorted(keyed):
        if len(chosen) >= want:
            break
        chosen.update(members[performer])
    return [p for i, p in enumerate(perfs) if i in chosen]


def level_counts(records: Sequence[Dict[str, Any]]) -> Dict[str, int]:
    """Samples per level (``'1'``, ``'2'``, ...; 1-based as every report), or per
    ``'score'`` for score samples, of a dataset's sample records."""
    counts: Counter = Counter()
    for record in records:
        label = int(record.get("label", -1))
        counts["score" if label < 0 else str(label + 1)] += 1
    return {k: counts[k] for k in sorted(counts, key=lambda k: (k == "score", int(k) if k.isdigit() else 0))}
