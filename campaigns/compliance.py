"""Brand-compliance scoring: four weighted rules measured on the variant's image, copy and metadata.

Weights (the seed's): colour palette 25%, logo requirements 30%, typography 20%, layout 25%.
Each rule scores 0..1 as the share of its checks that pass (colour: the share of image pixels
close to the palette). Total = sum(weight * rule score), rounded to 2 places. At or above the
workspace threshold a variant is `passed`, below it `manual_review`; a banned word is a blocking
failure that always goes to manual review.
"""

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from PIL import Image

from .platforms import PLATFORMS, ratio_value

WEIGHTS = {"colour": Decimal("0.25"), "logo": Decimal("0.30"), "typography": Decimal("0.20"), "layout": Decimal("0.25")}
COLOUR_MATCH_DELTA_E = 20.0  # CIE76 ΔE at or below which a pixel counts as on-palette
COLOUR_MISS_DELTA_E = 50.0  # at or above: off-palette; in between counts linearly
RATIO_TOLERANCE = 0.02
DEFAULT_CTA_PHRASES = [
    "shop now",
    "buy now",
    "learn more",
    "sign up",
    "subscribe",
    "get started",
    "book now",
    "order now",
    "discover",
    "try it",
    "join",
    "download",
    "claim",
    "register",
    "contact us",
]


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    value = value.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def rgb_to_lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB (D65) to CIE L*a*b*."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    x = (r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047
    y = r * 0.2126 + g * 0.7152 + b * 0.0722
    z = (r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    return math.dist(lab1, lab2)


def dominant_colours(image: Image.Image, *, count: int = 8) -> list[tuple[tuple[int, int, int], float]]:
    """The image's main colours with their pixel share (median-cut quantisation of a thumbnail)."""
    thumb = image.convert("RGB")
    thumb.thumbnail((96, 96))
    quantised = thumb.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    total = thumb.width * thumb.height
    result = []
    for pixels, index in sorted(quantised.getcolors() or [], reverse=True):
        rgb = tuple(palette[index * 3 : index * 3 + 3])
        result.append((rgb, pixels / total))
    return result


def colour_score(image: Image.Image | None, palette: list[str]) -> dict:
    """Share of pixels near a palette colour (white and near-black count as neutral and match)."""
    if not palette:
        return {"score": 1.0, "checks": [{"rule": "palette defined", "passed": True, "detail": "no palette set"}]}
    if image is None:
        return {"score": 0.0, "checks": [{"rule": "image present", "passed": False, "detail": "no image"}]}
    brand = [rgb_to_lab(hex_to_rgb(colour)) for colour in palette]
    neutrals = [rgb_to_lab((255, 255, 255)), rgb_to_lab((0, 0, 0))]
    measured, score = [], 0.0
    for rgb, share in dominant_colours(image):
        lab = rgb_to_lab(rgb)
        distance = min(delta_e(lab, ref) for ref in brand + neutrals)
        if distance <= COLOUR_MATCH_DELTA_E:
            match = 1.0
        elif distance >= COLOUR_MISS_DELTA_E:
            match = 0.0
        else:
            match = (COLOUR_MISS_DELTA_E - distance) / (COLOUR_MISS_DELTA_E - COLOUR_MATCH_DELTA_E)
        score += share * match
        measured.append(
            {"colour": "#{:02X}{:02X}{:02X}".format(*rgb), "share": round(share, 3), "deltaE": round(distance, 1)}
        )
    return {
        "score": round(min(score, 1.0), 4),
        "checks": [{"rule": "pixels on palette", "passed": score >= 0.8, "detail": f"{score:.0%} of the image"}],
        "dominantColours": measured,
    }


def _checks_score(checks: list[dict]) -> float:
    return sum(1 for check in checks if check["passed"]) / len(checks) if checks else 1.0


def logo_score(metadata: dict, requirements: dict, image_width: int) -> dict:
    """Logo present, in the required position and at least the minimum width (from the variant's metadata)."""
    logo = metadata.get("logo") or {}
    checks = []
    if not requirements.get("required"):
        checks.append({"rule": "logo optional", "passed": True, "detail": "no logo required"})
        return {"score": 1.0, "checks": checks}
    present = bool(logo.get("present"))
    checks.append({"rule": "logo present", "passed": present, "detail": "" if present else "no logo placed"})
    position = requirements.get("position")
    if position:
        actual = logo.get("position", "")
        checks.append({"rule": "logo position", "passed": present and actual == position, "detail": actual or "none"})
    min_ratio = float(requirements.get("minWidthRatio") or 0)
    if min_ratio:
        width = int(logo.get("width") or 0)
        ratio = width / image_width if image_width else 0.0
        checks.append({"rule": "logo size", "passed": present and ratio >= min_ratio, "detail": f"{ratio:.2f}"})
    return {"score": round(_checks_score(checks), 4), "checks": checks}


def banned_words_found(text: str, banned: list[str]) -> list[str]:
    lowered = text.lower()
    return [w for w in banned if w.strip() and re.search(r"\b" + re.escape(w.strip().lower()) + r"\b", lowered)]


def typography_score(*, headline: str, body: str, metadata: dict, rules: dict, banned: list[str], spec) -> dict:
    """Copy rules: banned words, headline length, no shouting, the brand's fonts and minimum size."""
    text = f"{headline} {body}"
    found = banned_words_found(text, banned)
    checks = [
        {"rule": "no banned words", "passed": not found, "detail": ", ".join(found), "blocking": True},
        {"rule": "headline length", "passed": len(headline) <= spec.max_headline, "detail": f"{len(headline)} chars"},
    ]
    if rules.get("noAllCaps", True):
        words = re.findall(r"[A-Za-z]{4,}", text)
        shouting = [w for w in words if w.isupper()]
        checks.append({"rule": "no all-caps words", "passed": len(shouting) <= 1, "detail": " ".join(shouting[:3])})
    fonts = [f.lower() for f in rules.get("fonts") or []]
    font = (metadata.get("font") or {}).get("family", "")
    if fonts:
        checks.append({"rule": "brand font", "passed": font.lower() in fonts, "detail": font or "none"})
    min_size = int(rules.get("minFontSize") or 0)
    if min_size:
        size = int((metadata.get("font") or {}).get("size") or 0)
        checks.append({"rule": "minimum font size", "passed": size >= min_size, "detail": f"{size}px"})
    return {"score": round(_checks_score(checks), 4), "checks": checks}


def layout_score(*, body: str, hashtags: list, cta: str, width: int, height: int, layout: dict, spec) -> dict:
    """Format rules: the platform's ratio and length, hashtag count, a call to action when required."""
    tags = " ".join(f"#{t}" for t in hashtags)
    length = len(" ".join(p for p in (body, tags) if p))
    max_tags = min(spec.max_hashtags, int(layout.get("maxHashtags", spec.max_hashtags)))
    actual_ratio = width / height if width and height else 0.0
    expected_ratio = ratio_value(spec.ratio)
    checks = [
        {
            "rule": "image ratio",
            "passed": bool(actual_ratio) and abs(actual_ratio - expected_ratio) / expected_ratio <= RATIO_TOLERANCE,
            "detail": f"{width}x{height} for {spec.ratio}",
        },
        {"rule": "text length", "passed": length <= spec.max_chars, "detail": f"{length}/{spec.max_chars}"},
        {"rule": "hashtag count", "passed": len(hashtags) <= max_tags, "detail": f"{len(hashtags)}/{max_tags}"},
    ]
    if layout.get("requireCta", True):
        phrases = [p.lower() for p in (layout.get("ctaPhrases") or DEFAULT_CTA_PHRASES)]
        haystack = f"{cta} {body}".lower()
        checks.append(
            {"rule": "call to action", "passed": any(p in haystack for p in phrases), "detail": cta or "missing"}
        )
    return {"score": round(_checks_score(checks), 4), "checks": checks}


def weighted_total(rule_scores: dict[str, float]) -> Decimal:
    """Σ weight × rule score, rounded half-up to 2 places and clamped to 0.00..1.00."""
    total = sum((WEIGHTS[rule] * Decimal(str(rule_scores[rule])) for rule in WEIGHTS), Decimal("0"))
    return min(max(total, Decimal("0")), Decimal("1")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def blocking_failures(breakdown: dict) -> list[str]:
    """Failed checks that send a variant to review whatever its score (a banned word is never auto-approved)."""
    return [
        f"{check['rule']}: {check['detail']}"
        for result in breakdown.values()
        for check in result.get("checks", [])
        if check.get("blocking") and not check["passed"]
    ]


def route(score: Decimal, threshold: Decimal, *, blocking: list | None = None) -> str:
    """`passed` at or above the workspace threshold (and no blocking failure), else `manual_review`."""
    return "passed" if score >= threshold and not blocking else "manual_review"


def score_content(
    *,
    platform: str,
    headline: str,
    body: str,
    hashtags: list,
    cta: str,
    image: Image.Image | None,
    metadata: dict,
    brand,
) -> tuple[Decimal, dict]:
    """Score one variant against a BrandProfile (or None: no rules); returns (score, breakdown)."""
    spec = PLATFORMS[platform]
    width, height = (image.width, image.height) if image is not None else (0, 0)
    palette = list(getattr(brand, "palette", None) or [])
    rules = {
        "colour": colour_score(image, palette),
        "logo": logo_score(metadata, dict(getattr(brand, "logo_requirements", None) or {}), width),
        "typography": typography_score(
            headline=headline,
            body=body,
            metadata=metadata,
            rules=dict(getattr(brand, "typography", None) or {}),
            banned=list(getattr(brand, "banned_words", None) or []),
            spec=spec,
        ),
        "layout": layout_score(
            body=body,
            hashtags=hashtags,
            cta=cta,
            width=width,
            height=height,
            layout=dict(getattr(brand, "layout", None) or {}),
            spec=spec,
        ),
    }
    total = weighted_total({rule: result["score"] for rule, result in rules.items()})
    for rule, result in rules.items():
        result["weight"] = float(WEIGHTS[rule])
        result["weighted"] = round(float(WEIGHTS[rule]) * result["score"], 4)
    return total, rules
