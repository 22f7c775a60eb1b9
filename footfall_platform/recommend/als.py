"""The behaviour model: implicit's alternating least squares on the confidence matrix.

Fits run on the CPU with BLAS held to one thread: implicit parallelises over users itself, and
a multi-threaded BLAS underneath it oversubscribes the cores (implicit warns and slows down).
Fits are seeded, so the same data and parameters give the same factors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from scipy import sparse
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class AlsParams:
    """What the validation period chooses among (factors, regularisation, iterations)."""

    factors: int = 32
    regularization: float = 0.1
    iterations: int = 15
    alpha: float = 10.0  # confidence = alpha x weighted units


DEFAULT_GRID: tuple[AlsParams, ...] = tuple(
    AlsParams(f, r, i) for f in (16, 48) for r in (0.05, 1.0) for i in (8, 20)
)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """OPENBLAS_NUM_THREADS=1 for anything started inside, and BLAS pools limited to one."""
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        if saved is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved


@dataclass
class AlsFactors:
    """Member and product factors; products without any interaction have no usable factor."""

    members: np.ndarray  # float32, members x factors
    items: np.ndarray  # float32, items x factors
    params: AlsParams

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.members[rows] @ self.items.T


def fit_als(
    matrix: sparse.csr_matrix, params: AlsParams, *, seed: int = 0, threads: int = 1
) -> AlsFactors:
    """Factor the members x items confidence matrix (float32, positive entries).

    One thread by default: on this shared 2-core machine a loaded core makes implicit's own
    threads wait on each other (a 400-member fit took 1.9 s on all cores, 0.17 s on one).
    """
    with single_threaded_blas():  # implicit checks the BLAS threads when the model is made
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=seed,
            num_threads=threads,
        )
        model.fit(matrix.astype(np.float32).tocsr(), show_progress=False)
    cold = np.diff(matrix.tocsc().indptr) == 0
    items = np.asarray(model.item_factors, dtype=np.float32).copy()
    items[cold] = 0.0  # a never-bought product keeps its random start: no signal at all
    return AlsFactors(np.asarray(model.user_factors, dtype=np.float32), items, params)
