"""Brand profile writes and brand-asset uploads (images checked by their real format, not their name)."""

import re
import warnings

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from accounts.models import User, Workspace
from accounts.policy import policy_require

from .compliance import dominant_colours
from .models import BrandAsset, BrandProfile

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP"}
MAX_ASSET_BYTES = 5 * 1024 * 1024
MAX_ASSET_SIDE = 6000
MIN_ASSET_SIDE = 16
HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
LOGO_POSITIONS = ["top-left", "top-right", "bottom-left", "bottom-right", "center"]
PROFILE_FIELDS = ("palette", "logo_requirements", "typography", "layout", "tone_of_voice", "banned_words")


def hex_normalize(value: str) -> str:
    """'#abc' / 'AABBCC' -> '#AABBCC'; ValidationError for anything else."""
    match = HEX.match(str(value).strip())
    if not match:
        raise ValidationError({"palette": f"“{value}” is not a hex colour like #5B4BFF."})
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits.upper()


@transaction.atomic
def brand_profile_update(*, workspace: Workspace, user: User, data: dict) -> BrandProfile:
    """Create or replace the workspace's brand rules (editors and up)."""
    policy_require(user=user, workspace=workspace, action="brand.edit")
    profile, _ = BrandProfile.objects.select_for_update().get_or_create(workspace=workspace)
    if "palette" in data:
        palette = []
        for colour in data["palette"] or []:
            normalized = hex_normalize(colour)
            if normalized not in palette:
                palette.append(normalized)
        data["palette"] = palette
    if "banned_words" in data:
        data["banned_words"] = sorted({w.strip().lower() for w in data["banned_words"] or [] if w.strip()})
    position = (data.get("logo_requirements") or {}).get("position")
    if position and position not in LOGO_POSITIONS:
        raise ValidationError({"logo_requirements": f"Position must be one of {', '.join(LOGO_POSITIONS)}."})
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(profile, field, data[field])
    profile.full_clean()
    profile.save()
    return profile


def image_inspect(upload) -> tuple[str, int, int]:
    """(format, width, height) read from the bytes; ValidationError with the reason when not an allowed image."""
    try:
        upload.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image_format, width, height = image.format, image.width, image.height
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError({"file": "The file is not a PNG, JPEG or WEBP image."}) from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError({"file": "The image is damaged or truncated."}) from None
    finally:
        upload.seek(0)
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError({"file": f"{image_format} images are not accepted; use PNG, JPEG or WEBP."})
    if max(width, height) > MAX_ASSET_SIDE or min(width, height) < MIN_ASSET_SIDE:
        raise ValidationError(
            {"file": f"Images must be between {MIN_ASSET_SIDE} and {MAX_ASSET_SIDE} pixels a side ({width}x{height})."}
        )
    return image_format, width, height


@transaction.atomic
def brand_asset_upload(
    *, workspace: Workspace, user: User, upload: UploadedFile, kind: str = BrandAsset.Kind.IMAGE, name: str = ""
) -> BrandAsset:
    """Store an image asset after checking its real format, size and dimensions."""
    policy_require(user=user, workspace=workspace, action="brand.edit")
    if kind not in BrandAsset.Kind.values:
        raise ValidationError({"kind": "Choose logo or image."})
    if upload.size > MAX_ASSET_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_ASSET_BYTES // (1024 * 1024)} MB."})
    image_format, width, height = image_inspect(upload)
    with Image.open(upload) as image:
        colours = [
            {"colour": "#{:02X}{:02X}{:02X}".format(*rgb), "share": round(share, 3)}
            for rgb, share in dominant_colours(image)
        ]
    upload.seek(0)
    extension = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[image_format]
    asset = BrandAsset(
        workspace=workspace,
        uploaded_by=user,
        kind=kind,
        name=(name or upload.name or "asset")[:200],
        image_format=image_format,
        width=width,
        height=height,
        size_bytes=upload.size,
        dominant_colors=colours[:6],
    )
    asset.file.save(f"{workspace.public_id.hex[:12]}-{kind}.{extension}", upload, save=False)
    asset.full_clean()
    asset.save()
    return asset
