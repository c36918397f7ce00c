"""Machinery of notebooks 02, 03 and 06-11 (and ``benchmarks/``); not needed to follow the series.

Tables of benchmark results: the one CSV reader, spreads over seeds and paired comparisons.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "bootstrap_images",
    "format_p",
    "format_table",
    "paired",
    "paired_table",
    "per_seed",
    "read_csv",
    "spread",
    "spread_table",
    "verdict",
]


def _value(text: str):
    """A CSV cell as bool, int, float (empty: NaN) or, failing those, str."""
    if text in ("True", "False"):
        return text == "True"
    if text == "":
        return float("nan")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_csv(path: str | Path, columns: bool = False) -> list[dict] | dict[str, np.ndarray]:
    r"""The rows of a benchmark CSV, skipping the ``#`` lines that say how it was made.

    Returns a list of dicts of bool, int, float (an empty cell: NaN) or str; with
    ``columns``, one array per column: bool, int, float (mixed numbers, or empty cells as NaN) or str.
    Raises ValueError naming the file if it has no rows.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "r.csv"
    ...     _ = path.write_text("# made by hand\ntask,seed,map\ntiles,0,0.5\n")
    ...     read_csv(path), read_csv(path, columns=True)["map"].tolist()
    ([{'task': 'tiles', 'seed': 0, 'map': 0.5}], [0.5])
    """
    with open(path, newline="") as f:
        rows = [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(line for line in f if line[0] != "#")]
    if not rows:
        raise ValueError(f"{path}: no rows")
    if not columns:
        return rows
    out = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        kinds = {bool if isinstance(v, bool) else int if isinstance(v, int) else type(v) for v in values}
        dtype = {frozenset({bool}): bool, frozenset({int}): np.int64, frozenset({float}): np.float64}.get(
            frozenset(kinds),
            np.float64 if kinds <= {bool, int, float} else None,  # with empty cells: NaN
        )
        out[key] = np.array(values, dtype=dtype) if dtype else np.array([str(v) for v in values])
    return out


def spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of per-seed scores."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def paired(a, b, level: float = 0.95) -> dict[str, float]:
    """Compare two variants scored on the same seeds: the per-seed differences ``a - b`` and two paired tests.

    Returns ``diff`` (mean), ``sd``, ``wins`` (seeds where ``a > b``), ``n``, ``t_p``
    (:func:`scipy.stats.ttest_rel`), ``low`` and ``high`` (its two-sided ``level``
    interval of the mean difference, ``n - 1`` degrees of freedom) and ``wilcoxon_p``;
    a p-value is NaN, and the interval is ``diff`` to ``diff``, when every difference is the same.

    Examples
    --------
    >>> r = paired([0.5, 0.6, 0.7, 0.6, 0.55], [0.4, 0.45, 0.5, 0.5, 0.5])
    >>> round(r["diff"], 3), r["wins"], round(r["t_p"], 4), r["wilcoxon_p"]
    (0.12, 5, 0.0093, 0.0625)
    >>> round(r["low"], 3), round(r["high"], 3)
    (0.049, 0.191)
    """
    from scipy.stats import ttest_rel, wilcoxon

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired scores must be two 1-D arrays of the same length >= 2, got {a.shape} and {b.shape}")
    d = a - b
    constant = np.allclose(d, d[0])
    test = None if constant else ttest_rel(a, b)
    low, high = (d.mean(), d.mean()) if constant else test.confidence_interval(level)
    return {
        "diff": float(d.mean()),
        "sd": float(d.std(ddof=1)),
        "wins": int((d > 0).sum()),
        "n": len(d),
        "t_p": float("nan") if constant else float(test.pvalue),
        "low": float(low),
        "high": float(high),
        "wilcoxon_p": float("nan") if not d.any() else float(wilcoxon(a, b).pvalue),
    }


def verdict(p, agree):
    """The series' rule for a paired comparison: ``"clear"``, ``"a hint"`` or ``"not measurable"``.

    Clear when ``p <= 0.010`` (unrounded) and ``agree`` (every seed's difference has the same sign); a hint
    when ``p < 0.05`` otherwise; not measurable when ``p >= 0.05`` or NaN. Elementwise for arrays (an
    array of str), a str for scalars.

    Examples
    --------
    >>> verdict(0.004, True), verdict(0.004, False), verdict(0.2, True)
    ('clear', 'a hint', 'not measurable')
    >>> verdict([0.010, 0.03, float("nan")], [True, True, True]).tolist()
    ['clear', 'a hint', 'not measurable']
    """
    p, agree = np.asarray(p, dtype=np.float64), np.asarray(agree, dtype=bool)
    labels = np.where((p <= 0.010) & agree, "clear", np.where(p < 0.05, "a hint", "not measurable"))
    return str(labels) if labels.ndim == 0 else labels


def bootstrap_images(
    columns: Mapping[str, np.ndarray],
    a: Mapping,
    b: Mapping,
    measure: str,
    *,
    images: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    resamples: int = 10_000,
    level: float = 0.95,
    rng: int | np.random.Generator = 0,
    **where,
) -> dict:
    """The difference ``a - b`` of two variants' per-query scores, with a bootstrap interval over the source images.

    Per seed and source image (the ``label`` column), each side's queries are
    averaged; the difference of those means, averaged over seeds and images, is
    the point estimate. Resampling the images with replacement (``resamples``
    times, every seed keeping the drawn images) gives the interval: the central
    ``level`` share of the resampled means. Only which images' queries are
    averaged changes; the scores themselves, and the galleries the queries
    ranked, stay as they were.

    Parameters
    ----------
    columns : mapping of str to ndarray
        A per-query CSV read with ``read_csv(path, columns=True)``: at least
        ``seed``, ``label`` and ``measure``, one entry per query.
    a, b : mapping
        Row filters of each side (e.g. ``{"variant": "hard", "readout": "hellinger"}``).
    measure : str
        The per-query score, e.g. ``"p@5"`` or ``"ap"``.
    images : sequence of str, optional
        Only these source images (default: every image of the rows that match).
    seeds : sequence of int, optional
        Only these seeds (default: every seed of the rows that match).
    resamples : int
        Bootstrap draws of the images.
    level : float
        Coverage of the interval.
    rng : int or numpy.random.Generator
        Seed or generator of the draws.
    **where
        Filters of both sides (e.g. ``task="tiles"``).

    Returns
    -------
    dict
        ``diff`` (the mean difference), ``low`` and ``high`` (the interval),
        ``ahead`` (images whose mean difference over seeds is above 0), ``n``
        (images), ``images`` (their names, sorted) and ``per_image`` (each
        image's mean difference over seeds, in that order).

    Raises
    ------
    ValueError
        If a side has no queries of some seed and image that the other has.

    Examples
    --------
    >>> columns = {
    ...     "variant": np.array(["a"] * 4 + ["b"] * 4),
    ...     "seed": np.array([0, 0, 0, 0] * 2),
    ...     "label": np.array(["x", "x", "y", "y"] * 2),
    ...     "p@5": np.array([0.6, 0.8, 0.4, 0.4, 0.5, 0.5, 0.4, 0.2]),
    ... }
    >>> r = bootstrap_images(columns, {"variant": "a"}, {"variant": "b"}, "p@5", resamples=1000)
    >>> round(r["diff"], 3), r["ahead"], r["n"], r["per_image"].round(3).tolist()
    (0.15, 2, 2, [0.2, 0.1])
    >>> round(r["low"], 3), round(r["high"], 3)  # two images: resampled, both can be x, or both y
    (0.1, 0.2)
    """
    common = np.ones(len(columns["seed"]), dtype=bool)
    for key, value in where.items():
        common &= columns[key] == value
    if seeds is not None:
        common &= np.isin(columns["seed"], list(seeds))
    if images is not None:
        common &= np.isin(columns["label"], list(images))
    sides = []
    for side in (a, b):
        keep = common.copy()
        for key, value in side.items():
            keep &= columns[key] == value
        sides.append(keep)
    names = np.unique(columns["label"][sides[0] | sides[1]])
    chosen = np.unique(columns["seed"][sides[0] | sides[1]])
    if not len(names):
        raise ValueError(f"no queries match {where} with {a} or {b}")
    means = np.empty((2, len(chosen), len(names)))
    for i, keep in enumerate(sides):
        cell = (np.searchsorted(chosen, columns["seed"][keep]), np.searchsorted(names, columns["label"][keep]))
        sums, counts = np.zeros(means.shape[1:]), np.zeros(means.shape[1:])
        np.add.at(sums, cell, np.asarray(columns[measure][keep], dtype=np.float64))
        np.add.at(counts, cell, 1)
        if not counts.all():
            j, k = np.argwhere(counts == 0)[0]
            raise ValueError(f"{(a, b)[i]} has no queries of seed {chosen[j]} and image {names[k]!r}")
        means[i] = sums / counts
    d = means[0] - means[1]  # per seed and image
    draws = (rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)).integers(
        0, len(names), size=(resamples, len(names))
    )
    per_image = d.mean(axis=0)
    boot = per_image[draws].mean(axis=1)  # every seed keeps the drawn images: the mean over seeds comes first
    low, high = np.percentile(boot, [50 * (1 - level), 50 * (1 + level)])
    return {
        "diff": float(d.mean()),
        "low": float(low),
        "high": float(high),
        "ahead": int((per_image > 0).sum()),
        "n": len(names),
        "images": names,
        "per_image": per_image,
    }


def per_seed(rows: Sequence[Mapping], measure: str, **where) -> np.ndarray:
    """The values of ``measure`` in the rows that match ``where`` (e.g. ``task="tiles"``), ordered by seed.

    Examples
    --------
    >>> rows = [{"task": "t", "seed": 1, "map": 0.5}, {"task": "t", "seed": 0, "map": 0.25}]
    >>> per_seed(rows, "map", task="t").tolist()
    [0.25, 0.5]
    """
    return _by_seed(rows, measure, where)[1]


def format_table(results: Mapping[str, Mapping[str, float]], keys: Sequence[str] | None = None, digits: int = 3) -> str:
    """Rows of scores as an aligned text table: one line per row, one column per key.

    Examples
    --------
    >>> print(format_table({"a": {"map": 0.5}, "bb": {"map": 0.75}}))
           map
    a    0.500
    bb   0.750
    """
    keys = list(keys if keys is not None else next(iter(results.values())))
    lines = [[f"{row[key]:>{digits + 3}.{digits}f}" for key in keys] for row in results.values()]
    return _table(lines, [str(name) for name in results], keys, gap=2)


def _filters(where: Mapping, column, side) -> tuple[str, dict]:
    """The measure and the row filters of one table cell: ``where``, then the column's, then the side's."""
    column = {"measure": column} if isinstance(column, str) else column
    if isinstance(column, tuple):
        if len(column) not in (2, 3):
            raise ValueError(f"a column is (task, measure) or (task, measure, readout), got {column}")
        column = dict(zip(("task", "measure", "readout"), column, strict=False))
    column = dict(column)
    side = {"variant": side} if isinstance(side, str) else side
    side = dict(zip(("variant", "readout"), side, strict=True)) if isinstance(side, tuple) else dict(side)
    filters = {**where, **column, **side}
    if "measure" not in filters:
        raise ValueError(f"no measure given for the column {column}")
    measure = filters.pop("measure")
    linkage = filters.pop("linkage", "average")
    if linkage != "average":
        if "readout" not in filters:
            raise ValueError(f"linkage {linkage!r} needs a readout to add it to (filters {filters})")
        filters["readout"] = f"{filters['readout']} {linkage}"
    return measure, filters


def _by_seed(rows: Sequence[Mapping], measure: str, filters: Mapping) -> tuple[tuple, np.ndarray]:
    """The seeds and the values of ``measure`` of the rows that match ``filters``, ordered by seed."""
    chosen = sorted((row["seed"], row[measure]) for row in rows if all(row[k] == v for k, v in filters.items()))
    if not chosen:
        raise ValueError(f"no rows match {filters}")
    seeds = tuple(seed for seed, _ in chosen)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"several rows per seed match {filters}: give the variant and readout")
    return seeds, np.array([value for _, value in chosen], dtype=np.float64)


def _table(lines: list[list[str]], labels: list[str], header: list[str], gap: int = 3) -> str:
    """Right-aligned columns under their header, labels left-aligned."""
    widths = [max(len(h), *(len(line[j]) for line in lines)) for j, h in enumerate(header)]
    first, sep = max(len(label) for label in labels), " " * gap
    out = [" " * first + "".join(f"{sep}{h:>{w}}" for h, w in zip(header, widths, strict=True))]
    for label, line in zip(labels, lines, strict=True):
        out.append(f"{label:<{first}}" + "".join(f"{sep}{c:>{w}}" for c, w in zip(line, widths, strict=True)))
    return "\n".join(out)


def _grid(sides: Mapping, measures, cell) -> str:
    """A table with a line per side (label: side) and a column per measure, each cell ``cell(side, column)``."""
    columns = dict(measures) if isinstance(measures, Mapping) else {m: m for m in measures}
    lines = [[cell(side, column) for column in columns.values()] for side in sides.values()]
    return _table(lines, list(sides), list(columns))


def spread_table(rows: Sequence[Mapping], variants, measures, *, digits: int = 3, **where) -> str:
    """Benchmark rows as a table of mean ± standard deviation over seeds: one line per variant, one column per measure.

    ``variants``: names, or ``{label: side}`` (a variant, ``(variant, readout)`` or row filters).
    ``measures``: names, or ``{label: column}`` (a measure, ``(task, measure[, readout])`` or
    filters with a ``measure``). ``where``: filters of every cell, overridden by column and side.

    Examples
    --------
    >>> rows = [{"task": "t", "variant": v, "readout": "r", "seed": s, "map": m}
    ...         for v, ms in [("a", [0.5, 0.6, 0.7]), ("b", [0.4, 0.5, 0.5])] for s, m in enumerate(ms)]
    >>> print(spread_table(rows, ["a", "b"], {"mAP": "map"}, task="t", readout="r"))
                  mAP
    a   0.600 ± 0.100
    b   0.467 ± 0.058
    """
    variants = {v: v for v in variants} if not isinstance(variants, Mapping) else dict(variants)

    def cell(side, column) -> str:
        mean, sd = spread(_by_seed(rows, *_filters(where, column, side))[1])
        return f"{mean:.{digits}f} ± {sd:.{digits}f}"

    return _grid(variants, measures, cell)


def format_p(p: float) -> str:
    """A p-value as printed in the tables: ``"< 0.001"``, three decimals, or ``"n/a"`` (all differences equal)."""
    return "n/a" if not np.isfinite(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"


def paired_table(rows: Sequence[Mapping], pairs, measures, *, digits: int = 3, **where) -> str:
    """Paired comparisons of benchmark rows over seeds: one line per pair ``a - b``, one column per measure.

    Each cell: :func:`paired`'s mean difference ± sd, ``wins/n`` and the *t*-test's p-value.
    ``pairs``: ``{label: (a, b)}`` or a list of ``(a, b)``; the rest as for :func:`spread_table`.

    Examples
    --------
    >>> rows = [{"task": "t", "variant": v, "readout": "r", "seed": s, "map": m}
    ...         for v, ms in [("a", [0.5, 0.6, 0.7]), ("b", [0.4, 0.5, 0.5])] for s, m in enumerate(ms)]
    >>> print(paired_table(rows, [("a", "b")], {"mAP": "map"}, task="t", readout="r"))
                                     mAP
    a - b   +0.133 ± 0.058 3/3 p = 0.057
    """
    if not isinstance(pairs, Mapping):
        pairs = {f"{a} - {b}": (a, b) for a, b in pairs}

    def cell(pair, column) -> str:
        (seeds_a, first), (seeds_b, second) = (_by_seed(rows, *_filters(where, column, side)) for side in pair)
        if seeds_a != seeds_b:
            raise ValueError(f"{pair[0]} has seeds {seeds_a} but {pair[1]} has {seeds_b}: they cannot be paired")
        r = paired(first, second)
        p = format_p(r["t_p"])
        p = p if p.startswith("<") or p == "n/a" else f"= {p}"
        return f"{r['diff']:+.{digits}f} ± {r['sd']:.{digits}f} {r['wins']}/{r['n']} p {p}"

    return _grid(pairs, measures, cell)
