"""Publishing to a Facebook Page and an Instagram business account through the Graph API (official SDK).

Page: the Page's own token (`GET /{page-id}?fields=access_token`), then `POST /{page-id}/photos` (the image
uploaded with the caption) or `POST /{page-id}/feed` (text only). Instagram: `POST /{ig-user-id}/media` with a
public `image_url` and the caption, then `POST /{ig-user-id}/media_publish` with the container id.
Docs: https://developers.facebook.com/docs/pages-api/posts, .../instagram-platform/content-publishing
"""

from django.core.files import File

from integrations.adapters.meta_graph import graph_api, graph_call


def page_post(*, access_token: str, page_id: str, message: str, image: File | None) -> str:
    """Publish on the Page; returns the post id (`{page-id}_{post-id}`)."""
    api = graph_api(access_token=access_token)
    page = graph_call(
        lambda: api.call("GET", (page_id,), params={"fields": "access_token"}).json(), what="read the Page's token"
    )
    page_api = graph_api(access_token=page.get("access_token") or access_token)
    if image:
        with image.open("rb") as handle:

            def upload():
                handle.seek(0)  # a retried attempt sends the whole file again
                return page_api.call(
                    "POST", (page_id, "photos"), params={"message": message}, files={"source": handle}
                ).json()

            answer = graph_call(upload, what="publish the photo post")
        return str(answer.get("post_id") or answer["id"])
    answer = graph_call(
        lambda: page_api.call("POST", (page_id, "feed"), params={"message": message}).json(),
        what="publish the post",
    )
    return str(answer["id"])


def instagram_post(*, access_token: str, account_id: str, caption: str, image_url: str) -> str:
    """Create the media container and publish it; returns the Instagram media id."""
    api = graph_api(access_token=access_token)
    container = graph_call(
        lambda: api.call("POST", (account_id, "media"), params={"image_url": image_url, "caption": caption}).json(),
        what="create the Instagram media",
    )
    published = graph_call(
        lambda: api.call("POST", (account_id, "media_publish"), params={"creation_id": container["id"]}).json(),
        what="publish the Instagram media",
    )
    return str(published["id"])
