"""K-means that hold on every machine: fits and nearest codes that do not depend on the BLAS kernel.

:func:`steady_kmeans` fits exactly ``max_iter`` passes on rows passed through :func:`untie`, from a
:func:`kmeans_plusplus` start;
:func:`nearest_codes` ranks codes in float32 and re-ranks near ties in float64.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn.utils import check_random_state, gen_batches

__all__ = ["fitting_k", "kmeans_plusplus", "nearest_codes", "steady_kmeans", "untie"]


def nearest_codes(rows, centres) -> np.ndarray:
    """The index (n,) of each row's nearest code vector (of ``centres``, (K, d)), as float64 finds it.

    Hand-written for codes that do not depend on the BLAS kernel at float32 speed: a float32
    product ranks the codes; rows whose best two are closer than its rounding error are ranked
    again in float64 (ties: the lowest index).

    Examples
    --------
    >>> nearest_codes([[0.0, 0.1], [1.0, 0.8]], np.array([[0.0, 0.0], [1.0, 0.9], [1.0, 1.1]])).tolist()
    [0, 1]
    """
    centres = np.asarray(centres, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, centres.shape[1])
    origin = centres.mean(axis=0)
    c = centres - origin
    squares = np.einsum("kd,kd->k", c, c)
    minus_2c32, squares32 = (-2 * c.T).astype(np.float32), squares.astype(np.float32)
    u, norms = np.finfo(np.float32).eps / 2, np.sqrt(squares)
    codes = np.empty(len(rows), dtype=np.intp)

    def search(batches) -> None:  # 1024 rows at a time into one buffer (4 MB, in the CPU's cache)
        buffer = np.empty((1024, len(c)), dtype=np.float32)
        for batch in batches:
            x = rows[batch] - origin
            d = np.matmul(x.astype(np.float32), minus_2c32, out=buffer[: len(x)])
            d += squares32
            best, every = d.argmin(axis=1), np.arange(len(x))
            first = d[every, best]
            d[every, best] = np.inf
            # the float32 distance to code k is within u ((2 d + 6) |x| |c_k| + 2 |c_k|^2) of the exact one;
            # a pair's bound is the sum of the best code's and the largest code's, with 1 % to spare
            near, far = norms[best], norms.max()
            n = 2 * x.shape[1] + 6
            bound = 1.01 * u * (n * np.sqrt(np.einsum("nd,nd->n", x, x)) * (near + far) + 2 * (near**2 + far**2))
            unsure = np.flatnonzero(d.min(axis=1) - first <= bound)
            if len(unsure):
                d[unsure, best[unsure]] = first[unsure]
                row, k = np.nonzero(d[unsure] <= (first + bound)[unsure, None])
                exact = squares[k] - 2 * np.einsum("nd,nd->n", x[unsure][row], c[k])
                order = np.lexsort((k, exact, row))  # per row: the smallest distance, then the lowest index
                firsts = order[np.r_[True, row[order][1:] != row[order][:-1]]]
                best[unsure[row[firsts]]] = k[firsts]
            codes[batch] = best

    # single-threaded BLAS products, 1024 rows each, on as many Python threads as BLAS would use (NumPy releases
    # the GIL): BLAS threads that wait for each other on products this small are slower, on a busy machine by far
    batches = list(gen_batches(len(rows), 1024))
    threads = max(1, min(len(batches) // 2, _blas_threads()))
    with _threadpools().limit(limits=1, user_api="blas"):
        if threads == 1:
            search(batches)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(search, [batches[i::threads] for i in range(threads)]))
    return codes


def steady_kmeans(n_clusters: int, batch_size: int, max_iter: int, random_state, **params_):
    """A :class:`~sklearn.cluster.MiniBatchKMeans` whose fit does not depend on the BLAS kernel or thread count.

    One :func:`kmeans_plusplus` start, exactly ``max_iter`` passes (no early stopping); fit it on rows passed
    through :func:`untie`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((1000, 4))
    >>> steady_kmeans(8, batch_size=256, max_iter=2, random_state=0).fit(untie(x, 0)).n_steps_
    7
    """
    from sklearn.cluster import MiniBatchKMeans

    params = {"batch_size": batch_size, "max_iter": max_iter, "random_state": random_state, "init": kmeans_plusplus}
    return MiniBatchKMeans(n_clusters, n_init=1, max_no_improvement=None, **(params | params_))


def kmeans_plusplus(X, n_clusters: int, random_state) -> np.ndarray:
    """``n_clusters`` starting code vectors (n_clusters, d) drawn from the rows of ``X`` (n, d) by greedy k-means++.

    The recipe and the random draws of scikit-learn's ``kmeans_plusplus`` (Arthur and Vassilvitskii, 2007,
    with ``2 + log(n_clusters)`` trials per pick), with the distances computed by :func:`numpy.einsum`
    instead of BLAS: hand-written because which trial wins a near tie must not depend on the BLAS kernel.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 5.0], [5.0, 5.1]])
    >>> sorted(kmeans_plusplus(x, 2, np.random.RandomState(0))[:, 0].tolist())
    [0.0, 5.0]
    """
    X = np.asarray(X, dtype=np.float64)
    random_state = check_random_state(random_state)
    n = len(X)
    if not 1 <= n_clusters <= n:
        raise ValueError(f"kmeans_plusplus needs 1 <= n_clusters <= {n} rows, got n_clusters = {n_clusters}")
    squares = np.einsum("nd,nd->n", X, X)

    def distances(ids) -> np.ndarray:  # squared, from the rows ids (t,) to every row: (t, n)
        return np.maximum(squares[ids, None] + squares - 2 * np.einsum("td,nd->tn", X[ids], X), 0)

    trials = 2 + int(np.log(n_clusters))
    picks = [random_state.choice(n, p=np.full(n, 1 / n))]
    closest = distances(picks)[0]
    potential = closest.sum()
    for _ in range(1, n_clusters):
        ids = np.searchsorted(np.cumsum(closest), random_state.uniform(size=trials) * potential)
        ids = np.minimum(ids, n - 1)
        candidates = np.minimum(closest, distances(ids))
        potentials = candidates.sum(axis=1)
        best = np.argmin(potentials)
        potential, closest = potentials[best], candidates[best]
        picks.append(ids[best])
    return X[picks]


def untie(rows, seed: int) -> np.ndarray:
    """``rows`` (n, d) plus Gaussian noise of 1e-6 times their standard deviation, float64.

    Duplicate rows become distinct, so no tie between equal code vectors is left to rounding.
    """
    rows = np.asarray(rows, dtype=np.float64)
    return rows + 1e-6 * rows.std() * np.random.default_rng(seed).standard_normal(rows.shape)


@functools.cache
def _threadpools():
    """One :class:`threadpoolctl.ThreadpoolController` for the process (finding the libraries takes milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _blas_threads() -> int:
    """The number of threads the BLAS library would use."""
    return max([1] + [i["num_threads"] for i in _threadpools().select(user_api="blas").info()])


def fitting_k(n_patches: int) -> int:
    """A K that ``n_patches`` patches can fit: the largest power of 2 (at least 1) with 10 patches per code vector.

    Examples
    --------
    >>> fitting_k(162), fitting_k(70000), fitting_k(3)
    (16, 4096, 1)
    """
    return 2 ** max(0, int(np.floor(np.log2(max(n_patches, 1) / 10))))
