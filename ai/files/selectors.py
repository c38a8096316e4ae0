"""Reads of uploaded files, scoped to the reader's current workspace, and the files a chat question is about."""

import re
from functools import reduce
from operator import or_
from pathlib import PurePath

from django.db.models import Q, QuerySet, Sum

from accounts.models import User, Workspace
from accounts.policy import policy_allows
from accounts.selectors import workspace_current_for_user
from marketing_ai.db import rows_fetched
from marketing_ai.errors import NotFound

from ..providers.local_files import question_terms
from .models import FilePassage, FileUpload

FILES_CONSIDERED = 50
FILES_IN_CONTEXT = 3
PASSAGES_PER_FILE = 3
PASSAGES_SCANNED = 400
CONTEXT_PASSAGE_CHARS = 1_500
# Phrases that point at "the file I uploaded" without naming it: the latest analysed file is then the subject.
FILE_WORDS = re.compile(
    r"\b(the|this|that|my|our|last|latest|attached)\s+(file|document|pdf|spreadsheet|workbook|upload)\b|\buploaded\b",
    re.I,
)


def file_list_for_user(*, user: User) -> QuerySet[FileUpload]:
    """The uploads of the user's current workspace, newest first (without the stored analysis bodies' passages)."""
    workspace = workspace_current_for_user(user=user)
    return FileUpload.objects.filter(workspace=workspace).select_related("uploaded_by").order_by("-created_at", "-id")


def file_get_for_user(*, user: User, file_id: int) -> FileUpload:
    """One upload of the user's current workspace; NotFound (404) for anything else."""
    upload = file_list_for_user(user=user).filter(id=file_id).first()
    if upload is None:
        raise NotFound()
    return upload


def file_storage_used(*, workspace: Workspace) -> int:
    """Bytes of the workspace's stored files (what the quota counts)."""
    return FileUpload.objects.filter(workspace=workspace).aggregate(total=Sum("size"))["total"] or 0


def file_passages_for_upload(*, upload: FileUpload, limit: int = 200) -> list[FilePassage]:
    return list(
        FilePassage.objects.filter(workspace_id=upload.workspace_id, upload=upload).order_by("position")[:limit]
    )


def user_can_write_files(*, user: User) -> bool:
    """Whether the user may upload, reanalyse or delete files in the current workspace (pages hide the buttons)."""
    return policy_allows(user=user, workspace=workspace_current_for_user(user=user), action="files.upload")


def _name_tokens(name: str) -> set[str]:
    stem = PurePath(name).stem.lower()
    return {token for token in re.split(r"[\s_\-.()]+", stem) if len(token) > 1}


def _named_in(question: str, upload: FileUpload) -> int:
    """How clearly the question names the file: 3 for its full name, 2 for its stem, 1 for every word of the stem."""
    lowered = question.lower()
    name = upload.name.lower()
    if name in lowered:
        return 3
    stem = PurePath(name).stem
    if len(stem) > 2 and stem in lowered:
        return 2
    tokens = _name_tokens(upload.name)
    words = set(re.findall(r"[a-z0-9]+", lowered))
    return 1 if tokens and tokens <= words else 0


def _passage_entry(passage: FilePassage, score: int = 0) -> dict:
    return {"label": passage.label, "page": passage.page, "text": passage.text[:CONTEXT_PASSAGE_CHARS], "score": score}


def _score(passage: FilePassage, terms: list[str]) -> int:
    """Question terms in the passage, counted again when its place names them ("column revenue")."""
    text, label = passage.text.lower(), passage.label.lower()
    return sum(term in text for term in terms) + sum(term in label for term in terms)


def _best_passages(*, upload: FileUpload, terms: list[str]) -> list[tuple[int, FilePassage]]:
    """The file's passages (with their scores) that hold most of the question's terms, earliest first on ties;
    the first passages when none does."""
    passages = FilePassage.objects.filter(workspace_id=upload.workspace_id, upload=upload)
    if terms:
        matching = passages.filter(reduce(or_, (Q(text__icontains=term) for term in terms)))
        scored = [(_score(passage, terms), passage) for passage in matching.order_by("position")[:PASSAGES_SCANNED]]
        scored.sort(key=lambda entry: (-entry[0], entry[1].position))
        if scored:
            return scored[:PASSAGES_PER_FILE]
    return [(0, passage) for passage in passages.order_by("position")[:PASSAGES_PER_FILE]]


def _entry(upload: FileUpload, scored: list[tuple[int, FilePassage]], *, cite: bool) -> dict:
    return {
        "name": upload.name,
        "fileId": upload.id,
        "kind": upload.kind,
        "summary": (upload.analysis or {}).get("summary", ""),
        "facts": (upload.analysis or {}).get("facts", [])[:5],
        "passages": [_passage_entry(passage, score) for score, passage in scored],
        "cite": cite,
    }


def _unnamed_matches(*, workspace_id: int, terms: list[str]) -> list[dict]:
    """Files none of whose names the question gives, picked by one passage holding most of its words."""
    if len(terms) < 2:
        return []
    needed = max(2, (len(terms) * 2 + 2) // 3)
    matching = FilePassage.objects.filter(
        reduce(or_, (Q(text__icontains=term) for term in terms)),
        workspace_id=workspace_id,
        upload__status=FileUpload.Status.SUCCEEDED,
    ).select_related("upload")
    by_upload: dict[int, list[tuple[int, FilePassage]]] = {}
    for passage in matching.order_by("-upload_id", "position")[:PASSAGES_SCANNED]:
        score = _score(passage, terms)
        if score >= needed:
            by_upload.setdefault(passage.upload_id, []).append((score, passage))
    ranked = sorted(by_upload.values(), key=lambda found: -max(score for score, _ in found))
    entries = []
    for found in ranked[:FILES_IN_CONTEXT]:
        found.sort(key=lambda entry: (-entry[0], entry[1].position))
        entries.append(_entry(found[0][1].upload, found[:PASSAGES_PER_FILE], cite=True))
    return entries


# Asked before every chat answer, on the shared database thread, where most workspaces have no file: plain SQL
# finds whether there is any (the ORM's query building would cost several times the query; figures:
# bench/README.md, "bench/hot_paths.py"), and only uploads found are loaded as objects.
_UPLOADS_CONSIDERED_SQL = (
    f"SELECT id FROM {FileUpload._meta.db_table} WHERE workspace_id = %s AND status = %s "
    f"ORDER BY created_at DESC, id DESC LIMIT {FILES_CONSIDERED}"
)


def file_context_for_question(*, workspace_id: int, question: str) -> list[dict]:
    """The analysed files a chat question is about, each with its summary and the passages that answer it.

    A file is picked when the question names it, when it says "the file/report/PDF..." (the latest file), or
    when one of its passages holds most of the question's words. Every entry carries the file's name and each
    passage its place (page, section, line, column), which answers quote (`cite`).
    """
    if not question.strip():
        return []
    ids = [
        upload_id
        for (upload_id,) in rows_fetched(_UPLOADS_CONSIDERED_SQL, [workspace_id, FileUpload.Status.SUCCEEDED.value])
    ]
    if not ids:
        return []
    uploads = sorted(
        FileUpload.objects.filter(id__in=ids, status=FileUpload.Status.SUCCEEDED),
        key=lambda upload: ids.index(upload.id),
    )
    named = sorted(((score, u) for u in uploads if (score := _named_in(question, u))), key=lambda e: -e[0])
    chosen = [upload for _, upload in named[:FILES_IN_CONTEXT]]
    if not chosen and FILE_WORDS.search(question):
        chosen = uploads[:1]
    name_words = set().union(*(_name_tokens(upload.name) for upload in chosen)) if chosen else set()
    terms = [term for term in question_terms(question) if term not in name_words]
    if not chosen:
        return _unnamed_matches(workspace_id=workspace_id, terms=terms)
    return [_entry(upload, _best_passages(upload=upload, terms=terms), cite=True) for upload in chosen]
