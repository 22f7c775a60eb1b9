"""Product recommendations: implicit ALS on purchases, TF-IDF content similarity, their blend.

`run_recommender(lines, products, customers, stores)` tunes on a validation period, evaluates
every model (popularity, ALS only, content only, hybrid) on the last period, fits on the whole
history and returns the tables the platform publishes. docs/recommend.md describes the choices.
"""

from .interactions import RecommendInputError
from .pipeline import RecommendConfig, Result, run_recommender

__all__ = ["RecommendConfig", "RecommendInputError", "Result", "run_recommender"]
