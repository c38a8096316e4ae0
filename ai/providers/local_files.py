"""The offline provider's work on uploaded files: a deterministic analysis from a file's profile and passages,
and chat answers that quote a file with its name and place ("According to Q3-report.pdf, page 2: ...").

Pure functions of the request context (ai/files builds it): no database, no network.
"""

import json
import re

MONEY_WORDS = ("revenue", "sales", "amount", "value", "price", "cost", "spend", "total", "profit", "budget")
COUNT_WORDS = ("orders", "units", "quantity", "clicks", "impressions", "conversions", "sessions", "visits", "leads")
ADVICE_WORDS = ("should", "recommend", "next step", "we will", "plan to", "need to", "must", "action", "priority")
_STOP_WORDS_TEXT = """
    the a an and or of to in on for with about what which who whom how why when where is are was were be
    been does do did say says said tell me my our your this that these those it its from by as at file
    document doc pdf csv xlsx sheet spreadsheet report upload uploaded according can could would please
    give show there their have has any much many more most than then also into over
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
STRONG_FIGURE = re.compile(r"\d\s?%|[$€£]\s?\d|\d\s?(?:percent|k|m|million|bn)\b", re.I)
HAS_FIGURE = re.compile(r"\d[\d,.]*\d")
MAX_FACTS = 6
MAX_ACTIONS = 4


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


IDENTIFIER = re.compile(r"(^|[_\s-])(id|code|zip|postcode|phone|number|no|ref|sku)$|^id[_\s-]", re.I)


def _is_measure(column: dict) -> bool:
    """A numeric column worth totalling: not an identifier (order_id, zip, sku...), not unique integers with a
    name that says nothing about money or counts."""
    if column.get("sum") is None or IDENTIFIER.search(column["name"]):
        return False
    name = column["name"].lower()
    named_measure = any(word in name for word in MONEY_WORDS + COUNT_WORDS)
    return named_measure or not (column["type"] == "integer" and column["distinct"] == column["filled"])


def _rank_numeric(column: dict) -> tuple:
    name = column["name"].lower()
    return (
        not any(word in name for word in MONEY_WORDS),
        not any(word in name for word in COUNT_WORDS),
        name.endswith("id") or name.startswith("id"),
    )


def _table_analysis(name: str, tables: list[dict]) -> dict:
    facts, actions = [], []
    summaries = []
    for table in tables:
        columns = table["columns"]
        where = f" in sheet {table['name']}" if len(tables) > 1 else ""
        summaries.append(
            f"{table['rowCount']:,} rows and {table['columnCount']} columns{where} "
            f"({', '.join(c['name'] for c in columns[:8])}{', ...' if len(columns) > 8 else ''})"
        )
        numeric = sorted((c for c in columns if _is_measure(c)), key=_rank_numeric)
        for column in numeric[:3]:
            facts.append(
                f"{column['name']}{where} totals {_fmt(column['sum'])} (min {_fmt(column['min'])}, max "
                f"{_fmt(column['max'])}, average {_fmt(column['mean'])} per row)."
            )
        for column in columns:
            if column["type"] == "date" and column.get("min"):
                facts.append(f"{column['name']}{where} runs from {column['min']} to {column['max']}.")
                break
        categories = [c for c in columns if c["type"] in ("text", "boolean") and c.get("topValues")]
        categories = [c for c in categories if 1 < c["distinct"] <= max(20, table["rowCount"] // 20)]
        for column in categories[:2]:
            top = column["topValues"][0]
            share = round(100 * top["count"] / column["filled"]) if column["filled"] else 0
            facts.append(
                f"{column['name']}{where}: the most common value is {top['value']} ({top['count']:,} rows, {share}%)"
                f" of {column['distinct']:,} distinct values."
            )
            if share >= 50 and numeric:
                actions.append(
                    f"Most rows are {top['value']} in {column['name']}: compare {numeric[0]['name']} across the other "
                    f"{column['name']} values and test a campaign aimed at the strongest of them."
                )
        gaps = sorted(
            (c for c in columns if c["empty"] and c["empty"] >= 0.1 * table["rowCount"]), key=lambda c: -c["empty"]
        )
        for column in gaps[:1]:
            actions.append(
                f"Fill in {column['name']}{where}: it is empty in {column['empty']:,} of {table['rowCount']:,} rows, "
                "which weakens any segment built on it."
            )
        if numeric:
            actions.append(
                f"Use the {numeric[0]['name']} total ({_fmt(numeric[0]['sum'])}) as the baseline for the next "
                "campaign's KPI targets."
            )
    actions.append(f'Ask the chat about it, e.g. "What does {name} say about {_topic(tables)}?"')
    summary = f"{name} is a table of " + "; ".join(summaries) + "."
    return {"summary": summary, "facts": facts[:MAX_FACTS], "actions": _unique(actions)[:MAX_ACTIONS]}


def _topic(tables: list[dict]) -> str:
    for table in tables:
        numeric = sorted((c for c in table["columns"] if _is_measure(c)), key=_rank_numeric)
        if numeric:
            return numeric[0]["name"]
    return tables[0]["columns"][0]["name"] if tables and tables[0]["columns"] else "its contents"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _split_sentences(text: str) -> list[str]:
    """Sentences of a passage; a line is never joined to the next (headings stay apart from the text)."""
    found = []
    for line in text.splitlines():
        found += [part.strip() for part in SENTENCE.split(" ".join(line.split())) if part.strip()]
    return found


def _sentences(passage: dict) -> list[str]:
    return [sentence for sentence in _split_sentences(passage.get("text", "")) if len(sentence) > 20]


def _figure_weight(sentence: str) -> int:
    """2 for a percentage or an amount of money, 1 for another figure of two digits or more, else 0."""
    if STRONG_FIGURE.search(sentence):
        return 2
    return 1 if HAS_FIGURE.search(sentence) else 0


def _where(passage: dict) -> str:
    return passage.get("label") or "the text"


def _document_analysis(name: str, profile: dict, passages: list[dict]) -> dict:
    pages = profile.get("pageCount")
    size = f"{pages} page{'s' if pages != 1 else ''}, " if pages else ""
    opening = next((sentences[0] for p in passages if (sentences := _sentences(p))), "")
    first_line = next((line.strip() for p in passages[:1] for line in p.get("text", "").splitlines()[:1]), "")
    title = f" (\u201c{first_line}\u201d)" if 3 < len(first_line) <= 100 and first_line != opening else ""
    summary = f"{name}{title} is a document of {size}{profile.get('words', 0):,} words."
    if profile.get("headings"):
        summary += f" Sections: {', '.join(profile['headings'][:6])}."
    if opening:
        summary += f" It opens: \u201c{opening[:240]}\u201d"
    if profile.get("note"):
        summary += " " + profile["note"]
    figures, actions = [], []
    for passage in passages:
        for sentence in _sentences(passage):
            lowered = sentence.lower()
            if any(word in lowered for word in ADVICE_WORDS):
                if len(actions) < MAX_ACTIONS - 1:
                    actions.append(f"{sentence[:240]} ({_where(passage)})")
            elif weight := _figure_weight(sentence):
                figures.append((-weight, len(figures), f"{_where(passage).capitalize()}: {sentence[:240]}"))
    # The strongest figures (percentages, money) first, in reading order within a weight.
    facts = [fact for *_, fact in sorted(figures)[:MAX_FACTS]]
    if not facts:
        facts = [f"{_where(p).capitalize()}: {s[:240]}" for p in passages[:3] for s in _sentences(p)[:1]]
    actions.append(f'Ask the chat about it, e.g. "What does {name} say about ...?" to get quoted passages.')
    return {"summary": summary, "facts": facts[:MAX_FACTS], "actions": _unique(actions)[:MAX_ACTIONS]}


def file_analysis_compose(context: dict) -> dict:
    """`{summary, facts[], actions[]}` for `context["file"]` ({name, profile, passages}); deterministic."""
    file = context.get("file") or {}
    name = file.get("name", "The file")
    profile = file.get("profile") or {}
    if profile.get("type") == "table":
        return _table_analysis(name, profile.get("tables") or [])
    return _document_analysis(name, profile, file.get("passages") or [])


def file_analysis_text(context: dict) -> str:
    return json.dumps(file_analysis_compose(context))


def question_terms(question: str) -> list[str]:
    """The words of a question worth looking for in a file (no stop words, no file names), in order."""
    words = re.findall(r"[a-z0-9][a-z0-9%$€£.,'-]*[a-z0-9%]|[a-z0-9]", question.lower())
    terms = [w.strip(".,'") for w in words if w not in STOP_WORDS and len(w) > 2 and "." not in w.strip(".,")]
    return list(dict.fromkeys(term for term in terms if term and term not in STOP_WORDS))


def _is_heading(sentence: str) -> bool:
    return not sentence.endswith((".", "!", "?", ":", ";", "\u201d", '"')) and len(sentence.split()) <= 8


def _best_sentences(text: str, terms: list[str], limit: int = 2) -> str:
    """The sentences of a passage that hold most of the terms; a matching heading stands for the text under it."""
    sentences = _split_sentences(text)
    body = [i for i, sentence in enumerate(sentences) if not _is_heading(sentence)] or list(range(len(sentences)))
    scores = [sum(term in sentence.lower() for term in terms) for sentence in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i), default=None)
    if best is None:
        return ""
    if not terms or scores[best] == 0:
        picked = body[:limit]
    elif _is_heading(sentences[best]):
        picked = [i for i in body if i > best][:limit] or [best]
    else:
        picked = sorted((i for i in body if scores[i]), key=lambda i: (-scores[i], i))[:limit]
    return " ".join(sentences[i] for i in sorted(picked))


def file_citation_answer(question: str, files: list[dict]) -> str | None:
    """An answer quoting the files the chat context picked for this question, each quote with its file and
    place; None when no file was picked with enough confidence (the usual answer is given instead)."""
    cited = [f for f in files or [] if f.get("cite") and f.get("passages")]
    if not cited:
        return None
    terms = question_terms(question)
    lines = []
    for file in cited[:2]:
        best = file["passages"][0].get("score", 0)
        quoted = [p for p in file["passages"] if p.get("score", 0) == best][:2]  # the strongest matches only
        for passage in quoted:
            quote = _best_sentences(passage["text"], terms)
            if quote:
                lines.append(f"According to {file['name']}, {passage['label']}: \u201c{quote[:600]}\u201d")
        if file.get("summary") and not terms:
            lines.append(f"In short: {file['summary']}")
    if not lines:
        return None
    return "\n\n".join(lines)
