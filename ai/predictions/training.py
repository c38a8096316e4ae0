"""The learning part of predictions: a time-based split, the fitted estimators, their held-out metrics against a
recency-only baseline, and the refusal when the data cannot support a model.

Split (never shuffled): features as of `T1 = last day - 2 x 30 days` with outcomes of the 30 days after T1 train the
model; features as of `T2 = last day - 30 days` with outcomes of the 30 days after T2 (days the training never saw as
outcomes) measure it. The stored estimators are then fitted again on both windows, so scoring uses the newest
behaviour; the metrics are those of the held-out window.
"""

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from django.conf import settings

from integrations.analysis.customer_features import FEATURE_NAMES, customer_features, customer_outcomes, history_span

HORIZON_DAYS = 30
FEATURE_DAYS_BEFORE_FIRST_CUTOFF = 14
RECENCY = FEATURE_NAMES.index("recency_days")
LARGE_DATASET = 5000  # from this many training rows on, gradient boosting; below, a regularized logistic model


class NotEnoughData(Exception):
    """The workspace's history cannot support an honest model; `reasons` say what is missing."""

    def __init__(self, reasons: list[str]):
        super().__init__(" ".join(reasons))
        self.reasons = reasons


@dataclass
class Window:
    """Features as of `cutoff` and the outcomes of the `HORIZON_DAYS` after it."""

    cutoff: date
    customer_ids: list[int]
    x: np.ndarray
    bought: np.ndarray  # purchased in the horizon
    active: np.ndarray  # any event in the horizon
    cents: np.ndarray  # purchase value in the horizon


@dataclass
class Trained:
    estimators: dict
    metrics: dict
    split: dict
    algorithm: str
    seconds: float
    rows: int = 0
    extra: dict = field(default_factory=dict)


def window_build(*, workspace_id: int, cutoff: date) -> Window:
    features = customer_features(workspace_id=workspace_id, as_of=cutoff)
    outcomes = customer_outcomes(workspace_id=workspace_id, start=cutoff, end=cutoff + timedelta(days=HORIZON_DAYS))
    ids = [row.customer_id for row in features]
    empty = (0, 0, 0)
    return Window(
        cutoff=cutoff,
        customer_ids=ids,
        x=np.array([row.values for row in features], dtype=float).reshape(len(features), len(FEATURE_NAMES)),
        bought=np.array([outcomes.get(i, empty)[1] > 0 for i in ids], dtype=int),
        active=np.array([outcomes.get(i, empty)[0] > 0 for i in ids], dtype=int),
        cents=np.array([outcomes.get(i, empty)[2] for i in ids], dtype=float),
    )


def split_cutoffs(*, workspace_id: int) -> tuple[date, date, date]:
    """(T1, T2, the day after the last day with data); NotEnoughData when the history is too short."""
    span = history_span(workspace_id=workspace_id)
    if span is None:
        raise NotEnoughData(["There are no events of identified customers yet."])
    first, last = span
    end = last + timedelta(days=1)
    t2 = end - timedelta(days=HORIZON_DAYS)
    t1 = t2 - timedelta(days=HORIZON_DAYS)
    needed = 2 * HORIZON_DAYS + FEATURE_DAYS_BEFORE_FIRST_CUTOFF
    have = (end - first).days
    if have < needed:
        raise NotEnoughData(
            [
                f"Predictions need {needed} days of customer history (30 days to learn from, 30 to check on, and "
                f"{FEATURE_DAYS_BEFORE_FIRST_CUTOFF} before them); this workspace has {have}."
            ]
        )
    return t1, t2, end


def _check_enough(train: Window, held_out: Window) -> None:
    minimum_customers, minimum_buyers = settings.PREDICTIONS_MIN_CUSTOMERS, settings.PREDICTIONS_MIN_BUYERS
    reasons = []
    for name, window in (("learn from", train), ("check on", held_out)):
        customers, buyers = len(window.customer_ids), int(window.bought.sum())
        if customers < minimum_customers:
            reasons.append(
                f"The window to {name} (from {window.cutoff:%b %-d}) has {customers} customers with history; "
                f"at least {minimum_customers} are needed."
            )
        elif buyers < minimum_buyers or customers - buyers < minimum_buyers:
            reasons.append(
                f"In the window to {name} (from {window.cutoff:%b %-d}) {buyers} of {customers} customers bought; "
                f"at least {minimum_buyers} buyers and {minimum_buyers} non-buyers are needed."
            )
    if reasons:
        raise NotEnoughData(reasons)


# scikit-learn is imported where an estimator or metric is built, not with this module: every process imports
# the module at start-up (admin, signals, scoring helpers) but only training needs scikit-learn, whose import is
# heavy. Unpickling a stored model imports it on its own.


def _classifier(rows: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if rows >= LARGE_DATASET:
        return HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.08, max_leaf_nodes=15, l2_regularization=1.0, random_state=0
        ), "gradient boosting"
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)), "logistic regression"


@lru_cache(maxsize=1)
def _thread_pools():
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401 (loads OpenMP and BLAS first)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # sees only the libraries loaded when it is built


@contextmanager
def one_thread():
    """Fit and predict on one thread (OpenMP and BLAS). Gradient boosting opens an OpenMP thread team per tree, the
    Poisson regression's solver BLAS threads per step, and their threads wait for each other; on a machine whose
    cores are busy with other work (web, database, other workers) those waits cost far more than a second thread
    gains, for one row as for a full training set. The worker processes are the parallelism."""
    with _thread_pools().limit(limits=1):
        yield


def _fit(x: np.ndarray, y: np.ndarray):
    model, name = _classifier(len(y))
    if y.min() == y.max():  # one class only (every customer stayed active): a constant model
        return ConstantModel(float(y[0])), "constant"
    with one_thread():
        model.fit(x, y)
    return model, name


def _fit_value(x: np.ndarray, spend: np.ndarray):
    """Spend in the next 30 days from the features, from LARGE_DATASET rows on: a Poisson regression. Its log link
    lets frequency and order value multiply, and its predictions add up to the spend of the window it learned
    from. None below (on a few hundred customers it ranked them worse than the purchase rate times the average
    order, which has less to learn) or without any spend."""
    from sklearn.linear_model import PoissonRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(spend) < LARGE_DATASET or not spend.any():
        return None
    model = make_pipeline(StandardScaler(), PoissonRegressor(alpha=0.1, max_iter=1000))
    with one_thread():
        model.fit(x, spend)
    return model


def expected_spend(estimators: dict, x: np.ndarray, p_buy: np.ndarray, *, days: int) -> np.ndarray:
    """Expected spend of each customer in the next `days` at the 30-day pace: the value model's, or without one
    (small stores, versions trained before it) the purchase rate times the customer's shrunk average order."""
    model = estimators.get("value")
    if model is None:
        return rate_from_probability(p_buy) * days * order_values(x, estimators["orderValue"])
    with one_thread():
        return model.predict(x) * days / HORIZON_DAYS


def probabilities(estimator, x: np.ndarray) -> np.ndarray:
    """The chance of the positive outcome for each row of `x`."""
    with one_thread():
        return estimator.predict_proba(x)[:, 1]


class ConstantModel:
    """Predicts the one outcome its training data had (sklearn refuses to fit a single class)."""

    def __init__(self, probability: float):
        self.probability = probability

    def predict_proba(self, x):
        return np.column_stack([np.full(len(x), 1 - self.probability), np.full(len(x), self.probability)])


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 5) -> dict:
    """Brier score, expected calibration error and the reliability table (predicted vs observed per bin)."""
    from sklearn.metrics import brier_score_loss

    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    table, error = [], 0.0
    index = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, bins - 1)
    for b in range(bins):
        chosen = index == b
        if not chosen.any():
            continue
        predicted, observed = float(p[chosen].mean()), float(y[chosen].mean())
        error += chosen.sum() / len(y) * abs(predicted - observed)
        table.append({"predicted": round(predicted, 4), "observed": round(observed, 4), "customers": int(chosen.sum())})
    return {"brier": round(float(brier_score_loss(y, p)), 4), "ece": round(error, 4), "bins": table}


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, score)), 4) if 0 < y.sum() < len(y) else None


def _head_metrics(y: np.ndarray, p: np.ndarray, baseline: np.ndarray) -> dict:
    auc, base = _auc(y, p), _auc(y, baseline)
    return {
        "auc": auc,
        "baselineAuc": base,
        "aucLift": round(auc / base, 3) if auc and base else None,
        "positives": int(y.sum()),
        "customers": int(len(y)),
        "calibration": calibration(y, p),
    }


def _value_metrics(actual: np.ndarray, predicted: np.ndarray, baseline: np.ndarray) -> dict:
    """The value estimate against the baseline (last 90 days' spend per month): mean absolute and root mean
    squared error and rank correlation with what customers spent. Most customers spend nothing in a month, so the
    absolute error favours predicting no spend for everyone (`noSpendMae`), which ranks nobody: read all three."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4 if abs(value) < 1 else 2)

    return {
        "mae": rounded(float(np.abs(predicted - actual).mean())),
        "baselineMae": rounded(float(np.abs(baseline - actual).mean())),
        "noSpendMae": rounded(float(np.abs(actual).mean())),
        "rmse": rounded(float(np.sqrt(((predicted - actual) ** 2).mean()))),
        "baselineRmse": rounded(float(np.sqrt(((baseline - actual) ** 2).mean()))),
        "spearman": rounded(spearman(predicted, actual)),
        "baselineSpearman": rounded(spearman(baseline, actual)),
        "predictedTotal": rounded(float(predicted.sum())),
        "baselineTotal": rounded(float(baseline.sum())),
        "actualTotal": rounded(float(actual.sum())),
    }


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Rank correlation (ties share their average rank); None when either side is constant."""

    def ranks(values: np.ndarray) -> np.ndarray:
        _unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        ends = np.cumsum(counts)
        return ((ends - counts + ends - 1) / 2)[inverse]

    if len(a) < 2 or a.min() == a.max() or b.min() == b.max():
        return None
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def rate_from_probability(p: np.ndarray) -> np.ndarray:
    """Purchases per day if purchases came as a Poisson process with P(at least one in 30 days) = p."""
    return -np.log1p(-np.clip(p, 1e-6, 1 - 1e-6)) / HORIZON_DAYS


def order_values(x: np.ndarray, prior: float) -> np.ndarray:
    """Each customer's average order value, shrunk towards the store's (`prior`) by their number of orders."""
    purchases = x[:, FEATURE_NAMES.index("purchases_365")]
    spent = np.expm1(x[:, FEATURE_NAMES.index("log_value_365")])
    weight = 2.0  # orders' worth of the store average
    return (spent + weight * prior) / (purchases + weight)


def store_order_value(window: Window) -> float:
    purchases = window.x[:, FEATURE_NAMES.index("purchases_365")].sum()
    spent = np.expm1(window.x[:, FEATURE_NAMES.index("log_value_365")]).sum()
    return float(spent / purchases) if purchases else 0.0


def train(*, workspace_id: int) -> Trained:
    """Build both windows, refuse honestly or fit, measure on the held-out window, refit on both for scoring."""
    started = time.perf_counter()
    t1, t2, end = split_cutoffs(workspace_id=workspace_id)
    train_window, held_out = (
        window_build(workspace_id=workspace_id, cutoff=t1),
        window_build(workspace_id=workspace_id, cutoff=t2),
    )
    _check_enough(train_window, held_out)
    purchase, algorithm = _fit(train_window.x, train_window.bought)
    churn, _ = _fit(train_window.x, 1 - train_window.active)
    recency = held_out.x[:, RECENCY]
    p_buy = probabilities(purchase, held_out.x)
    p_churn = probabilities(churn, held_out.x)
    prior = store_order_value(train_window)
    value = _fit_value(train_window.x, train_window.cents / 100)
    value_30 = expected_spend({"value": value, "orderValue": prior}, held_out.x, p_buy, days=HORIZON_DAYS)
    past_30 = np.expm1(held_out.x[:, FEATURE_NAMES.index("log_value_90")]) / 3  # baseline: recent spend per month
    metrics = {
        "purchase30d": _head_metrics(held_out.bought, p_buy, -recency),
        "churnRisk": _head_metrics(1 - held_out.active, p_churn, recency),
        "value30d": _value_metrics(held_out.cents / 100, value_30, past_30),
        "trainCustomers": len(train_window.customer_ids),
        "trainBuyers": int(train_window.bought.sum()),
    }
    both_x = np.vstack([train_window.x, held_out.x])
    purchase_final, algorithm = _fit(both_x, np.concatenate([train_window.bought, held_out.bought]))
    churn_final, _ = _fit(both_x, 1 - np.concatenate([train_window.active, held_out.active]))
    split = {
        "trainCutoff": t1.isoformat(),
        "heldOutCutoff": t2.isoformat(),
        "end": end.isoformat(),
        "horizonDays": HORIZON_DAYS,
    }
    estimators = {
        "purchase": purchase_final,
        "churn": churn_final,
        "value": _fit_value(both_x, np.concatenate([train_window.cents, held_out.cents]) / 100),
        "orderValue": store_order_value(held_out) or prior,
        "features": FEATURE_NAMES,
    }
    return Trained(estimators, metrics, split, algorithm, round(time.perf_counter() - started, 3), rows=len(both_x))


def confidence_for(*, events: int, active_days: float, model_auc: float | None) -> str:
    """How much data backs one customer's prediction: `insufficient` below the minimum (no prediction is shown),
    then low / medium / high by the customer's events and active days, never above what the model earned."""
    if events < settings.PREDICTIONS_MIN_EVENTS or model_auc is None or model_auc < 0.55:
        return "insufficient"
    if events < 5 or active_days < 2 or model_auc < 0.65:
        return "low"
    if events < 20 or active_days < 4 or model_auc < 0.75:
        return "medium"
    return "high"


def expected_days_to_order(p: float) -> int:
    rate = float(rate_from_probability(np.array([p]))[0])
    return min(int(math.ceil(1 / rate)), 365) if rate > 0 else 365
