"""An open page hears a file's analysis move on over `ws/live/` (`file.progress`) until it is analysed."""

import pytest
from channels.db import database_sync_to_async

from ai.files.services import file_upload
from tests.accounts.test_live import _connected, _frames_until, _in_memory_layer, session_key  # noqa: F401

from .files_helpers import Q3_PAGES, pdf_bytes, upload_of

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_upload_reaches_an_open_page_as_file_progress_until_analysed(session_key, user):  # noqa: F811
    communicator = await _connected(session_key)

    upload = await database_sync_to_async(file_upload)(user=user, uploaded=upload_of("Q3.pdf", pdf_bytes(Q3_PAGES)))

    def analysed(frames):
        return any(f["type"] == "file.progress" and f["data"]["status"] == "succeeded" for f in frames)

    frames = await _frames_until(communicator, analysed)
    mine = [f["data"] for f in frames if f["type"] == "file.progress"]
    assert all(data["fileId"] == upload.id for data in mine)
    assert (mine[-1]["status"], mine[-1]["progress"]) == ("succeeded", 100)
    await communicator.disconnect()
