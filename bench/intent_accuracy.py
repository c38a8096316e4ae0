"""Intent classifier accuracy on the held-out split of ai/intent/examples.jsonl; prints JSON.

Beside the classifier, the same run measures two baselines on the same held-out examples: the majority
class, and a keyword rule set (the lexicon concepts alone, first match wins). `confidenceGate` is the chat's use
of it: how many questions it answers alone at INTENT_LOCAL_CONFIDENCE, and how accurately.
Run: .venv/bin/python bench/intent_accuracy.py
"""

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")

import django  # noqa: E402

django.setup()

import hashlib  # noqa: E402

from django.conf import settings  # noqa: E402

from ai.intent.classifier import CONCEPTS, INTENTS, NaiveBayes, examples_load, normalize, split_examples  # noqa: E402

FOLDS = 5

KEYWORD_ORDER = [
    ("greet", "greeting"),
    ("content", "content_creation"),
    ("source", "data_source_help"),
    ("campaign", "campaign_recommendation"),
    ("metric", "performance_question"),
    ("general", "general_marketing"),
]


def keyword_baseline(text: str) -> str:
    lowered = normalize(text)
    for concept, intent in KEYWORD_ORDER:
        if re.search(CONCEPTS[concept], lowered):
            return intent
    return "other"


def evaluate(predict, examples: list[dict]) -> dict:
    labels = list(INTENTS)
    confusion = {actual: dict.fromkeys(labels, 0) for actual in labels}
    for example in examples:
        confusion[example["intent"]][predict(example["text"])] += 1
    correct = sum(confusion[label][label] for label in labels)
    per_intent = {}
    for label in labels:
        predicted = sum(confusion[actual][label] for actual in labels)
        actual = sum(confusion[label].values())
        per_intent[label] = {
            "precision": round(confusion[label][label] / predicted, 3) if predicted else 0.0,
            "recall": round(confusion[label][label] / actual, 3) if actual else 0.0,
            "support": actual,
        }
    return {"accuracy": round(correct / len(examples), 3), "perIntent": per_intent, "confusion": confusion}


def fold_of(text: str) -> int:
    # Fold 0 is exactly the held-out split of ai.intent.classifier.is_held_out.
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % FOLDS


def cross_validation(examples: list[dict]) -> dict:
    """Accuracy of a model trained on four folds and tested on the fifth, for each fold."""
    scores = []
    for fold in range(FOLDS):
        train = [e for e in examples if fold_of(e["text"]) != fold]
        test = [e for e in examples if fold_of(e["text"]) == fold]
        model = NaiveBayes().fit(train)
        scores.append(round(sum(model.predict(e["text"])[0] == e["intent"] for e in test) / len(test), 3))
    return {"folds": scores, "mean": round(sum(scores) / len(scores), 3), "min": min(scores)}


def confidence_gate(examples: list[dict], threshold: float) -> dict:
    """What the chat's gate does (ai.intent.analysis.aintent_for_answer): the classifier answers alone at or above
    `threshold` and the model is asked below it. Measured on the cross-validation folds' predictions."""
    predictions = []
    for fold in range(FOLDS):
        model = NaiveBayes().fit([e for e in examples if fold_of(e["text"]) != fold])
        predictions += [(*model.predict(e["text"]), e["intent"]) for e in examples if fold_of(e["text"]) == fold]
    sure = [(label, actual) for label, confidence, actual in predictions if round(confidence, 3) >= threshold]
    unsure = [(label, actual) for label, confidence, actual in predictions if round(confidence, 3) < threshold]

    def accuracy(pairs):
        return round(sum(label == actual for label, actual in pairs) / len(pairs), 3) if pairs else None

    return {
        "threshold": threshold,
        "answeredLocally": round(len(sure) / len(predictions), 3),
        "accuracyAnsweredLocally": accuracy(sure),
        "classifierAccuracyOnThoseAskedToTheModel": accuracy(unsure),
        "classifierAccuracyOverall": accuracy(sure + unsure),
    }


def main() -> dict:
    examples = examples_load()
    train, test = split_examples(examples)
    model = NaiveBayes().fit(train)
    majority = Counter(e["intent"] for e in train).most_common(1)[0][0]
    result = {
        "examples": len(examples),
        "train": len(train),
        "heldOut": len(test),
        "classifier": evaluate(lambda text: model.predict(text)[0], test),
        "baselines": {
            "majorityClass": evaluate(lambda text: majority, test)["accuracy"],
            "keywordRules": evaluate(keyword_baseline, test)["accuracy"],
        },
        "crossValidation": cross_validation(examples),
        "confidenceGate": confidence_gate(examples, settings.INTENT_LOCAL_CONFIDENCE),
        "trainingAccuracy": evaluate(lambda text: model.predict(text)[0], train)["accuracy"],
        "target": 0.85,
    }
    result["meetsTarget"] = result["classifier"]["accuracy"] >= result["target"]
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
