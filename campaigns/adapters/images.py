"""Campaign images: Freepik-style stock search + download at IMAGE_API_URL (with IMAGE_API_KEY),
else an on-brand image rendered here with Pillow from the palette, the campaign name and the logo.

Freepik API: `GET /resources?term=` lists images, `GET /resources/{id}/download` answers
`{"data": {"url": ...}}`; the key travels in the `x-freepik-api-key` header.
"""

import io
import time
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from accounts.models import Workspace
from ai.calls import elapsed_ms, provider_call_record
from marketing_ai.errors import ProviderUnavailable, RateLimited

from ..platforms import PlatformSpec
from .http import provider_get

PROVIDER = "freepik"
OFFLINE_PROVIDER = "local-image"
DEFAULT_PALETTE = ["#5B4BFF", "#141833", "#A59CFF"]
MAX_DOWNLOAD_BYTES = 15 * 1024 * 1024
LOGO_MARGIN_RATIO = 0.04


@dataclass
class ImageResult:
    image: Image.Image
    source: str
    metadata: dict = field(default_factory=dict)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType has only the bitmap font
        return ImageFont.load_default()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= max_width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines[:4]


def _logo_place(canvas: Image.Image, logo: Image.Image | None, requirements: dict) -> dict:
    """Paste the brand logo where the brand asks, at least its minimum width; returns the placement."""
    if logo is None:
        return {"present": False}
    position = requirements.get("position") or "bottom-right"
    width = max(int(canvas.width * max(float(requirements.get("minWidthRatio") or 0.12), 0.05)), 24)
    mark = ImageOps.contain(logo.convert("RGBA"), (width, width))
    margin = int(canvas.width * LOGO_MARGIN_RATIO)
    x = {"left": margin, "right": canvas.width - mark.width - margin}.get(position.split("-")[-1], 0)
    y = margin if position.startswith("top") else canvas.height - mark.height - margin
    if position == "center":
        x, y = (canvas.width - mark.width) // 2, (canvas.height - mark.height) // 2
    canvas.paste(mark, (x, y), mark)
    return {"present": True, "position": position, "width": mark.width, "height": mark.height}


def _caption(canvas: Image.Image, text: str, palette: list[str], size: int) -> None:
    draw = ImageDraw.Draw(canvas)
    band_height = int(canvas.height * 0.34)
    draw.rectangle((0, canvas.height - band_height, canvas.width, canvas.height), fill=_rgb(palette[1 % len(palette)]))
    font = _font(size)
    margin = int(canvas.width * 0.06)
    y = canvas.height - band_height + margin // 2
    for line in _wrap(draw, text, font, canvas.width - 2 * margin):
        draw.text((margin, y), line, fill=(255, 255, 255), font=font)
        y += int(size * 1.25)


def render_offline(
    *, spec: PlatformSpec, title: str, palette: list[str], logo: Image.Image | None, logo_requirements: dict
) -> tuple[Image.Image, dict]:
    """An on-brand image in the platform's size: palette blocks, the campaign name, the logo."""
    palette = palette or DEFAULT_PALETTE
    canvas = Image.new("RGB", (spec.width, spec.height), _rgb(palette[0]))
    draw = ImageDraw.Draw(canvas)
    if len(palette) > 2:
        radius = int(min(spec.width, spec.height) * 0.35)
        draw.ellipse((spec.width - radius, -radius // 2, spec.width + radius, radius * 3 // 2), fill=_rgb(palette[2]))
    size = max(18, int(spec.height * 0.07))
    _caption(canvas, title, palette, size)
    placement = _logo_place(canvas, logo, logo_requirements)
    return canvas, {"logo": placement, "textSize": size}


def _fit(photo: Image.Image, spec: PlatformSpec) -> Image.Image:
    return ImageOps.fit(photo.convert("RGB"), (spec.width, spec.height), method=Image.Resampling.LANCZOS)


def _get(client: httpx.Client, workspace: Workspace | None, url: str, **kwargs) -> httpx.Response:
    return provider_get(
        client, url, workspace=workspace, provider=PROVIDER, purpose="image", label="image API", **kwargs
    )


def stock_image_fetch(*, workspace: Workspace | None, query: str) -> tuple[Image.Image, dict]:
    """Search the stock API and download the first result (three logged requests)."""
    base = settings.IMAGE_API_URL.rstrip("/")
    headers = {"x-freepik-api-key": settings.IMAGE_API_KEY, "Accept": "application/json"}
    with httpx.Client(timeout=settings.AI_REQUEST_TIMEOUT_SECONDS, headers=headers) as client:
        found = _get(client, workspace, f"{base}/resources", params={"term": query, "limit": 1, "order": "relevance"})
        results = found.json().get("data") or []
        if not results:
            raise ProviderUnavailable("The image API found nothing for this campaign.")
        resource_id = results[0]["id"]
        link = _get(client, workspace, f"{base}/resources/{resource_id}/download").json().get("data") or {}
        if not link.get("url"):
            raise ProviderUnavailable("The image API gave no download link.")
        content = _get(client, workspace, link["url"]).content
    if len(content) > MAX_DOWNLOAD_BYTES:
        raise ProviderUnavailable("The downloaded image is too large.")
    try:
        photo = Image.open(io.BytesIO(content))
        photo.load()
    except (UnidentifiedImageError, OSError):
        raise ProviderUnavailable("The image API returned something that is not an image.") from None
    return photo, {"stockId": str(resource_id), "title": str(results[0].get("title", ""))[:200]}


def campaign_image(
    *,
    workspace: Workspace | None,
    spec: PlatformSpec,
    title: str,
    query: str,
    palette: list[str],
    logo: Image.Image | None,
    logo_requirements: dict,
) -> ImageResult:
    """The platform-sized image: a stock photo branded with caption and logo when a key is set, else offline."""
    palette = palette or DEFAULT_PALETTE
    if settings.IMAGE_API_KEY:
        try:
            photo, stock = stock_image_fetch(workspace=workspace, query=query)
        except (ProviderUnavailable, RateLimited) as exc:
            fallback = str(exc.message)
        else:
            canvas = _fit(photo, spec)
            size = max(18, int(spec.height * 0.07))
            _caption(canvas, title, palette, size)
            placement = _logo_place(canvas, logo, logo_requirements)
            return ImageResult(canvas, PROVIDER, {"logo": placement, "textSize": size, "stock": stock})
    else:
        fallback = ""
    started = time.monotonic()
    canvas, metadata = render_offline(
        spec=spec, title=title, palette=palette, logo=logo, logo_requirements=logo_requirements
    )
    provider_call_record(
        workspace=workspace,
        provider=OFFLINE_PROVIDER,
        purpose="image",
        status="ok",
        latency_ms=elapsed_ms(started),
        model="pillow",
    )
    if fallback:
        metadata["fallbackReason"] = fallback
    return ImageResult(canvas, OFFLINE_PROVIDER, metadata)
