"""The one place where user-written Markdown becomes HTML in CareCommons.

Library resources, stories, comments and live chat all go through this module,
so every safety rule lives here and nowhere else:

1. Markdown is parsed by python-markdown with raw HTML *escaped* (the
   ``html_block`` preprocessor and the ``html`` inline pattern are removed):
   a user who types ``<b>`` sees ``<b>``; no user-authored tag ever reaches
   the page, which keeps the output predictable for chat users typing ``<3``.
2. Our own tree processors turn ``- [ ] item`` into disabled checkboxes and
   replace images that are not project attachments with their alt text.
3. The HTML is then cleaned by one allow-list ``nh3.Cleaner`` built at import
   (defence in depth: even if a Markdown extension misbehaved, only the
   elements, attributes, classes and URL schemes listed below survive).
4. Task-list checkboxes are inserted *after* cleaning, as a constant string,
   in place of secret per-process tokens (see ``_CHECKBOXES``).

The module deliberately has no Flask import: it returns plain ``str`` and the
web layer wraps it in ``markupsafe.Markup``.
"""

from __future__ import annotations

import contextvars
import functools
import html
import re
import secrets
import threading
from html.parser import HTMLParser
from typing import Any, cast
from urllib.parse import unquote
from xml.etree import ElementTree as etree

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension, slugify_unicode
from markdown.treeprocessors import Treeprocessor

__all__ = [
    "DEFAULT_ATTACHMENT_PREFIX",
    "HEADING_ID_PREFIX",
    "LINK_REL",
    "plain_text",
    "render",
    "render_inline",
    "toc",
]

DEFAULT_ATTACHMENT_PREFIX = "/attachments/"

# Heading ids get a prefix that is not a valid JavaScript identifier, so a
# heading such as "# config" cannot clobber ``window.config`` on the page.
HEADING_ID_PREFIX = "h-"

# ``ugc`` + ``nofollow`` tell search engines the link is user content (spam
# deterrent); ``noopener`` stops a target page from scripting our window.
LINK_REL = "noopener nofollow ugc"

ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# Exactly the elements our Markdown configuration can emit; anything else is
# dropped by the cleaner. ``input`` is deliberately absent (see _CHECKBOXES).
ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "div", "em", "hr", "img", "li", "ol",
        "p", "pre", "strong", "sup", "table", "tbody", "td", "th", "thead", "tr",
        "ul", *_HEADINGS,
    }
)

# ``rel`` is absent on purpose: nh3 sets it from ``link_rel`` and refuses to
# do so when ``rel`` is also an allowed attribute. ``class`` is absent because
# classes are governed value-by-value by ``_ALLOWED_CLASSES``.
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "li": {"id"},  # footnote bodies: id="fn:1"
    "sup": {"id"},  # footnote references: id="fnref:1"
    "ol": {"start"},  # sane_lists keeps "3. item" numbering
    **{heading: {"id"} for heading in _HEADINGS},
}

_ALIGNMENTS = {"left", "right", "center"}

# Attributes whose *values* are constrained; they must not also appear in
# ``_ALLOWED_ATTRIBUTES`` (nh3 would then accept any value).
_ALLOWED_ATTRIBUTE_VALUES: dict[str, dict[str, set[str]]] = {
    "th": {"align": _ALIGNMENTS},
    "td": {"align": _ALIGNMENTS},
}

_ALLOWED_CLASSES: dict[str, set[str]] = {
    "a": {"footnote-ref", "footnote-backref"},
    "div": {"footnote", "toc"},
    "li": {"task-list-item"},
}

_URL_CONTROL_RE = re.compile(r"[\x00-\x20\x7f\\]")
_URL_BLANKS_RE = re.compile(r"[\x00-\x20\x7f]")
_URL_SCHEME_RE = re.compile(r"([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_TASK_MARKER_RE = re.compile(r"\[([ xX])\](?:\s+|$)")

# Checkbox markup keyed by its placeholder. The cleaner never lets an
# ``input`` through; our tree processor writes a placeholder token instead and
# ``_insert_checkboxes`` swaps it for this constant markup after cleaning.
# Why not let nh3 keep ``input``: it can restrict values but cannot require
# ``type``/``disabled`` to be present (a bare ``<input>`` is a text field), and
# its ``set_tag_attribute_values`` emits forced attributes in a random order
# per process, which breaks output caching. The tokens are random per process
# so user text cannot forge them (even "&#2;"-style control characters survive
# nh3, so a fixed token would be guessable).
_CHECKBOX_TOKEN_PREFIX = f"cc-checkbox-{secrets.token_hex(8)}-"
_CHECKBOXES: dict[str, str] = {
    f"{_CHECKBOX_TOKEN_PREFIX}x": '<input type="checkbox" disabled checked aria-label="done">',
    f"{_CHECKBOX_TOKEN_PREFIX}o": '<input type="checkbox" disabled aria-label="to do">',
}

# The image prefix in force for the clean running on this thread/task. The
# cleaner is shared, so the per-call prefix reaches its attribute filter this
# way; the default ``None`` means "no image is allowed" (fail closed).
_IMAGE_PREFIX: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "carecommons_markdown_image_prefix", default=None
)


# --------------------------------------------------------------------------
# URL rules
# --------------------------------------------------------------------------


def _validated_prefix(prefix: str) -> str:
    """Reject attachment prefixes that would let images leave the project.

    A prefix must be an absolute path ("/attachments/") or an http(s) URL of
    our own storage, and must end with "/" so "/attachments" cannot also
    match "/attachments-evil/". Protocol-relative "//host/" is refused.
    """
    if not prefix.endswith("/"):
        raise ValueError(f"attachment_prefix must end with '/': {prefix!r}")
    if _URL_CONTROL_RE.search(prefix):
        raise ValueError(f"attachment_prefix has control/space/backslash: {prefix!r}")
    lowered = prefix.lower()
    if lowered.startswith(("http://", "https://")):
        return prefix
    if prefix.startswith("/") and not prefix.startswith("//"):
        return prefix
    raise ValueError(f"attachment_prefix must be '/path/' or an http(s) URL: {prefix!r}")


def _has_dot_segment(path: str) -> bool:
    """True if ``path`` climbs out of its directory once decoded.

    Browsers treat "%2e%2e" like "..", so percent-decoding is repeated until
    stable before looking for "." or ".." segments.
    """
    for _ in range(4):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return any(segment in (".", "..") for segment in path.replace("\\", "/").split("/"))


def has_foreign_scheme(url: str) -> bool:
    """Whether ``url`` names a scheme outside ``ALLOWED_URL_SCHEMES`` once
    every blank and control character is squeezed out.

    nh3 already refuses "javascript:" and friends, but python-markdown turns a
    tab inside "java<TAB>script:" into spaces, which nh3 (and today's
    browsers) read as a relative URL. Refusing it outright makes "no
    obfuscated scheme survives" hold without relying on any parser's quirks.
    """
    match = _URL_SCHEME_RE.match(_URL_BLANKS_RE.sub("", url))
    return match is not None and match.group(1).lower() not in ALLOWED_URL_SCHEMES


def is_attachment_url(src: str, prefix: str | None) -> bool:
    """Whether ``src`` points inside the project's attachment store.

    Images are restricted to attachments so user content cannot track readers
    or hotlink arbitrary hosts; control characters and backslashes are refused
    because browsers silently drop or reinterpret them.
    """
    if not prefix or not src.startswith(prefix):
        return False
    if _URL_CONTROL_RE.search(src):
        return False
    path = re.split(r"[?#]", src[len(prefix):], maxsplit=1)[0]
    return not _has_dot_segment(path)


# --------------------------------------------------------------------------
# The sanitiser (built once; nh3 cleaners are immutable and thread-safe)
# --------------------------------------------------------------------------


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 hook: drop blank-obfuscated schemes and images outside the current
    attachment prefix (the prefix varies per call; the cleaner does not)."""
    if attribute in ("href", "src") and has_foreign_scheme(value):
        return None
    if tag == "img" and attribute == "src" and not is_attachment_url(value, _IMAGE_PREFIX.get()):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel=LINK_REL,
    tag_attribute_values=_ALLOWED_ATTRIBUTE_VALUES,
    url_schemes=set(ALLOWED_URL_SCHEMES),
    allowed_classes=_ALLOWED_CLASSES,
)


def _insert_checkboxes(clean_html: str) -> str:
    """Swap checkbox placeholders in already-cleaned HTML for constant markup."""
    if _CHECKBOX_TOKEN_PREFIX not in clean_html:
        return clean_html
    for token, markup in _CHECKBOXES.items():
        clean_html = clean_html.replace(token, markup)
    return clean_html


def _sanitise(fragment: str, image_prefix: str | None) -> str:
    """Clean ``fragment`` with the shared cleaner under ``image_prefix``."""
    token = _IMAGE_PREFIX.set(image_prefix)
    try:
        return _CLEANER.clean(fragment)
    finally:
        _IMAGE_PREFIX.reset(token)


# --------------------------------------------------------------------------
# Our python-markdown extension: task lists, attachment-only images, inline
# --------------------------------------------------------------------------


def _append_text(parent: etree.Element, text: str | None) -> None:
    """Append ``text`` after the last child of ``parent`` (ElementTree keeps
    text in ``.text``/``.tail``, so "append" depends on whether children exist)."""
    if not text:
        return
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _replace_with_text(parent: etree.Element, child: etree.Element, text: str) -> None:
    """Remove ``child`` from ``parent``, leaving ``text`` (and its tail) in place."""
    index = list(parent).index(child)
    replacement = text + (child.tail or "")
    if index == 0:
        parent.text = (parent.text or "") + replacement
    else:
        previous = parent[index - 1]
        previous.tail = (previous.tail or "") + replacement
    parent.remove(child)


def _task_marker(item: etree.Element) -> tuple[etree.Element, re.Match[str]] | None:
    """Find the "[ ]"/"[x]" marker of list item ``item`` and the element holding it.

    Tight lists keep the text on the ``li``; loose lists wrap it in a ``p``.
    """
    holder = item
    if (not item.text or not item.text.strip()) and len(item) and item[0].tag == "p":
        holder = item[0]
    match = _TASK_MARKER_RE.match(holder.text or "")
    return (holder, match) if match else None


class _TaskListTreeprocessor(Treeprocessor):
    """Mark ``- [ ] todo`` / ``- [x] done`` items for disabled checkboxes.

    Writes a placeholder token (replaced after cleaning, see ``_CHECKBOXES``)
    and the ``task-list-item`` class. Runs after inline processing, so
    "\\[ ]" (escaped by the author) is still a placeholder here and
    deliberately stays literal text.
    """

    def run(self, root: etree.Element) -> None:
        for item in root.iter("li"):
            found = _task_marker(item)
            if found is not None:
                holder, match = found
                state = "x" if match.group(1) in "xX" else "o"
                holder.text = f"{_CHECKBOX_TOKEN_PREFIX}{state} {match.string[match.end():]}"
                item.set("class", "task-list-item")


class _AttachmentImageTreeprocessor(Treeprocessor):
    """Replace every image not under ``prefix`` with its alt text.

    The cleaner would only strip the ``src``; doing it here removes the whole
    element and keeps the author's description readable. ``prefix`` is set
    per conversion (instances are per thread, see ``_Renderers``).
    """

    prefix: str | None = None

    def run(self, root: etree.Element) -> None:
        doomed = [
            (parent, child)
            for parent in root.iter()
            for child in parent
            if child.tag == "img" and not is_attachment_url(child.get("src", ""), self.prefix)
        ]
        for parent, image in doomed:
            _replace_with_text(parent, image, image.get("alt", ""))


class _UnwrapParagraphsTreeprocessor(Treeprocessor):
    """For one-line output: drop ``<p>`` wrappers, separating paragraphs by ``<br>``."""

    def run(self, root: etree.Element) -> None:
        blocks = list(root)
        for block in blocks:
            root.remove(block)
        for position, block in enumerate(blocks):
            if block.tag != "p":
                root.append(block)
                continue
            if position:
                etree.SubElement(root, "br")
            _append_text(root, block.text)
            for child in list(block):
                root.append(child)


# Block-level syntax that has no place in a chat line.
_INLINE_MODE_DROPPED_BLOCKS = (
    "indent", "code", "hashheader", "setextheader", "hr", "olist", "ulist", "quote", "reference",
)


class _CareCommonsExtension(Extension):
    """Escape raw HTML and add our tree processors; ``inline`` selects chat mode."""

    def __init__(self, *, inline: bool = False) -> None:
        super().__init__()
        self.inline = inline

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (python-markdown API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # After inline (20) and the footnote processors (19, 15); before toc (5).
        md.treeprocessors.register(_AttachmentImageTreeprocessor(md), "attachment_images", 12)
        if self.inline:
            for name in _INLINE_MODE_DROPPED_BLOCKS:
                md.parser.blockprocessors.deregister(name)
            md.treeprocessors.register(_UnwrapParagraphsTreeprocessor(md), "unwrap_paragraphs", 4)
        else:
            md.treeprocessors.register(_TaskListTreeprocessor(md), "task_list", 13)


def _slugify_heading(value: str, separator: str) -> str:
    """Unicode-friendly heading slug, prefixed against DOM clobbering."""
    return HEADING_ID_PREFIX + slugify_unicode(value, separator)


def _build_document_markdown() -> markdown.Markdown:
    """Markdown configured for full documents (resources, stories, comments)."""
    return markdown.Markdown(
        output_format="html",
        extensions=[
            TableExtension(use_align_attribute=True),  # align=, never style=
            TocExtension(marker="", slugify=_slugify_heading, toc_class="toc"),
            FootnoteExtension(),
            FencedCodeExtension(),
            SaneListExtension(),
            _CareCommonsExtension(inline=False),
        ],
    )


def _build_inline_markdown() -> markdown.Markdown:
    """Markdown configured for one-line text: emphasis, code, links only."""
    return markdown.Markdown(output_format="html", extensions=[_CareCommonsExtension(inline=True)])


class _Renderers(threading.local):
    """Per-thread Markdown instances.

    A ``markdown.Markdown`` keeps per-document state (footnotes, references,
    toc) and is not thread-safe. Building one measured ~0.15 ms: small next to
    a 2 KB document (~2.5 ms) but more than a whole chat line (~0.1 ms), so
    each thread (or gevent greenlet, when patched) keeps its own and calls
    ``reset()`` before every use.
    """

    def __init__(self) -> None:
        self.document = _build_document_markdown()
        self.inline = _build_inline_markdown()


_RENDERERS = _Renderers()


def _convert(md: markdown.Markdown, text: str, image_prefix: str | None) -> str:
    """Run ``md`` on ``text`` from a clean state; the result is NOT yet safe."""
    md.reset()
    gate = cast(_AttachmentImageTreeprocessor, md.treeprocessors["attachment_images"])
    gate.prefix = image_prefix
    return md.convert(text)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def render(text: str, *, toc: bool = False, attachment_prefix: str = DEFAULT_ATTACHMENT_PREFIX) -> str:
    """Render a Markdown document to sanitised HTML.

    ``toc=True`` puts a ``<div class="toc">`` table of contents first (only
    when the document has headings). Images survive only when their ``src``
    is under ``attachment_prefix``; others are replaced by their alt text.

    The output depends on nothing but the arguments, so the last
    ``DOCUMENT_CACHE_SIZE`` documents of up to ``CACHED_DOCUMENT_CHARS`` are
    kept: a library tool is read far more often than it is edited, and
    converting one costs 10-20 ms (most of the resource page's CPU, found
    by bench/load.py).
    """
    prefix = _validated_prefix(attachment_prefix)
    if len(text) > CACHED_DOCUMENT_CHARS:
        return _render_document.__wrapped__(text, toc, prefix)
    return _render_document(text, toc, prefix)


#: documents (and their headings) remembered per process: a tool is 2-10 KB; at most ~256 x 32 K
#: characters of Markdown plus its HTML (~25 MB) even when previews fill the cache with large drafts
DOCUMENT_CACHE_SIZE = 256
CACHED_DOCUMENT_CHARS = 32_000


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _render_document(text: str, toc: bool, prefix: str) -> str:
    md = _RENDERERS.document
    body = _convert(md, text, prefix)
    if toc and md.toc_tokens:
        body = md.toc + body
    return _insert_checkboxes(_sanitise(body, prefix))


#: a chat line with nothing to format or escape: words of no Markdown or HTML character, control
#: character or lone surrogate, with single spaces between them. The renderer gives such a line back
#: as it is (tests/test_fuzz_markdown.py checks that on any such text), so it is not run for one.
_PLAIN_CHARACTER = r"[^\s\\`*_{}\[\]<>#&~|^\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_PLAIN_LINE = re.compile(rf"{_PLAIN_CHARACTER}+(?: {_PLAIN_CHARACTER}+)*")

#: chat lines remembered per process: a participant who joins or comes back is sent up to 500 of the
#: room's events, each a line to render (30-50 us each: a 500-event join took 31 ms of CPU in-process,
#: 16 ms once plain lines were skipped, and the process serves no one else meanwhile; found by
#: bench/load.py). At most ~2,048 x 2,000 characters.
INLINE_CACHE_SIZE = 2048


def render_inline(text: str) -> str:
    """Render one line (chat message) without ``<p>``, headings, lists, tables or images.

    Images become their alt text; blank-line-separated paragraphs are joined
    with ``<br>`` so the result can sit inside a ``<span>``. A plain line is
    its own HTML; of the others, which depend on nothing but their text, the
    last ``INLINE_CACHE_SIZE`` are kept.
    """
    if _PLAIN_LINE.fullmatch(text):
        return text
    return _render_line(text)


@functools.lru_cache(maxsize=INLINE_CACHE_SIZE)
def _render_line(text: str) -> str:
    html_out = _convert(_RENDERERS.inline, text, None)
    return _sanitise(html_out, None)


def _flatten_toc(tokens: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """Depth-first flattening of python-markdown's nested ``toc_tokens``."""
    entries: list[tuple[int, str, str]] = []
    for token in tokens:
        entries.append((token["level"], token["id"], html.unescape(token["name"])))
        entries.extend(_flatten_toc(token["children"]))
    return entries


def toc(text: str) -> list[tuple[int, str, str]]:
    """Headings of ``text`` as ``(level, id, title)`` in document order.

    ``id`` matches the ``id`` attribute in ``render(text)``'s output; ``title``
    is plain text (not HTML) and must be escaped by whoever displays it.
    """
    if len(text) > CACHED_DOCUMENT_CHARS:
        return list(_headings.__wrapped__(text))
    return list(_headings(text))


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _headings(text: str) -> tuple[tuple[int, str, str], ...]:
    md = _RENDERERS.document
    _convert(md, text, None)
    return tuple(_flatten_toc(md.toc_tokens))


_BLOCK_TAGS = frozenset(
    {"blockquote", "br", "div", "hr", "li", "ol", "p", "pre", "table", "tr", "ul", *_HEADINGS}
)
_VOID_TAGS = frozenset({"br", "hr", "img", "input"})
_SKIPPED_CLASSES = frozenset({"footnote-ref", "footnote-backref"})


class _TextExtractor(HTMLParser):
    """Collects visible text from our sanitised HTML, one line per block.

    Footnote reference numbers and back-arrows are skipped: in a snippet they
    would glue digits and "↩" onto words.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth:
            if tag not in _VOID_TAGS:  # void elements never get an end tag
                self._skip_depth += 1
        elif tag == "a" and _SKIPPED_CLASSES & set((dict(attrs).get("class") or "").split()):
            self._skip_depth = 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            self._skip_depth -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        # Newlines inside a block are layout, not content: only block
        # boundaries (handled above) start a new line.
        if not self._skip_depth:
            self.parts.append(data.replace("\n", " "))

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def plain_text(text: str) -> str:
    """Markdown reduced to readable text for search snippets and excerpts.

    One line per block, inner whitespace collapsed, entities decoded. The
    result is plain text, NOT HTML: it must be escaped when put in a page.
    """
    extractor = _TextExtractor()
    extractor.feed(render(text))
    extractor.close()
    return extractor.text()
