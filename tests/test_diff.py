"""Tests for content.diff: word diffs, their HTML, side-by-side rows and three-way merges.

No database: everything here is pure text. Random tests use seeded generators
so a failure always reproduces. The HTML checks re-parse the output with
``html.parser`` against an allow-list written out here, independent of the
module's own rendering code.
"""

from __future__ import annotations

import ast
import random
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup

from content import diff
from content.diff import (
    Conflict,
    MergeResult,
    Row,
    UnresolvedConflictError,
    collapse,
    inline_html,
    resolve,
    side_by_side,
    stats,
    three_way,
    tokenize,
    word_diff,
)

VOCABULARY = ["care", "plan", "visit", "nurse", "the", "a", "of", "home", "team", "goal", "note"]
PUNCTUATION = [".", ",", "!", "?", ":", "-", "*", "#", "<b>", "&", '"']


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def random_line(rng: random.Random) -> str:
    """A short line of words, spaces, tabs and punctuation (sometimes blank)."""
    if rng.random() < 0.15:
        return ""
    parts = []
    for _ in range(rng.randint(1, 9)):
        parts.append(rng.choice(VOCABULARY) if rng.random() < 0.8 else rng.choice(PUNCTUATION))
        parts.append(rng.choice([" ", " ", " ", "  ", "\t", ""]))
    return "".join(parts).rstrip(" ")


def random_text(rng: random.Random, lines: int) -> str:
    """A text of ``lines`` random lines, with or without a final newline."""
    text = "\n".join(random_line(rng) for _ in range(lines))
    return text + ("\n" if rng.random() < 0.7 and text else "")


def random_edit(rng: random.Random, text: str, edits: int) -> str:
    """``text`` with some words and lines replaced, inserted or deleted."""
    tokens = tokenize(text)
    for _ in range(edits):
        position = rng.randint(0, len(tokens))
        action = rng.random()
        if action < 0.3 or not tokens:
            tokens.insert(position, rng.choice(VOCABULARY + PUNCTUATION + [" ", "\n"]))
        elif action < 0.55:
            del tokens[min(position, len(tokens) - 1)]
        elif action < 0.8:
            tokens[min(position, len(tokens) - 1)] = rng.choice(VOCABULARY)
        else:
            tokens.insert(position, "\n" + random_line(rng) + "\n")
    return "".join(tokens)


def old_side(ops: list[tuple[str, str]]) -> str:
    return "".join(text for op, text in ops if op != "insert")


def new_side(ops: list[tuple[str, str]]) -> str:
    return "".join(text for op, text in ops if op != "delete")


ALLOWED_TAGS = {"ins", "del", "span", "pre", "br", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_CLASSES = {"diff", "diff-ins", "diff-del", "diff-skip", "diff-ins diff-nl", "diff-del diff-nl"}


class StrictHTML(HTMLParser):
    """Collects tags, attributes and text, keeping text per enclosing ins/del state."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.stack: list[str] = []
        self.old_text: list[str] = []
        self.new_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "ins" not in self.stack:
            self.old_text.append(data)
        if "del" not in self.stack:
            self.new_text.append(data)


def parse(markup: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, "unclosed elements"
    return parser


def assert_safe_html(markup: str, text_may_say_style: bool = False) -> None:
    """Only allowed elements, only class attributes with known values, no style anywhere.

    When the user's own text mentions "style", it is only checked that no element carries it.
    """
    if not text_may_say_style:
        assert "style" not in markup.lower()
    parser = parse(markup)
    assert set(parser.tags) <= ALLOWED_TAGS
    for name, value in parser.attributes:
        assert name == "class", name
        assert value in ALLOWED_CLASSES, value


def cell_text(cell: Markup) -> str:
    """The visible text of a side-by-side cell."""
    parser = parse(str(cell))
    return "".join(parser.new_text if "<ins" in cell else parser.old_text)


def lines_of(text: str) -> list[str]:
    return text.split("\n")[:-1] if text.endswith("\n") else (text.split("\n") if text else [])


# --------------------------------------------------------------------------
# Tokenizer and word diff
# --------------------------------------------------------------------------


def test_content_package_never_imports_flask():
    source = Path(diff.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "flask" not in imported
    assert "TODO" not in source and "FIXME" not in source and "NotImplementedError" not in source


def test_tokenize_separates_words_spaces_and_punctuation():
    assert tokenize("Hello,  world!\n\tNext") == ["Hello", ",", "  ", "world", "!", "\n", "\t", "Next"]
    assert tokenize("**bold** a_b") == ["*", "*", "bold", "*", "*", " ", "a_b"]
    assert tokenize("") == []


def test_tokenize_round_trips_any_text():
    rng = random.Random(7)
    alphabet = "ab Zé_9 \t\n\r.,;<>&\"'\u00a0\u2028\u0301\U0001f600-"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert "".join(tokenize(text)) == text


def test_word_diff_marks_whole_words():
    ops = word_diff("The cat sat on the mat.\n", "The dog sat on the mat!\n")
    assert ops == [
        ("equal", "The "),
        ("delete", "cat"),
        ("insert", "dog"),
        ("equal", " sat on the mat"),
        ("delete", "."),
        ("insert", "!"),
        ("equal", "\n"),
    ]


def test_word_diff_folds_spaces_between_replacements():
    ops = word_diff("one cat sat here", "one dog ran here")
    assert ops == [("equal", "one "), ("delete", "cat sat"), ("insert", "dog ran"), ("equal", " here")]


def test_word_diff_identical_and_empty_texts():
    assert word_diff("same\n", "same\n") == [("equal", "same\n")]
    assert word_diff("", "") == []
    assert word_diff("", "new text") == [("insert", "new text")]
    assert word_diff("old text\n", "") == [("delete", "old text\n")]


@pytest.mark.parametrize("seed", range(4))
def test_word_diff_reconstructs_both_texts(seed):
    """Property: equal+delete gives old, equal+insert gives new; ops are tidy."""
    rng = random.Random(seed)
    for _ in range(75):
        old = random_text(rng, rng.randint(0, 12))
        new = random_edit(rng, old, rng.randint(0, 8))
        ops = word_diff(old, new)
        assert old_side(ops) == old
        assert new_side(ops) == new
        assert all(text for _, text in ops)
        assert all(op in {"equal", "insert", "delete"} for op, _ in ops)
        for (op1, _), (op2, _) in zip(ops, ops[1:]):
            assert op1 != op2, "adjacent ops of one kind must be merged"
            assert (op1, op2) != ("insert", "delete"), "deletions come first"


def test_word_diff_large_blocks_stay_exact(monkeypatch):
    """Above the word-diff size limit: equal line counts pair lines, others fall back to whole lines."""
    monkeypatch.setattr(diff, "_MAX_WORD_BLOCK_CHARS", 30)
    old = "alpha beta gamma delta\nepsilon zeta eta theta\n"
    paired = "alpha BETA gamma delta\nepsilon zeta ETA theta\n"
    ops = word_diff(old, paired)
    assert ("delete", "beta") in ops and ("insert", "ETA") in ops
    assert old_side(ops) == old and new_side(ops) == paired
    uneven = "completely different words here\nand another line\nand a third\n"
    ops = word_diff(old, uneven)
    assert ops == [("delete", old), ("insert", uneven)]
    rng = random.Random(11)
    for _ in range(50):
        before = random_text(rng, 8)
        after = random_edit(rng, before, 6)
        ops = word_diff(before, after)
        assert old_side(ops) == before and new_side(ops) == after


def test_word_diff_normalises_crlf():
    ops = word_diff("one\r\ntwo\r\n", "one\ntwo\nthree\n")
    assert ops == [("equal", "one\ntwo\n"), ("insert", "three\n")]
    assert word_diff("a\rb", "a\nb") == [("equal", "a\nb")]


def test_word_diff_handles_missing_final_newline():
    ops = word_diff("last line", "last line\n")
    assert old_side(ops) == "last line" and new_side(ops) == "last line\n"
    assert ("insert", "\n") in ops


def test_matching_blocks_are_valid_on_repetitive_sequences():
    """The greedy path (large, no unique elements) must still return real, ordered matches."""
    rng = random.Random(3)
    for size in (50, 400, 3000):
        a = [rng.choice("abcd") for _ in range(size)]
        b = [x if rng.random() < 0.8 else rng.choice("abcde") for x in a]
        blocks = diff._matching_blocks(a, b)
        assert blocks[-1] == (len(a), len(b), 0)
        last_i = last_j = 0
        for i, j, n in blocks[:-1]:
            assert i >= last_i and j >= last_j and n > 0
            assert a[i:i + n] == b[j:j + n]
            last_i, last_j = i + n, j + n
        matched = sum(n for _, _, n in blocks)
        assert matched >= 0.6 * size


def test_repetitive_text_merges_quickly():
    """difflib's default matcher took 80 s here; the bounded matcher must stay far below that."""
    base = [f"- item {i % 37}\n" for i in range(10_000)]
    mine = [line.replace("item", "thing") if k % 4 == 0 else line for k, line in enumerate(base)]
    theirs = [line.replace("item", "entry") if k % 4 == 2 else line for k, line in enumerate(base)]
    started = time.perf_counter()
    result = three_way("".join(base), "".join(mine), "".join(theirs))
    assert time.perf_counter() - started < 5
    assert not result.has_conflicts
    assert result.merged_text.count("thing") == 2500 and result.merged_text.count("entry") == 2500


# --------------------------------------------------------------------------
# Stats
# --------------------------------------------------------------------------


def test_stats_counts_words_not_spaces_or_punctuation():
    assert stats("The cat sat.", "The big dog sat!") == (2, 1)
    assert stats("", "one two three") == (3, 0)
    assert stats("same", "same") == (0, 0)
    assert stats("a b c\n", "") == (0, 3)


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> <p style="color:red">'


def test_inline_html_escapes_and_uses_classes_only():
    out = inline_html("safe text\n", HOSTILE + "\n")
    assert isinstance(out, Markup)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "<p " not in out
    assert 'class="diff-ins"' in out
    assert_safe_html(out, text_may_say_style=True)
    out = inline_html(HOSTILE, "nothing")
    assert_safe_html(out, text_may_say_style=True)
    assert "&lt;script&gt;" in out and 'class="diff-del"' in out
    assert "".join(parse(out).old_text) == "\n" + HOSTILE


def test_no_style_attribute_anywhere():
    harmless = HOSTILE.replace("style", "look")
    for old, new in [("a\n", harmless), (harmless, "b"), ("x " * 50, "y " * 50), ("a b\nc", "a\nb c")]:
        assert_safe_html(inline_html(old, new))
        for row in collapse(side_by_side(old, new), 0):
            assert_safe_html(row.left)
            assert_safe_html(row.right)


def test_inline_html_is_a_pre_block_whose_text_gives_both_versions():
    rng = random.Random(5)
    for _ in range(100):
        old = random_text(rng, rng.randint(0, 8))
        new = random_edit(rng, old, rng.randint(0, 6))
        out = str(inline_html(old, new))
        assert out.startswith('<pre class="diff">\n') and out.endswith("</pre>")
        assert_safe_html(out)
        parsed = parse(out)
        # html.parser keeps the newline that browsers drop after <pre>.
        assert "".join(parsed.old_text)[1:] == old
        assert "".join(parsed.new_text)[1:] == new


def test_inline_html_keeps_a_leading_blank_line():
    out = str(inline_html("\nfirst", "\nsecond"))
    assert out.startswith('<pre class="diff">\n\n')


# --------------------------------------------------------------------------
# Side by side
# --------------------------------------------------------------------------


def kinds(rows: list[Row]) -> list[str]:
    return [row.kind for row in rows]


def test_side_by_side_aligns_added_removed_and_changed_lines():
    old = "title\nkeep one\nremove me\nchange the cat\nend\n"
    new = "title\nkeep one\nchange the dog\nbrand new line\nend\n"
    rows = side_by_side(old, new)
    assert kinds(rows) == ["equal", "equal", "removed", "changed", "added", "equal"]
    removed, changed, added = rows[2], rows[3], rows[4]
    assert removed.left == Markup('<del class="diff-del">remove me</del>') and removed.right == ""
    assert changed.left == Markup('change the <del class="diff-del">cat</del>')
    assert changed.right == Markup('change the <ins class="diff-ins">dog</ins>')
    assert added.left == "" and added.right == Markup('<ins class="diff-ins">brand new line</ins>')
    assert all(isinstance(cell, Markup) for row in rows for cell in row[:2])
    left, right, kind = rows[0]
    assert (left, right, kind) == ("title", "title", "equal")


def test_side_by_side_pairs_an_edited_line_before_inserted_lines():
    rows = side_by_side("a b\nz\n", "a c\nnew\nz\n")
    assert kinds(rows) == ["changed", "added", "equal"]
    assert cell_text(rows[0].right) == "a c" and cell_text(rows[1].right) == "new"


def test_side_by_side_marks_split_and_joined_lines():
    rows = side_by_side("care plan home\n", "care plan\nhome\n")
    assert kinds(rows) == ["changed", "added"]
    assert rows[0].right == Markup('care plan<ins class="diff-ins diff-nl"></ins>')
    rows = side_by_side("care plan\nhome\n", "care plan home\n")
    assert kinds(rows) == ["changed", "removed"]
    assert rows[0].left == Markup('care plan<del class="diff-del diff-nl"></del>')


def test_side_by_side_escapes_text():
    rows = side_by_side("<b>bold</b>\n", "<b>bolder</b>\n")
    assert kinds(rows) == ["changed"]
    assert "&lt;b&gt;" in rows[0].left and "<b>" not in rows[0].left


def test_side_by_side_edge_cases():
    assert side_by_side("", "") == []
    assert kinds(side_by_side("", "one\ntwo")) == ["added", "added"]
    assert kinds(side_by_side("one\ntwo\n", "")) == ["removed", "removed"]
    assert kinds(side_by_side("x\r\ny\r\n", "x\ny\n")) == ["equal", "equal"]
    assert kinds(side_by_side("\n\n", "\n\n")) == ["equal", "equal"]


@pytest.mark.parametrize("seed", range(3))
def test_side_by_side_rows_cover_both_texts_in_order(seed):
    """Property: the left cells (rows other than added) are exactly the old lines, the right cells the new."""
    rng = random.Random(100 + seed)
    for _ in range(60):
        old = random_text(rng, rng.randint(0, 10))
        new = random_edit(rng, old, rng.randint(0, 6))
        rows = side_by_side(old, new)
        lefts = ["".join(parse(row.left).old_text) for row in rows if row.kind != "added"]
        rights = ["".join(parse(row.right).new_text) for row in rows if row.kind != "removed"]
        assert lefts == lines_of(old)
        assert rights == lines_of(new)
        for row in rows:
            if row.kind == "equal":
                assert row.left == row.right and "<" not in row.left.replace("&lt;", "")


# --------------------------------------------------------------------------
# Collapse
# --------------------------------------------------------------------------


def numbered(count: int) -> str:
    return "".join(f"line {k}\n" for k in range(count))


def test_collapse_hides_long_equal_runs_and_keeps_context():
    old = numbered(30)
    new = old.replace("line 15\n", "line fifteen\n")
    rows = collapse(side_by_side(old, new), context=3)
    assert kinds(rows) == ["skip"] + ["equal"] * 3 + ["changed"] + ["equal"] * 3 + ["skip"]
    assert "12 unchanged lines" in rows[0].left and rows[0].left == rows[0].right
    assert "11 unchanged lines" in rows[-1].left
    assert "line 12" in rows[1].left and "line 18" in rows[-2].left
    assert_safe_html(rows[0].left)


def test_collapse_leaves_short_runs_alone():
    old = numbered(8)
    new = old.replace("line 4\n", "line four\n")
    rows = side_by_side(old, new)
    assert collapse(rows, context=3) == rows
    assert kinds(collapse(rows, context=2)) == ["skip", "equal", "equal", "changed", "equal", "equal", "equal"]


def test_collapse_between_changes_and_without_changes():
    old = numbered(20)
    new = old.replace("line 2\n", "line two\n").replace("line 17\n", "line seventeen\n")
    rows = collapse(side_by_side(old, new), context=1)
    assert kinds(rows) == ["equal", "equal", "changed", "equal", "skip", "equal", "changed", "equal", "equal"]
    assert "12 unchanged lines" in rows[4].left
    assert kinds(collapse(side_by_side(old, old))) == ["skip"]
    assert collapse([]) == []


# --------------------------------------------------------------------------
# Three-way merge
# --------------------------------------------------------------------------

BASE = "# Plan\n\nMorning visit by nurse.\nEvening visit by carer.\nReview weekly.\n"


def test_clean_merge_of_non_overlapping_edits():
    mine = BASE.replace("Morning visit", "Early morning visit")
    theirs = BASE.replace("Review weekly.", "Review every Monday.")
    result = three_way(BASE, mine, theirs)
    assert isinstance(result, MergeResult)
    assert not result.has_conflicts and result.conflicts == []
    assert result.merged_text == result.marked_text
    assert result.merged_text == BASE.replace("Morning visit", "Early morning visit").replace(
        "Review weekly.", "Review every Monday.")
    assert [region.kind for region in result.regions] == ["unchanged", "mine", "unchanged", "theirs"]
    assert resolve(result, {}) == result.merged_text


def test_conflict_on_the_same_line():
    mine = BASE.replace("by nurse", "by district nurse")
    theirs = BASE.replace("by nurse", "by community nurse")
    result = three_way(BASE, mine, theirs)
    assert result.has_conflicts
    assert result.conflicts == [Conflict(
        index=0,
        base="Morning visit by nurse.\n",
        mine="Morning visit by district nurse.\n",
        theirs="Morning visit by community nurse.\n",
    )]
    conflict_regions = [region for region in result.regions if region.kind == "conflict"]
    assert conflict_regions[0].conflict is result.conflicts[0]
    assert ("<<<<<<< yours\nMorning visit by district nurse.\n=======\n"
            "Morning visit by community nurse.\n>>>>>>> theirs\n") in result.marked_text
    assert result.merged_text == result.marked_text
    assert result.marked_text.startswith("# Plan\n\n") and result.marked_text.endswith("Review weekly.\n")


def test_both_sides_making_the_same_change():
    changed = BASE.replace("Review weekly.", "Review daily.")
    result = three_way(BASE, changed, changed)
    assert not result.has_conflicts
    assert result.merged_text == changed
    assert [region.kind for region in result.regions] == ["unchanged", "same"]


def test_deletion_against_edit_is_a_conflict():
    mine = BASE.replace("Evening visit by carer.\n", "")
    theirs = BASE.replace("Evening visit by carer.", "Evening visit by two carers.")
    result = three_way(BASE, mine, theirs)
    assert [(c.base, c.mine, c.theirs) for c in result.conflicts] == [
        ("Evening visit by carer.\n", "", "Evening visit by two carers.\n")]
    assert resolve(result, {0: "mine"}) == mine
    assert resolve(result, {0: "theirs"}) == theirs


def test_agreed_lines_are_split_off_a_conflict():
    mine = BASE + "## Notes\nBring the key.\n"
    theirs = BASE + "## Notes\nCall ahead.\n"
    result = three_way(BASE, mine, theirs)
    assert [region.kind for region in result.regions] == ["unchanged", "same", "conflict"]
    assert result.regions[1].text == "## Notes\n"
    assert result.conflicts[0].mine == "Bring the key.\n"
    assert result.conflicts[0].theirs == "Call ahead.\n"


def make_two_conflicts() -> MergeResult:
    mine = BASE.replace("by nurse", "by district nurse").replace("weekly", "monthly")
    theirs = BASE.replace("by nurse", "by community nurse").replace("weekly", "fortnightly")
    return three_way(BASE, mine, theirs)


@pytest.mark.parametrize(
    ("choices", "first", "second"),
    [
        ({0: "mine", 1: "mine"}, "Morning visit by district nurse.\n", "Review monthly.\n"),
        ({0: "theirs", 1: "theirs"}, "Morning visit by community nurse.\n", "Review fortnightly.\n"),
        ({0: "both", 1: ("theirs", "")},
         "Morning visit by district nurse.\nMorning visit by community nurse.\n", "Review fortnightly.\n"),
        ({0: ("custom", "Morning visit by the nurse on duty."), 1: ("custom", "Review\r\nmonthly.\r\n")},
         "Morning visit by the nurse on duty.\n", "Review\nmonthly.\n"),
        ({0: ("custom", ""), 1: "mine"}, "", "Review monthly.\n"),
    ],
)
def test_resolve_with_each_choice(choices, first, second):
    result = make_two_conflicts()
    assert [conflict.index for conflict in result.conflicts] == [0, 1]
    expected = f"# Plan\n\n{first}Evening visit by carer.\n{second}"
    assert resolve(result, choices) == expected


def test_resolve_refuses_missing_unknown_and_invalid_choices():
    result = make_two_conflicts()
    with pytest.raises(UnresolvedConflictError) as caught:
        resolve(result, {0: "mine"})
    assert caught.value.missing == [1]
    with pytest.raises(ValueError):
        resolve(result, {0: "mine", 1: "mine", 2: "mine"})
    with pytest.raises(ValueError):
        resolve(result, {0: "mine", 1: "base"})
    with pytest.raises(ValueError):
        resolve(result, {0: "mine", 1: "some custom text without a tag"})


def test_merge_normalises_crlf():
    mine = BASE.replace("\n", "\r\n").replace("Morning", "Early")
    theirs = BASE.replace("weekly", "daily")
    result = three_way(BASE.replace("\n", "\r\n"), mine, theirs)
    assert not result.has_conflicts
    assert result.merged_text == BASE.replace("Morning", "Early").replace("weekly", "daily")
    assert "\r" not in result.merged_text


def test_merge_final_newline_and_empty_texts():
    assert three_way("a\nb", "a\nb\nc", "a\nb").merged_text == "a\nb\nc"
    assert three_way("a\nb", "A\nb", "a\nb\n").merged_text == "A\nb\n"
    assert three_way("a\n", "a", "a\n").merged_text == "a"
    empty = three_way("", "", "")
    assert empty.merged_text == "" and not empty.has_conflicts and empty.regions == []
    assert three_way("", "new\n", "").merged_text == "new\n"
    assert three_way("old\n", "", "old\n").merged_text == ""
    clash = three_way("", "mine", "theirs")
    assert clash.has_conflicts
    assert clash.marked_text == "<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> theirs"
    assert resolve(clash, {0: "both"}) == "mine\ntheirs"


def random_document(rng: random.Random, lines: int) -> list[str]:
    """Lines from a tiny vocabulary, so repeats and accidental matches are common."""
    return [f"{rng.choice(VOCABULARY)} {rng.choice(VOCABULARY)}\n" for _ in range(lines)]


def random_revision(rng: random.Random, lines: list[str]) -> list[str]:
    result = []
    for line in lines:
        roll = rng.random()
        if roll < 0.12:
            result.append(f"{rng.choice(VOCABULARY)} edited {rng.randint(0, 99)}\n")
        elif roll < 0.18:
            continue
        elif roll < 0.24:
            result.extend([line, f"inserted {rng.randint(0, 999)}\n"])
        else:
            result.append(line)
    return result


def no_text_lost(base: str, side: str, kept: str) -> list[str]:
    """Lines of ``side`` that are not in ``base`` and do not appear in ``kept``."""
    base_lines, kept_lines = set(base.splitlines()), set(kept.splitlines())
    return [line for line in side.splitlines() if line not in base_lines and line not in kept_lines]


@pytest.mark.parametrize("seed", range(4))
def test_merge_never_loses_text(seed):
    """Property: every line either side added ends up in the merged text or inside a conflict."""
    rng = random.Random(1000 + seed)
    for _ in range(60):
        base_lines = random_document(rng, rng.randint(0, 40))
        base = "".join(base_lines)
        mine = "".join(random_revision(rng, base_lines))
        theirs = "".join(random_revision(rng, base_lines))
        result = three_way(base, mine, theirs)
        conflict_text = "".join(c.mine + c.theirs for c in result.conflicts)
        for side in (mine, theirs):
            assert no_text_lost(base, side, result.merged_text) == []
            assert no_text_lost(base, side, result.marked_text + conflict_text) == []
        everything = {index: "both" for index in range(len(result.conflicts))}
        resolved = resolve(result, everything)
        assert no_text_lost(base, mine, resolved) == [] and no_text_lost(base, theirs, resolved) == []
        regions_text = "".join(
            region.text if region.conflict is None else "" for region in result.regions)
        assert set(regions_text.splitlines()) <= set(mine.splitlines()) | set(theirs.splitlines()) | set(
            base.splitlines())
        if not result.has_conflicts:
            assert "<<<<<<<" not in result.merged_text


@pytest.mark.parametrize("seed", range(2))
def test_one_sided_edits_merge_to_that_side(seed):
    rng = random.Random(2000 + seed)
    for _ in range(60):
        base_lines = random_document(rng, rng.randint(0, 30))
        base = "".join(base_lines)
        edited = "".join(random_revision(rng, base_lines))
        assert three_way(base, edited, base).merged_text == edited
        assert three_way(base, base, edited).merged_text == edited
        assert three_way(base, edited, edited).merged_text == edited


def test_resolve_keeps_everything_outside_conflicts():
    result = three_way("a\nx\nb\nc\nd\n", "a\nx\nB1\nc\nD\n", "A\nx\nB2\nc\nd\n")
    assert [region.kind for region in result.regions] == ["theirs", "unchanged", "conflict", "unchanged", "mine"]
    assert resolve(result, {0: "mine"}) == "A\nx\nB1\nc\nD\n"
    assert resolve(result, {0: "theirs"}) == "A\nx\nB2\nc\nD\n"
    assert result.marked_text.count("<<<<<<< yours\n") == 1
