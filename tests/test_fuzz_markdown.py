"""Property: whatever Markdown and raw HTML a member types, `content.markdown` never emits an
executable construct — no script-capable element, no event-handler or srcdoc/style/action attribute, no
javascript:/vbscript:/data: (or other foreign-scheme) URL, no image outside the attachment store.

The check parses the output with the standard library's HTML parser and judges it against a list kept
here, independent of the renderer's own allow-lists."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.markdown import render, render_inline

pytestmark = pytest.mark.fuzz

#: every element the renderer may legitimately produce (a checkbox <input> only as its constant markup)
SAFE_TAGS = {"a", "blockquote", "br", "code", "div", "em", "hr", "img", "li", "ol", "p", "pre", "strong",
             "sup", "table", "tbody", "td", "th", "thead", "tr", "ul", "h1", "h2", "h3", "h4", "h5", "h6",
             "input"}
SAFE_ATTRIBUTES = {"href", "title", "src", "alt", "id", "start", "align", "class", "rel", "type", "disabled",
                   "checked", "aria-label"}
URL_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.I)

# Pieces an attacker would try, mixed at random with each other and with arbitrary text.
ATTACKS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>", "<svg><script>alert(1)</script></svg>", "<math><mi xlink:href='javascript:1'>",
    "<iframe src=javascript:alert(1)></iframe>", "<iframe srcdoc='<script>alert(1)</script>'>",
    "<object data='data:text/html,<script>alert(1)</script>'></object>", "<embed src=x.swf>",
    "<style>body{background:url(javascript:alert(1))}</style>", "<link rel=stylesheet href=//evil>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>", "<base href=//evil.example/>",
    "<form action=//evil.example><button formaction=javascript:alert(1)>x</button></form>",
    "<a href='javascript:alert(1)'>x</a>", "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<div style='background:url(javascript:alert(1))'>x</div>", "<p onclick=alert(1)>x</p>",
    "<input type=text autofocus onfocus=alert(1)>", "<details open ontoggle=alert(1)>",
    "<template><script>alert(1)</script></template>", "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
    "<!--<img src=x onerror=alert(1)>-->", "<![CDATA[<script>alert(1)</script>]]>",
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](java\tscript:alert(1))",
    "[x](java&#x09;script:alert(1))", "[x](&#106;avascript:alert(1))", "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)", "<javascript:alert(1)>", "<data:text/html,<script>alert(1)</script>>",
    "[x][r]\n\n[r]: javascript:alert(1)", "[r]: data:text/html,x \"t\"\n\n[y][r]",
    "![a](javascript:alert(1))", "![a](/attachments/../secret)", "![a](/attachments/%2e%2e/x)",
    "![a](/attachments/ok.png)", "![a](//evil.example/p.png)", "![a\" onerror=\"alert(1)](/attachments/x.png)",
    "[a](https://ok.example \"t\" onmouseover=alert(1))", "[a](http://x.example/\" onclick=\"alert(1))",
    "- [ ] <script>x</script>", "- [x] [y](javascript:1)", "| a | b |\n|:-|-:|\n| <img src=x onerror=1> | c |",
    "```\n<script>alert(1)</script>\n```", "    <iframe>", "`<script>`", "# <script>h</script>",
    "## x {#onload}", "text[^1]\n\n[^1]: <script>alert(1)</script>", "&lt;script&gt;", "&#60;script&#62;",
    "<a href=\"mailto:x@example.org\">m</a>", "[m](mailto:x@example.org)", "<https://ok.example>",
    "\x00<script>", "<scr<script>ipt>alert(1)</scr</script>ipt>", "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>", "<a/href=javascript:alert(1)>x", "<img/src=x/onerror=alert(1)>",
]
SEPARATORS = ["", " ", "\n", "\n\n", "\t", "> ", "- ", "1. ", "    "]

documents = st.lists(st.one_of(st.sampled_from(ATTACKS), st.sampled_from(SEPARATORS),
                               st.text(max_size=40), st.text(alphabet="<>\"'=/&#;:[]()!`*_-|\\ \nabjsrcipt",
                                                             max_size=40)),
                     max_size=12).map("".join)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def _element(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.problems.append(f"element <{tag}>")
        names = {name for name, _ in attrs}
        if tag == "input" and not ({"disabled"} <= names and dict(attrs).get("type") == "checkbox"):
            self.problems.append("an <input> that is not a disabled checkbox")
        for name, value in attrs:
            if name.startswith("on") or name not in SAFE_ATTRIBUTES:
                self.problems.append(f"attribute {name}= on <{tag}>")
            if name in ("href", "src") and value is not None:
                squeezed = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(value))
                scheme = URL_SCHEME.match(squeezed)
                if scheme and scheme.group(1).lower() not in ("http", "https", "mailto"):
                    self.problems.append(f"{name}={value!r}")
            if tag == "img" and name == "src" and (not value.startswith("/attachments/") or ".." in value):
                self.problems.append(f"image from {value!r}")

    def handle_comment(self, data):
        self.problems.append("a comment")

    def handle_pi(self, data):
        self.problems.append("a processing instruction")

    def unknown_decl(self, data):
        self.problems.append(f"a declaration {data!r}")


def problems_in(output: str) -> list[str]:
    audit = _Audit()
    audit.feed(output)
    audit.close()
    return audit.problems


def test_the_audit_itself_catches_what_it_looks_for():
    """The property is only as good as its checker: it must flag each kind of construct."""
    for bad in ("<script>x</script>", "<p onclick=x>", "<a href='java\tscript:x'>", "<iframe srcdoc=x>",
                "<img src='https://evil/x.png'>", "<a href='data:text/html,x'>", "<form action=x>",
                "<input type=text>", "<!-- x -->", "<a href='&#106;avascript:x'>"):
        assert problems_in(bad), bad
    assert problems_in('<p><a href="https://ok" rel="noopener nofollow ugc">x</a></p>') == []


@given(documents, st.booleans())
def test_rendered_markdown_is_never_executable(text, with_toc):
    output = render(text, toc=with_toc)
    assert problems_in(output) == [], (text, output)


@given(documents)
def test_rendered_chat_lines_are_never_executable(text):
    output = render_inline(text)
    assert problems_in(output) == [], (text, output)
    assert "<img" not in output and "<p" not in output


@given(st.text(min_size=1, max_size=80))
def test_a_line_taken_as_plain_is_exactly_what_the_renderer_gives_back(text):
    """render_inline skips the renderer for a line with nothing to format or escape (a chat line
    replayed to every joining participant): only where the renderer would give that very line back."""
    from content import markdown

    if markdown._PLAIN_LINE.fullmatch(text):
        assert markdown._render_line.__wrapped__(text) == text


@given(st.lists(st.one_of(st.sampled_from(["Thanks", "1.", "-", "ok", "(yes)", "50%", "@team", "Olá", "¿qué?", "😀",
                                           "a=b", "x+y", "it's", '"so"', "!", ":", "/"]),
                          st.characters(codec="utf-8")), min_size=1, max_size=12).map(" ".join))
def test_plain_words_and_punctuation_are_their_own_html(text):
    from content import markdown

    assert markdown.render_inline(text) == markdown._render_line.__wrapped__(text)
