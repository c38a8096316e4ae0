"""Per-platform content limits that generation respects and compliance checks."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    label: str
    max_chars: int  # body + hashtags, as the platform counts them
    max_headline: int
    max_hashtags: int
    ratio: str
    width: int
    height: int

    @property
    def ratio_value(self) -> float:
        return self.width / self.height


PLATFORMS: dict[str, PlatformSpec] = {
    "instagram": PlatformSpec("instagram", "Instagram", 2200, 80, 30, "4:5", 1080, 1350),
    "facebook": PlatformSpec("facebook", "Facebook", 2000, 40, 5, "1.91:1", 1200, 628),
    "linkedin": PlatformSpec("linkedin", "LinkedIn", 3000, 70, 5, "1.91:1", 1200, 627),
    "x": PlatformSpec("x", "X", 280, 50, 2, "16:9", 1600, 900),
    "email": PlatformSpec("email", "E-mail", 2000, 60, 0, "2:1", 600, 300),
}


def ratio_value(ratio: str) -> float:
    """'1.91:1' -> 1.91; '4:5' -> 0.8."""
    left, right = ratio.split(":")
    return float(left) / float(right)
