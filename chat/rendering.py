"""Assistant Markdown to safe HTML: rendered with `markdown`, then sanitized with `nh3` (no script, no handlers)."""

import re

import markdown as markdown_lib
import nh3

EXTENSIONS = ["fenced_code", "tables", "sane_lists"]


BLOCK_START = re.compile(r"^\s{0,3}(?:[-*+]\s|\d+[.)]\s|\|)")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def blocks_separated(text: str) -> str:
    """Models write a list or a table right under a sentence; Markdown wants a blank line there, else the
    items run into the paragraph. Insert it (outside code fences)."""
    lines, out, fenced = (text or "").split("\n"), [], False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and BLOCK_START.match(line) and out and out[-1].strip() and not BLOCK_START.match(out[-1]):
            out.append("")
        out.append(line)
    return "\n".join(out)


def markdown_to_html(text: str) -> str:
    """Safe HTML for model-written Markdown: tags and attributes outside nh3's allow-list are dropped."""
    html = markdown_lib.markdown(blocks_separated(text), extensions=EXTENSIONS, output_format="html")
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")
