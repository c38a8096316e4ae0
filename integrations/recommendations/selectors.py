"""Product recommendations read from the refreshed tables: per customer ("next best product") and per segment.

Scores from co-purchases first: for a product B and a product A the customer bought, confidence(A -> B) is the
share of A's buyers who also bought B, support the number of customers who bought both, and lift the
confidence over B's share of all buyers (above 1: buying A makes B likelier). A candidate's score combines
the confidences of everything the customer bought (1 - the product of (1 - confidence)); its reason is its
strongest pair. Then what the customer viewed or carted without buying, then co-views (viewed or carted
together) at half weight, then the most bought products. What the customer already bought is never offered.
"""

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from integrations.models import Customer, CustomerProduct, Product, ProductPair, RecommendationState

VIEW_WEIGHT = 0.5  # a co-view says less than a co-purchase
LOOKED_WEIGHT = 0.6  # looked at without buying: retargeting, below a co-purchase
POPULAR_WEIGHT = 0.1


@dataclass
class Recommendation:
    product_id: str
    name: str
    score: float
    basis: str  # bought_together | looked_not_bought | viewed_together | popular
    reason: str
    support: int  # customers behind the reason
    confidence: float
    lift: float
    because_id: str = ""
    because_name: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def recommendation_state(*, workspace_id: int) -> RecommendationState:
    """The workspace's refresh state (unsaved and `never` when it was never refreshed)."""
    state = RecommendationState.objects.filter(workspace_id=workspace_id).first()
    return state or RecommendationState(workspace_id=workspace_id)


@dataclass
class _Candidate:
    score: float = 0.0  # sum over the basis products of weight x confidence
    best: tuple = ()  # (weighted confidence, confidence, support, lift, because_id) of the strongest pair

    def add(self, weight: float, confidence: float, support: int, lift: float, because: str) -> None:
        self.score += weight * confidence
        self.best = max(self.best, (weight * confidence, confidence, support, lift, because))


def _pair_candidates(
    *, workspace_id: int, kind: str, basis: dict[str, float], exclude: set[str], totals: int, products: dict
) -> dict[str, _Candidate]:
    """Candidates reached from the basis products (with their weights: 1 for one customer's, the share of a
    segment's customers who have it for a segment) through pairs of `kind`."""
    if not basis or not totals:
        return {}
    pairs = list(
        ProductPair.objects.filter(
            workspace_id=workspace_id,
            kind=kind,
            product_id__in=list(basis),
            customers__gte=settings.RECOMMENDATION_MIN_SUPPORT,
        )
        .exclude(other_id__in=exclude)
        .values_list("product_id", "other_id", "customers")
    )
    _products_load(workspace_id=workspace_id, products=products, ids={*basis, *(other for _b, other, _n in pairs)})
    column = "buyers" if kind == ProductPair.Kind.PURCHASE else "viewers"
    candidates: dict[str, _Candidate] = defaultdict(_Candidate)
    for base, other, support in pairs:
        base_count = getattr(products.get(base), column, 0)
        other_count = getattr(products.get(other), column, 0)
        if not (base_count and other_count):
            continue
        confidence = support / base_count
        lift = confidence / (other_count / totals)
        if lift > 1:  # at or below 1, having the basis product makes the other no likelier: no reason to offer it
            candidates[other].add(basis[base], confidence, support, lift, base)
    return candidates


def _products_load(*, workspace_id: int, products: dict, ids: set[str]) -> None:
    missing = ids - set(products)
    if missing:
        rows = Product.objects.filter(workspace_id=workspace_id, product_id__in=missing)
        products.update({product.product_id: product for product in rows})


def _name(products: dict, product_id: str) -> str:
    product = products.get(product_id)
    return (product.name if product and product.name else "") or f"product {product_id}"


def _ranked(
    candidates: dict[str, _Candidate], *, weight: float, basis: str, verb: str, products: dict
) -> list[Recommendation]:
    made = []
    for product_id, candidate in candidates.items():
        _weighted, confidence, support, lift, because = candidate.best
        made.append(
            Recommendation(
                product_id=product_id,
                name=_name(products, product_id),
                score=round(weight * candidate.score, 4),
                basis=basis,
                reason=f"{verb} together with {_name(products, because)} by {support} customers",
                support=support,
                confidence=round(confidence, 4),
                lift=round(lift, 2),
                because_id=because,
                because_name=_name(products, because),
            )
        )
    return sorted(made, key=lambda r: (-r.score, -r.lift, -r.support, r.product_id))


def _popular(*, workspace_id: int, exclude: set[str], buyers: int, limit: int) -> list[Recommendation]:
    rows = Product.objects.filter(workspace_id=workspace_id, buyers__gt=0).exclude(product_id__in=exclude)
    made = []
    for product in rows.order_by("-buyers", "product_id")[:limit]:
        share = product.buyers / buyers if buyers else 0
        made.append(
            Recommendation(
                product_id=product.product_id,
                name=product.name or f"product {product.product_id}",
                score=round(POPULAR_WEIGHT * share, 4),
                basis="popular",
                reason=f"one of the best sellers: bought by {product.buyers} customers",
                support=product.buyers,
                confidence=round(share, 4),
                lift=1.0,
            )
        )
    return made


def _merged(*lists: list[Recommendation], limit: int) -> list[Recommendation]:
    """The lists in order of preference, each product once (its first, strongest appearance)."""
    seen, made = set(), []
    for recommendations in lists:
        for recommendation in recommendations:
            if recommendation.product_id not in seen:
                seen.add(recommendation.product_id)
                made.append(recommendation)
    return made[:limit]


def recommendations_for_customer(*, customer: Customer, limit: int = 10) -> list[Recommendation]:
    """The customer's next best products, best first, never one they bought; empty before the first refresh."""
    state = recommendation_state(workspace_id=customer.workspace_id)
    owned = list(
        CustomerProduct.objects.filter(
            workspace_id=customer.workspace_id, customer_key=customer.customer_key
        ).values_list("product_id", "purchases", "views")
    )
    bought = {product_id for product_id, purchases, _views in owned if purchases}
    looked = {product_id: views for product_id, purchases, views in owned if views and not purchases}
    return _recommend(
        workspace_id=customer.workspace_id,
        state=state,
        bought=dict.fromkeys(bought, 1.0),
        viewed={product_id: 1.0 for product_id, _purchases, views in owned if views},
        exclude=bought,
        limit=limit,
        looked=_looked_at(workspace_id=customer.workspace_id, looked=looked, size=None, state=state),
    )


def _looked_at(*, workspace_id: int, looked: dict[str, int], size: int | None, state) -> list[Recommendation]:
    """Products viewed or put in the cart and not bought: by one customer (`size` None: `looked` counts their
    views) or by a segment's customers (`looked` counts them, of `size`; only those the segment looks at more
    than all viewers do)."""
    products: dict[str, Product] = {}
    _products_load(workspace_id=workspace_id, products=products, ids=set(looked))
    made = []
    for product_id, count in looked.items():
        if size is None:
            share, lift = 1.0, 1.0
            reason = f"viewed or put in the cart {count} time{'s' if count != 1 else ''}, not bought yet"
        else:
            share = count / size
            viewers = getattr(products.get(product_id), "viewers", 0)
            lift = share / (viewers / state.viewers) if viewers and state.viewers else 1.0
            if lift <= 1:  # the segment looks at it no more than everyone does: no reason to single it out
                continue
            reason = f"viewed or put in the cart by {count} of this segment's {size} customers, who did not buy it"
        made.append(
            Recommendation(
                product_id=product_id,
                name=_name(products, product_id),
                score=round(LOOKED_WEIGHT * share, 4),
                basis="looked_not_bought",
                reason=reason,
                support=count,
                confidence=round(share, 4),
                lift=round(lift, 2),
            )
        )
    return sorted(made, key=lambda r: (-r.support, -r.lift, r.product_id))


def _recommend(
    *, workspace_id: int, state, bought: dict, viewed: dict, exclude: set, limit: int, looked: list | None = None
) -> list[Recommendation]:
    """Bought-together first, then what was looked at without buying (`looked`, made by the caller), then
    viewed-together, then the best sellers."""
    if state.refreshed_at is None:
        return []
    products: dict[str, Product] = {}
    together = _pair_candidates(
        workspace_id=workspace_id,
        kind=ProductPair.Kind.PURCHASE,
        basis=bought,
        exclude=exclude,
        totals=state.buyers,
        products=products,
    )
    seen = _pair_candidates(
        workspace_id=workspace_id,
        kind=ProductPair.Kind.VIEW,
        basis=viewed,
        exclude=exclude | set(together),
        totals=state.viewers,
        products=products,
    )
    return _merged(
        _ranked(together, weight=1.0, basis="bought_together", verb="bought", products=products),
        looked or [],
        _ranked(seen, weight=VIEW_WEIGHT, basis="viewed_together", verb="viewed", products=products),
        _popular(workspace_id=workspace_id, exclude=exclude, buyers=state.buyers, limit=limit),
        limit=limit,
    )


def recommendations_for_segment(*, workspace, members: QuerySet, limit: int = 10) -> list[Recommendation]:
    """Products to offer a segment (`members`: a query of its customers' keys), from what its customers bought
    and viewed, weighted by the share of them who did; products most of them bought already are left out.
    Cached until the next refresh."""
    state = recommendation_state(workspace_id=workspace.id)
    if state.refreshed_at is None:
        return []
    members_hash = hashlib.sha256(str(members.query).encode()).hexdigest()[:16]
    key = f"recs:segment:{workspace.id}:{state.refreshed_at.timestamp()}:{members_hash}:{limit}"
    cached = cache.get(key)
    if cached is not None:
        return [Recommendation(**row) for row in cached]
    rows = (
        CustomerProduct.objects.filter(workspace_id=workspace.id, customer_key__in=members)
        .values("product_id")
        .annotate(
            buyers=Count("id", filter=Q(purchases__gt=0)),
            viewers=Count("id", filter=Q(views__gt=0)),
            lookers=Count("id", filter=Q(views__gt=0, purchases=0)),
        )
    )
    size = members.count()
    counts = {row["product_id"]: row for row in rows}
    owned_by_most = {product_id for product_id, row in counts.items() if size and row["buyers"] / size > 0.5}
    made = _recommend(
        workspace_id=workspace.id,
        state=state,
        bought={p: row["buyers"] / size for p, row in counts.items() if row["buyers"]} if size else {},
        viewed={p: row["viewers"] / size for p, row in counts.items() if row["viewers"]} if size else {},
        exclude=owned_by_most,
        limit=limit,
        looked=_looked_at(
            workspace_id=workspace.id,
            looked={p: row["lookers"] for p, row in counts.items() if row["lookers"] and p not in owned_by_most},
            size=size,
            state=state,
        ),
    )
    for recommendation in made:  # the segment's own numbers behind the reason
        _segment_reason_add(recommendation, counts=counts, size=size)
    cache.set(key, [r.as_dict() for r in made], timeout=600)
    return made


def _segment_reason_add(recommendation: Recommendation, *, counts: dict, size: int) -> None:
    if recommendation.basis not in ("bought_together", "viewed_together"):
        return
    bought = recommendation.basis == "bought_together"
    had = counts.get(recommendation.because_id, {}).get("buyers" if bought else "viewers")
    if had:
        verb = "bought" if bought else "viewed"
        recommendation.reason += f"; {had} of this segment's {size} customers {verb} {recommendation.because_name}"


def segment_recommendations(*, workspace, segment: str, limit: int = 10, **filters) -> list[Recommendation]:
    """Products to offer one of the analysis segments (its customers over the period and source `filters`
    select: date_from, date_to, source_id). NotFound for an unknown segment."""
    from integrations.analysis.audiences import segment_customer_list

    members = segment_customer_list(workspace=workspace, name=segment, **filters).values("customer_key")
    return recommendations_for_segment(workspace=workspace, members=members, limit=limit)


def products_to_feature(*, workspace, segment: str = "", limit: int = 3) -> list[Recommendation]:
    """What a campaign for `segment` should show: the segment's recommendations, or the best sellers when the
    segment is not one of the analysis segments (or empty)."""
    from integrations.analysis.queries import SEGMENTS

    if segment in SEGMENTS:
        found = segment_recommendations(workspace=workspace, segment=segment, limit=limit)
        if found:
            return found
    state = recommendation_state(workspace_id=workspace.id)
    if state.refreshed_at is None:
        return []
    return _popular(workspace_id=workspace.id, exclude=set(), buyers=state.buyers, limit=limit)
