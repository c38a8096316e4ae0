"""Assistant Markdown to safe HTML: rendered with `markdown`, then sanitized with `nh3` (no script, no handlers)."""

import markdown as markdown_lib
import nh3

EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


def markdown_to_html(text: str) -> str:
    """Safe HTML for model-written Markdown: tags and attributes outside nh3's allow-list are dropped."""
    html = markdown_lib.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")
