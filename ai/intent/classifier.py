"""The offline intent classifier: what a chat message asks for, as
`{intent, confidence, requiresAuth, module, action, entities}`, with no network and deterministically.

A multinomial naive Bayes classifier over word, word-bigram and in-word character-trigram features (the
trigrams make it robust to typos), trained on the labelled examples in `ai/intent/examples.jsonl`;
`bench/intent_accuracy.py` measures it on a held-out split. `ai.intent.analysis` asks a model first.
"""

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

EXAMPLES_PATH = Path(__file__).parent / "examples.jsonl"

INTENTS = {
    # intent: (requiresAuth, module, action)
    "campaign_recommendation": (True, "campaigns", "recommend_campaigns"),
    "performance_question": (True, "analytics", "query_metrics"),
    "data_source_help": (False, "integrations", "connect_data_source"),
    "content_creation": (False, "campaigns", "generate_content"),
    "general_marketing": (False, "chat", "marketing_advice"),
    "greeting": (False, "chat", "greet"),
    "other": (False, "chat", "answer"),
}

INTENT_SCHEMA = {
    "type": "object",
    "required": ["intent", "confidence"],
    "properties": {
        "intent": {"enum": list(INTENTS)},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "entities": {"type": "object"},
    },
}

WEIGHTS = {"w": 1.0, "b": 0.5, "c": 0.1, "k": 2.0}
ALPHA = 0.1

# A small hand-written lexicon of marketing concepts; the model learns how much each one counts per intent.
CONCEPTS = {
    "campaign": r"campa[ni]g?n|campain|campaing|kampagne|retarget|win[- ]?back|reactivat|re-?engage|promo|offer|"
    r"discount|target|segment|audience|upsell|cross-?sell|loyalty|which customers|who should|budget",
    "content": r"\bwrit|\bwrt|draft|compos|caption|headline|subject line|slogan|hashtag|\bcopy\b|ad text|script|"
    r"\bpost\b|tweet|description|escrib|ecri|notification|microcopy|press release|\btext\b|\bpin\b|story",
    "source": r"connect|conect|integrat|install|sync|import|upload|\bcsv\b|pixel|shop?ify|shopfy|tag manager|\bgtm\b|"
    r"webhook|token|data ?sour|tracking|datalayer|write key|container|collect endpoint|measurement protocol|"
    r"scope|link my|hook up|woocommerce|spreadsheet",
    "metric": r"how many|how much|what (?:is|was|s) my|whats my|revenue|revenu\b|\borders\b|\bsales\b|conversion|"
    r"\baov\b|average order|funnel|drop ?off|trend|compare|overview|summary|cuantos|chiffre|number of|size of|"
    r"\brate\b|\broas\b|\bctr\b|metrics|\btotal\b|percentage|grow",
    "own": r"\bmy\b|\bour\b|\bwe\b|\bmis\b|\bmon\b|\bmes\b|\bmi\b",
    "general": r"what is|what'?s a|whats a|explain|difference|tips|best practice|how (?:do|can|should) i|should i|"
    r"\bmean\b|que es|c'?est quoi|strategy|important|\bgood\b|how to|how often",
    "greet": r"^\W*(?:hi+|hello|hey+|yo|hola|bonjour|hallo|hiya|helo|howdy|ciao|salut|greetings|good (?:morning|"
    r"evening|afternoon|night)|morning|thanks?|thank (?:you|u)|cheers|bye|see you|buenos|nice to meet|what'?s up|ok)\b",
    "marketing": r"market|brand|customer|\bseo\b|\bads?\b|advertis|e-?mail|social|instagram|tiktok|facebook|"
    r"influencer|funnel|conversion|retention|\broi\b|\bcac\b|\bltv\b|lifetime|\butm\b|keyword|newsletter|"
    r"\bsales?\b|shop|store|product|campaign|audience|segment|visitor|buyer|cart|checkout|order|\bcp[cma]\b|"
    r"platform|pric|follower|review|persona|\bkpis?\b|referral|acquisition",
}
TOPICAL = ("campaign", "content", "source", "metric", "marketing")


def normalize(text: str) -> str:
    """Lower case without accents, so "campaña" and "campana" meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9%]+", normalize(text))


def stem(word: str) -> str:
    """A light suffix stripper: "campaigns", "targeting" and "targeted" share their stem."""
    for suffix in ("ing", "ers", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def features_of(text: str) -> Counter:
    """Weighted features: words, word pairs and character trigrams inside words."""
    words = [stem(word) for word in tokens_of(text)]
    features: Counter = Counter()
    lowered = normalize(text)
    fired = [name for name, pattern in CONCEPTS.items() if re.search(pattern, lowered)]
    for name in fired:
        features["k:" + name] += WEIGHTS["k"]
    if not set(fired) & set(TOPICAL):
        features["k:off_topic"] += WEIGHTS["k"]
    for word in words:
        features["w:" + word] += WEIGHTS["w"]
        padded = f"#{word}#"
        for i in range(len(padded) - 2):
            features["c:" + padded[i : i + 3]] += WEIGHTS["c"]
    for first, second in zip(words, words[1:], strict=False):
        features[f"b:{first}_{second}"] += WEIGHTS["b"]
    if len(words) <= 2:
        features["len:short"] += 1.0
    return features


class NaiveBayes:
    """Multinomial naive Bayes with Laplace smoothing over weighted feature counts."""

    def __init__(self, alpha: float = ALPHA):
        self.alpha = alpha
        self.priors: dict[str, float] = {}
        self.log_likelihood: dict[str, dict[str, float]] = {}
        self.unseen: dict[str, float] = {}
        self.known: set[str] = set()

    def fit(self, examples: list[dict]) -> "NaiveBayes":
        counts: dict[str, Counter] = defaultdict(Counter)
        per_label = Counter(example["intent"] for example in examples)
        for example in examples:
            counts[example["intent"]].update(features_of(example["text"]))
        vocabulary = {feature for counter in counts.values() for feature in counter}
        self.known = vocabulary
        total = sum(per_label.values())
        for label, counter in counts.items():
            self.priors[label] = math.log(per_label[label] / total)
            denominator = sum(counter.values()) + self.alpha * (len(vocabulary) + 1)
            self.log_likelihood[label] = {f: math.log((c + self.alpha) / denominator) for f, c in counter.items()}
            self.unseen[label] = math.log(self.alpha / denominator)
        return self

    def scores(self, text: str) -> dict[str, float]:
        features = features_of(text)
        known = self.known
        return {
            label: self.priors[label]
            + sum(
                weight * table.get(feature, self.unseen[label])
                for feature, weight in features.items()
                if feature in known
            )
            for label, table in self.log_likelihood.items()
        }

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely label and its posterior probability."""
        scores = self.scores(text)
        best = max(scores, key=scores.get)
        top = scores[best]
        total = sum(math.exp(score - top) for score in scores.values())
        return best, 1.0 / total


def examples_load(path: Path = EXAMPLES_PATH) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def is_held_out(text: str) -> bool:
    """The deterministic held-out split: one example in five, chosen by a hash of its text."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 5 == 0


def split_examples(examples: list[dict]) -> tuple[list[dict], list[dict]]:
    train = [e for e in examples if not is_held_out(e["text"])]
    test = [e for e in examples if is_held_out(e["text"])]
    return train, test


@lru_cache(maxsize=1)
def classifier() -> NaiveBayes:
    """The production model, trained on every labelled example."""
    return NaiveBayes().fit(examples_load())


# Entities

SEGMENT_PATTERNS = {
    "cart_abandoners": r"cart abandon|abandon\w* (?:cart|checkout)|left (?:items|\w+) in (?:their |the |my )?cart|"
    r"added to cart but|warenkorbabbrecher|panier abandonn",
    "high_value_customers": r"high[- ]value|vip|best customers|big spenders|alto valor",
    "new_visitors": r"new visitors|first[- ]time visitors|nouveaux visiteurs|never bought",
    "engaged_users": r"engaged",
    "repeat_customers": r"repeat (?:customers|buyers)|bought (?:twice|more than once)|purchased more than once|loyal",
    "potential_customers": r"potential customers",
}
CHANNEL_PATTERNS = {
    "email": r"e-?mail|newsletter",
    "sms": r"\bsms\b|text message",
    "facebook": r"facebook|\bmeta\b|\bfb\b",
    "instagram": r"instagram|\big\b",
    "google_ads": r"google ads|adwords|\bsearch ads",
    "tiktok": r"tiktok",
    "linkedin": r"linkedin",
    "pinterest": r"pinterest",
    "push": r"push notification",
}
METRIC_PATTERNS = {
    "revenue": r"revenue|revenu\b|sales|chiffre d'affaires|money did we make",
    "orders": r"orders?\b|pedidos|purchases",
    "average_order_value": r"average order value|\baov\b|average customer spend",
    "conversion_rate": r"conversion",
    "funnel": r"funnel|drop[- ]?off",
    "cart_abandonment_rate": r"abandonment rate",
    "engagement": r"engagement",
    "roas": r"\broas\b",
    "ctr": r"\bctr\b|click[- ]through",
    "customers": r"customers?\b",
    "events": r"events?\b|page views",
}
SOURCE_PATTERNS = {
    "shopify": r"shop?ify|shopfy",
    "gtm": r"tag manager|\bgtm\b|ga4|datalayer",
    "facebook_pixel": r"pixel|conversions api",
    "csv": r"\bcsv\b|spreadsheet",
}
DATE_PATTERNS = [
    (r"\b(?:last|past|previous) (\d+) days?\b", lambda m: {"lastDays": int(m.group(1))}),
    (r"\b(?:last|past|previous) (\d+) weeks?\b", lambda m: {"lastDays": 7 * int(m.group(1))}),
    (r"\b(?:last|past|previous) (\d+) months?\b", lambda m: {"lastDays": 30 * int(m.group(1))}),
    (r"\byesterday\b", lambda m: {"relative": "yesterday"}),
    (r"\btoday\b", lambda m: {"relative": "today"}),
    (r"\b(?:this|current) week\b", lambda m: {"relative": "this_week"}),
    (r"\blast week\b", lambda m: {"relative": "last_week"}),
    (r"\b(?:this|current) month\b|\beste mes\b|\bce mois\b", lambda m: {"relative": "this_month"}),
    (r"\blast month\b", lambda m: {"relative": "last_month"}),
    (r"\bq([1-4])\b", lambda m: {"quarter": int(m.group(1))}),
    (r"\b(\d{4}-\d{2}-\d{2})\b", lambda m: {"date": m.group(1)}),
]


def _matches(patterns: dict[str, str], text: str) -> list[str]:
    return [name for name, pattern in patterns.items() if re.search(pattern, text)]


def entities_extract(*, text: str) -> dict:
    """Segments, channels, metrics, sources and date ranges named in a message."""
    lowered = normalize(text)
    entities: dict = {
        "segments": _matches(SEGMENT_PATTERNS, lowered),
        "channels": _matches(CHANNEL_PATTERNS, lowered),
        "metrics": _matches(METRIC_PATTERNS, lowered),
        "sources": _matches(SOURCE_PATTERNS, lowered),
    }
    dates = [builder(match) for pattern, builder in DATE_PATTERNS for match in re.finditer(pattern, lowered)]
    if dates:
        entities["dateRange"] = dates[0]
    return {key: value for key, value in entities.items() if value}


def intent_result(intent: str, confidence: float, entities: dict) -> dict:
    requires_auth, module, action = INTENTS[intent]
    return {
        "intent": intent,
        "confidence": round(float(confidence), 3),
        "requiresAuth": requires_auth,
        "module": module,
        "action": action,
        "entities": entities,
    }


def intent_classify(*, text: str) -> dict:
    """The offline classifier's answer (no network, deterministic)."""
    if not tokens_of(text):
        return intent_result("other", 1.0, {})
    intent, confidence = classifier().predict(text)
    return intent_result(intent, confidence, entities_extract(text=text))
