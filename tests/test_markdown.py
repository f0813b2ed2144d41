"""Tests for content.markdown, the project's only Markdown → HTML path.

The XSS tests do not trust the sanitiser's own configuration: the rendered
output is re-parsed with Python's ``html.parser`` and checked against an
allow-list written out again here, so a loosened cleaner makes them fail.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from content import markdown as md

PAYLOAD_FILE = Path(__file__).parent / "data" / "xss_payloads.txt"
PREFIX = "/attachments/"

# --------------------------------------------------------------------------
# Independent safety checker
# --------------------------------------------------------------------------

SAFE_TAGS = {
    "a", "blockquote", "br", "code", "div", "em", "hr", "img", "input", "li", "ol", "p",
    "pre", "strong", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    "h1", "h2", "h3", "h4", "h5", "h6",
}
SAFE_ATTRIBUTES = {
    "a": {"href", "title", "rel", "class"},
    "img": {"src", "alt", "title"},
    "input": {"type", "disabled", "checked", "aria-label"},
    "li": {"id", "class"},
    "sup": {"id"},
    "ol": {"start"},
    "div": {"class"},
    "th": {"align"},
    "td": {"align"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
SAFE_CLASSES = {"footnote", "footnote-ref", "footnote-backref", "toc", "task-list-item"}
SAFE_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = {"href", "src"}
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_STRIPPED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def normalised_url(value: str) -> str:
    """What a browser effectively sees: entities decoded (html.parser already
    did that once, as a browser does), all whitespace/control characters
    removed (browsers drop tab/CR/LF anywhere), lowercased."""
    return _STRIPPED_BY_BROWSERS.sub("", value).lower()


def url_scheme(value: str) -> str | None:
    match = _SCHEME_RE.match(normalised_url(value))
    return match.group(1) if match else None


class SafetyChecker(HTMLParser):
    """Collects every way a fragment breaks the allow-list."""

    def __init__(self, image_prefix: str) -> None:
        super().__init__(convert_charrefs=True)
        self.image_prefix = image_prefix
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            self._check_attribute(tag, name, value or "")
        found = dict(attrs)
        if tag == "a" and found.get("rel") != "noopener nofollow ugc":
            self.problems.append(f"link without rel=noopener nofollow ugc: {attrs}")
        if tag == "input":
            if found.get("type") != "checkbox" or "disabled" not in found:
                self.problems.append(f"input that is not a disabled checkbox: {attrs}")

    def _check_attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self.problems.append(f"event attribute {name} on <{tag}>")
        if name == "style":
            self.problems.append(f"style attribute on <{tag}>")
        if name not in SAFE_ATTRIBUTES.get(tag, set()):
            self.problems.append(f"attribute {name} on <{tag}>")
        if name == "class" and not set(value.split()) <= SAFE_CLASSES:
            self.problems.append(f"class {value!r} on <{tag}>")
        if name in URL_ATTRIBUTES:
            self._check_url(tag, name, value)

    def _check_url(self, tag: str, name: str, value: str) -> None:
        scheme = url_scheme(value)
        if scheme is not None and scheme not in SAFE_SCHEMES:
            self.problems.append(f"{name} scheme {scheme!r} on <{tag}>: {value!r}")
        if tag == "img" and name == "src":
            decoded = html.unescape(value)
            if (
                not value.startswith(self.image_prefix)
                or "\\" in value
                or _STRIPPED_BY_BROWSERS.search(value)
                or re.search(r"(^|/)(\.|%2e){1,2}(/|$)", decoded, re.IGNORECASE)
                or "%25" in value.lower()
            ):
                self.problems.append(f"img src outside attachments: {value!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"unknown declaration {data!r}")


def safety_problems(fragment: str, image_prefix: str = PREFIX) -> list[str]:
    checker = SafetyChecker(image_prefix)
    checker.feed(fragment)
    checker.close()
    return checker.problems


def load_payloads() -> list[str]:
    """One payload per line; ``{NL}`` stands for a newline inside a payload."""
    lines = PAYLOAD_FILE.read_text(encoding="utf-8").split("\n")
    return [line.replace("{NL}", "\n") for line in lines if line.strip()]


PAYLOADS = load_payloads()

# Markdown contexts each payload is embedded in, besides being rendered raw.
CONTEXTS = [
    "{p}",
    "[{p}](https://ok.example/)",
    "[click]({p})",
    "[click]({p} \"title\")",
    "![{p}]({p})",
    "![alt](/attachments/{p})",
    "[ref][r]\n\n[r]: {p}",
    "<{p}>",
    "| head | {p} |\n|------|----|\n| {p} | [c]({p}) |",
    "- {p}\n- [ ] {p}\n    - [x] {p}",
    "1. {p}\n\n2. {p}",
    "# {p}\n\n## [{p}]({p})",
    "> {p}\n> > {p}",
    "text[^1] *{p}* **{p}** `{p}`\n\n[^1]: {p}",
    "```\n{p}\n```",
    "before {p} after\n\n    {p}",
]


# --------------------------------------------------------------------------
# The checker itself must be able to fail
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href=" JaVaScRiPt&colon;alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        '<a href="vbscript:x">x</a>',
        '<p style="color:red">x</p>',
        '<img src="https://evil.example/x.png">',
        '<img src="//evil.example/x.png">',
        '<img src="/attachments/../admin.png">',
        '<img src="/attachments/%2e%2E/admin.png">',
        '<input type="text">',
        '<input type="checkbox">',
        '<div class="evil">x</div>',
        '<iframe srcdoc="x"></iframe>',
        "<!-- hidden -->",
        '<a href="x" rel="opener" target="_blank">x</a>',
        '<a href="https://ok.example">no rel</a>',
    ],
)
def test_checker_flags_known_bad_html(bad: str) -> None:
    assert safety_problems(bad)


def test_checker_accepts_rendered_feature_document() -> None:
    assert safety_problems(md.render(FEATURE_DOC, toc=True)) == []


# --------------------------------------------------------------------------
# XSS corpus
# --------------------------------------------------------------------------


def test_payload_corpus_is_large_and_distinct() -> None:
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"payload{n:03d}" for n in range(len(PAYLOADS))])
def test_payload_renders_safely_in_every_context(payload: str) -> None:
    for context in CONTEXTS:
        source = context.replace("{p}", payload)
        outputs = {
            "render": md.render(source),
            "render+toc": md.render(source, toc=True),
            "render_inline": md.render_inline(source),
        }
        for mode, output in outputs.items():
            problems = safety_problems(output)
            assert problems == [], f"{mode} of {source!r} gave {output!r}: {problems}"


def test_payloads_with_custom_https_prefix() -> None:
    prefix = "https://files.carecommons.example/att/"
    for payload in PAYLOADS:
        output = md.render(f"{payload}\n\n![x]({payload})", attachment_prefix=prefix)
        assert safety_problems(output, prefix) == [], output


def test_plain_text_of_payloads_has_no_markup_when_escaped() -> None:
    for payload in PAYLOADS:
        text = md.plain_text(payload)
        assert safety_problems(html.escape(text)) == []


# --------------------------------------------------------------------------
# Raw HTML policy: escaped, shown as text
# --------------------------------------------------------------------------


def test_raw_html_is_escaped_not_interpreted() -> None:
    out = md.render("Hello <b>world</b>\n\n<div onclick=\"x()\">block</div>")
    assert "&lt;b&gt;world&lt;/b&gt;" in out
    assert "&lt;div onclick=" in out
    assert "<b>" not in out and "<div" not in out


def test_entities_still_work_but_cannot_smuggle_tags() -> None:
    assert md.render("&copy; 2024 &#x3C;b&#x3E;") == "<p>© 2024 &lt;b&gt;</p>"


# --------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------

FEATURE_DOC = """# Caring at Home

Some *intro* text with a note.[^care]

## Daily checklist

- [ ] Morning medication
- [x] Breakfast **done**
- plain item

| Task | Time |
|:-----|-----:|
| Walk | 9:00 |

```python
print("<hi>")
```

![Photo](/attachments/42/photo.jpg "A photo")
![Tracker](https://tracker.example/pixel.gif)

See [the guide](https://example.org/guide).

[^care]: Ask your nurse first.
"""


def test_render_returns_plain_str() -> None:
    assert type(md.render("x")) is str
    assert type(md.render_inline("x")) is str


def test_empty_input() -> None:
    assert md.render("") == ""
    assert md.render_inline("") == ""
    assert md.toc("") == []
    assert md.plain_text("") == ""


def test_tables() -> None:
    out = md.render(FEATURE_DOC)
    assert "<table>" in out and "<thead>" in out
    assert '<th align="left">Task</th>' in out
    assert '<td align="right">9:00</td>' in out
    assert "style=" not in out


def test_headings_have_prefixed_ids() -> None:
    out = md.render(FEATURE_DOC)
    assert '<h1 id="h-caring-at-home">Caring at Home</h1>' in out
    assert '<h2 id="h-daily-checklist">Daily checklist</h2>' in out


def test_heading_ids_are_unique_and_unicode_friendly() -> None:
    entries = md.toc("# Über uns\n\n# Über uns\n\n# 日本語")
    ids = [entry[1] for entry in entries]
    assert ids[0] == "h-über-uns"
    assert len(set(ids)) == 3


def test_toc_entries() -> None:
    assert md.toc(FEATURE_DOC) == [
        (1, "h-caring-at-home", "Caring at Home"),
        (2, "h-daily-checklist", "Daily checklist"),
    ]


def test_toc_titles_are_plain_text() -> None:
    assert md.toc("# Tom & <Jerry> *x*") == [(1, "h-tom-jerry-x", "Tom & <Jerry> x")]


def test_toc_ids_match_rendered_ids() -> None:
    out = md.render(FEATURE_DOC)
    for _level, anchor, _title in md.toc(FEATURE_DOC):
        assert f'id="{anchor}"' in out


def test_render_with_toc_prepends_navigation() -> None:
    out = md.render(FEATURE_DOC, toc=True)
    assert out.startswith('<div class="toc">')
    assert 'href="#h-daily-checklist"' in out
    assert '<div class="toc">' not in md.render(FEATURE_DOC)
    assert '<div class="toc">' not in md.render("no headings here", toc=True)


def test_toc_marker_in_user_text_is_inert() -> None:
    out = md.render("[TOC]\n\n# Title")
    assert '<div class="toc">' not in out
    assert "[TOC]" in out


def test_footnote_reference_and_backref_links_work() -> None:
    out = md.render(FEATURE_DOC)
    assert '<sup id="fnref:care"><a class="footnote-ref" href="#fn:care"' in out
    assert '<div class="footnote">' in out
    assert '<li id="fn:care">' in out
    assert 'class="footnote-backref" href="#fnref:care"' in out


def test_fenced_code_is_escaped() -> None:
    out = md.render("```python\nprint('<script>alert(1)</script>')\n```")
    assert "<pre><code>" in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<script>" not in out


def test_checklist_items_are_disabled_checkboxes() -> None:
    out = md.render(FEATURE_DOC)
    assert ('<li class="task-list-item"><input type="checkbox" disabled aria-label="to do"> Morning medication</li>'
            in out)
    assert (
        '<li class="task-list-item"><input type="checkbox" disabled checked aria-label="done"> '
        "Breakfast <strong>done</strong></li>"
    ) in out
    assert "<li>plain item</li>" in out


def test_checklist_in_loose_and_ordered_lists() -> None:
    out = md.render("1. [ ] first\n\n2. [X] second")
    assert out.count('type="checkbox"') == 2
    assert out.count("checked") == 1


def test_checkbox_placeholders_cannot_be_forged_or_leak() -> None:
    out = md.render("- [ ] a\n- [x] b\n\ncc-checkbox-0000000000000000-x &#2;cc-checkbox-x&#3;")
    assert out.count("<input") == 2
    assert "cc-checkbox-0000000000000000-x" in out
    assert md.plain_text("- [ ] a\n- [x] b") == "a\nb"


def test_user_input_elements_never_survive() -> None:
    for source in ("<input>", '<input type="checkbox">', "<input type=text autofocus onfocus=alert(1)>"):
        assert "<input" not in md.render(source)


def test_escaped_checklist_marker_stays_text() -> None:
    out = md.render("- \\[ ] not a box")
    assert "checkbox" not in out
    assert "[ ] not a box" in out


def test_links_get_rel_noopener_nofollow_ugc() -> None:
    out = md.render(FEATURE_DOC)
    assert '<a href="https://example.org/guide" rel="noopener nofollow ugc">the guide</a>' in out
    assert 'rel="noopener nofollow ugc"' in md.render_inline("<https://example.org>")


def test_mail_autolink_allowed() -> None:
    out = md.render("<carer@example.org>")
    assert 'href="mailto:carer@example.org"' in out


def test_javascript_link_loses_href() -> None:
    out = md.render("[x](javascript:alert(1))")
    assert "href" not in out
    assert ">x</a>" in out


def test_external_image_stripped_to_alt_text() -> None:
    out = md.render(FEATURE_DOC)
    assert "tracker.example" not in out
    assert "Tracker" in out


def test_attachment_image_kept() -> None:
    out = md.render(FEATURE_DOC)
    assert '<img alt="Photo" src="/attachments/42/photo.jpg" title="A photo">' in out


@pytest.mark.parametrize(
    "src",
    [
        "//evil.example/x.png",
        "attachments/x.png",
        "/attachmentsevil/x.png",
        "/attachments/../x.png",
        "/attachments/a/%2E%2E/%2e%2e/x.png",
        "/attachments/%252e%252e/x.png",
        "data:image/png;base64,AAAA",
    ],
)
def test_images_outside_attachments_are_stripped(src: str) -> None:
    assert "<img" not in md.render(f"![x]({src})")


def test_custom_attachment_prefix() -> None:
    source = "![a](/library/files/1.png) ![b](/attachments/1.png)"
    out = md.render(source, attachment_prefix="/library/files/")
    assert 'src="/library/files/1.png"' in out
    assert "/attachments/1.png" not in out


@pytest.mark.parametrize(
    "prefix", ["//cdn.example/", "javascript:/", "/attachments", "attachments/", "/att ach/", "/\\evil/"]
)
def test_unsafe_attachment_prefix_rejected(prefix: str) -> None:
    with pytest.raises(ValueError):
        md.render("x", attachment_prefix=prefix)


def test_render_inline_has_no_block_wrappers() -> None:
    out = md.render_inline("Hi *there*, see [this](https://example.org) and `code`")
    assert not out.startswith("<p>")
    assert "<p>" not in out
    assert out.startswith("Hi <em>there</em>")
    assert "<code>code</code>" in out


def test_render_inline_drops_headings_images_tables_lists() -> None:
    source = "# Not a heading\n\n![img](/attachments/x.png)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- item"
    out = md.render_inline(source)
    for tag in ("<h1", "<img", "<table", "<ul", "<li", "<p>"):
        assert tag not in out
    assert "# Not a heading" in out
    assert "<br>" in out


def test_render_inline_escapes_html() -> None:
    assert md.render_inline("I <3 <b>you</b>") == "I &lt;3 &lt;b&gt;you&lt;/b&gt;"


def test_plain_text() -> None:
    text = md.plain_text(FEATURE_DOC)
    lines = text.splitlines()
    assert lines[0] == "Caring at Home"
    assert "Some intro text with a note." in lines
    assert "Task Time" in lines
    assert 'print("<hi>")' in lines
    assert "Ask your nurse first." in lines
    assert "<" not in text.replace('print("<hi>")', "")
    assert "↩" not in text
    assert "note.1" not in text


def test_plain_text_decodes_entities() -> None:
    assert md.plain_text("Tom &amp; Jerry **say** <hi>") == "Tom & Jerry say <hi>"


def test_state_does_not_leak_between_documents() -> None:
    md.render("x[^a]\n\n[^a]: first note\n\n[r]: https://one.example")
    out = md.render("[link][r] and y")
    assert "first note" not in out
    assert "one.example" not in out


def test_concurrent_rendering_matches_serial() -> None:
    documents = [FEATURE_DOC.replace("Caring", f"Caring {n}") for n in range(8)]
    expected = [md.render(doc, toc=True) for doc in documents]
    results: dict[int, list[str]] = {}

    def work(index: int) -> None:
        results[index] = [md.render(documents[index], toc=True) for _ in range(25)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, outputs in results.items():
        assert set(outputs) == {expected[index]}


def test_concurrent_renders_keep_their_own_attachment_prefix() -> None:
    source = "![a](/one/a.png) ![b](/two/b.png)"
    failures: list[str] = []

    def work(prefix: str, other: str) -> None:
        for _ in range(200):
            out = md.render(source, attachment_prefix=prefix)
            if f'src="{prefix}' not in out or f'src="{other}' in out:
                failures.append(out)

    threads = [
        threading.Thread(target=work, args=("/one/", "/two/")),
        threading.Thread(target=work, args=("/two/", "/one/")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_content_package_does_not_import_flask() -> None:
    code = (
        "import sys, content.markdown\n"
        "assert not any(m == 'flask' or m.startswith('flask.') for m in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# --------------------------------------------------------------------------
# The document cache (a tool is read far more often than it is edited)
# --------------------------------------------------------------------------


def test_a_document_read_again_is_served_from_the_cache() -> None:
    text = "# Before the visit\n\n- [ ] Write down three questions\n\nSee [the plan](https://example.org/).\n"
    first = md.render(text, toc=True)
    hits = md._render_document.cache_info().hits
    again = md.render(text, toc=True)
    assert again == first
    assert md._render_document.cache_info().hits == hits + 1
    # the other arguments are part of the key: no table of contents, or another image prefix, is another page
    assert 'class="toc"' in first and 'class="toc"' not in md.render(text)
    image = "![chart](/attachments/a.png)"
    assert "<img" in md.render(image) and "<img" not in md.render(image, attachment_prefix="/elsewhere/")


def test_headings_from_the_cache_are_a_fresh_list_each_time() -> None:
    text = "# One\n\n## Two\n"
    headings = md.toc(text)
    headings.append((9, "x", "added by a caller"))
    assert md.toc(text) == [(1, "h-one", "One"), (2, "h-two", "Two")]


def test_a_very_long_document_is_rendered_but_not_kept() -> None:
    text = "# Long\n\n" + "A sentence that goes on. " * (md.CACHED_DOCUMENT_CHARS // 20)
    assert len(text) > md.CACHED_DOCUMENT_CHARS
    calls = md._render_document.cache_info()
    html_out = md.render(text, toc=True)
    assert html_out.startswith('<div class="toc">') and "A sentence that goes on." in html_out
    assert md.toc(text) == [(1, "h-long", "Long")]
    after = md._render_document.cache_info()
    assert (after.hits, after.misses) == (calls.hits, calls.misses)  # the cache was not even asked
