"""The content model: products described by their text, members by what they bought.

Each product's name, category, brand and description become one TF-IDF vector of word uni- and
bigrams plus character 3-5-grams (the character part matches "Stoneware"/"stoneware" and
survives typos and plurals). Product-product similarity is the cosine of these vectors. A
member's content profile is the confidence-weighted sum of the vectors of what they bought, so
their score for a product is the weighted sum of its similarities to those purchases; only the
`neighbours` most similar products of each product are kept, which is exact for small
catalogues and keeps scoring sparse for large ones.

Behaviour on awkward catalogues: an empty description just contributes nothing (name, category
and brand remain); two products with the same text are each other's most similar product
(cosine 1); a product with no text at all has a zero vector and no similar products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from .interactions import require_columns

TEXT_COLUMNS = ("product_name", "category", "brand", "description")
BATCH = 1024
LARGE_CATALOGUE = 1000
COMMON_SHARE = 0.5


def product_text(products: pl.DataFrame) -> list[str]:
    """One lower-case document per product from its descriptive columns (nulls are empty)."""
    require_columns(products, ("sku", *TEXT_COLUMNS), "the product catalogue")
    text = pl.concat_str(
        [pl.col(c).cast(pl.Utf8).fill_null("") for c in TEXT_COLUMNS], separator=" "
    ).str.to_lowercase()
    return products.select(text.str.strip_chars().alias("t"))["t"].to_list()


def _block(vectorizer: TfidfVectorizer, docs: list[str]) -> sparse.csr_matrix:
    try:
        return vectorizer.fit_transform(docs).tocsr()
    except ValueError:  # no token at all in the catalogue ("empty vocabulary")
        return sparse.csr_matrix((len(docs), 1), dtype=np.float64)


def tfidf_vectors(docs: list[str]) -> sparse.csr_matrix:
    """Rows are L2-normalised [word | char] TF-IDF, both blocks weighted equally.

    From LARGE_CATALOGUE products on, n-grams found in more than half of them are dropped:
    they hardly tell products apart, and they make the similarity product dense (its cost grows
    with the square of each n-gram's product count).
    """
    max_df = COMMON_SHARE if len(docs) >= LARGE_CATALOGUE else 1.0
    words = _block(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=max_df), docs)
    chars = _block(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, max_df=max_df),
        docs,
    )
    return normalize(sparse.hstack([words, chars]).tocsr().astype(np.float32))


@dataclass
class ContentModel:
    """Product vectors and each product's most similar products (a sparse items x items)."""

    vectors: sparse.csr_matrix
    similar: sparse.csr_matrix  # top `neighbours` cosine per row, self excluded, positive only

    def member_scores(self, profile: sparse.csr_matrix) -> np.ndarray:
        """Dense scores of a batch of members from their (members x items) weights."""
        return (profile @ self.similar).toarray().astype(np.float32)


def fit_content(products: pl.DataFrame, *, neighbours: int = 100) -> ContentModel:
    vectors = tfidf_vectors(product_text(products))
    return ContentModel(vectors, top_similar(vectors, neighbours))


def top_similar(vectors: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """The `k` most similar other products of each product (ties: lower column first)."""
    n = vectors.shape[0]
    k = min(k, n - 1)
    if k <= 0:
        return sparse.csr_matrix((n, n), dtype=np.float32)
    rows, cols, vals = [], [], []
    transposed = vectors.T.tocsc()
    for lo in range(0, n, BATCH):
        hi = min(lo + BATCH, n)
        sim = (vectors[lo:hi] @ transposed).toarray()
        sim[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf  # never similar to itself
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        picked = np.take_along_axis(sim, top, axis=1)
        keep = picked > 0
        rows.append(np.repeat(np.arange(lo, hi), k)[keep.ravel()])
        cols.append(top[keep])
        vals.append(picked[keep])
    out = sparse.csr_matrix(
        (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    out.sort_indices()
    return out


def similar_products(model: ContentModel, skus: np.ndarray, top_n: int = 20) -> pl.DataFrame:
    """ml.similar_products: sku, rank (1..), similar_sku, score; ties broken by similar_sku."""
    frame = pl.DataFrame(
        {
            "row": np.repeat(np.arange(model.similar.shape[0]), np.diff(model.similar.indptr)),
            "col": model.similar.indices,
            "score": model.similar.data.astype(np.float64),
        },
        schema={"row": pl.Int64, "col": pl.Int64, "score": pl.Float64},
    )
    sku = pl.Series(np.asarray(skus, dtype=object).tolist(), dtype=pl.Utf8)
    frame = frame.with_columns(sku=sku.gather(frame["row"]), similar_sku=sku.gather(frame["col"]))
    ranked = frame.sort(
        ["sku", "score", "similar_sku"], descending=[False, True, False]
    ).with_columns(rank=pl.int_range(1, pl.len() + 1).over("sku").cast(pl.Int32))
    return ranked.filter(pl.col("rank") <= top_n).select("sku", "rank", "similar_sku", "score")
