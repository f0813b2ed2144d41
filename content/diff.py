"""Word-level diffs and three-way merges of Markdown revisions.

Every save of a library document is an immutable revision. People compare two
revisions word by word (one column or side by side), settle stale edits by a
three-way merge of base / theirs / mine, and merge site adaptations with new
network versions. This module does the text work for all of those; the web
layer only renders what it returns.

Design choices, and why:

* **Lines first, words second.** Revisions share most of their lines, so the
  texts are matched line by line and only the changed line blocks are split
  into words. Word diffs of whole 100 KB documents would be needlessly slow.
* **One bounded line matcher** (``_matching_blocks``) is used for lines, for
  words and, through ``_LineMatcher``, by merge3. ``difflib.SequenceMatcher``
  degrades badly on repetitive text: merge3's default matcher took 80 s on
  10,000 short repeated lines edited every few lines. Ours trims common
  prefixes and suffixes, anchors on elements unique to both sides (patience
  diff), lets difflib finish only small gaps, and resynchronises large
  anchor-free gaps greedily, so the cost stays near-linear. Any monotone set
  of truly equal pairs is a valid matching, so speed never costs correctness:
  a weaker matching only shows a bigger change or a bigger conflict.
* **Merges never drop text silently.** merge3 decides regions; a conflict
  keeps base, mine and theirs whole (only lines both sides agree on are split
  off as "same"), and ``resolve`` refuses to run while a conflict is unsettled.
* **Classes, never styles.** The Content-Security-Policy forbids inline
  styles, so the HTML carries only ``class`` attributes and every piece of
  user text goes through ``markupsafe.escape``.
* **No Flask import** (``content`` is framework-free); ``Markup`` comes from
  markupsafe, which Jinja renders without escaping again.

Line endings are normalised to LF before comparing or merging; a missing
final newline and empty texts are handled explicitly.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from markupsafe import Markup, escape
from merge3 import Merge3
from network.i18n import N_

__all__ = [
    "Conflict",
    "MergeResult",
    "Region",
    "Row",
    "UnresolvedConflictError",
    "collapse",
    "inline_html",
    "resolve",
    "side_by_side",
    "stats",
    "three_way",
    "tokenize",
    "word_diff",
]

OpKind = Literal["equal", "insert", "delete"]
Op = tuple[OpKind, str]
RowKind = Literal["equal", "changed", "added", "removed", "skip"]
RegionKind = Literal["unchanged", "mine", "theirs", "same", "conflict"]
Choice = str | tuple[str, str]
Block = tuple[int, int, int]

# A word, a run of horizontal whitespace, a newline, or one other character.
# The alternatives cover every character, so joining the tokens is lossless.
_TOKEN = re.compile(r"\w+|[^\S\n]+|\n|[^\w\s]")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[^\S\n]+")

# Gaps up to this many element pairs (len_a * len_b) are left to difflib,
# whose longest-match search gives the nicest alignment but is quadratic.
_DIFFLIB_MAX_PAIRS = 40_000
# How far the greedy resynchronisation looks ahead on each side.
_RESYNC_WINDOW = 32
# Changed blocks longer than this (characters, per side) are not diffed word
# by word as a whole: equal-length blocks are paired line by line, others are
# shown as whole lines. Past this size a word soup is harder to read anyway.
_MAX_WORD_BLOCK_CHARS = 20_000

_MARK_MINE = "<<<<<<< yours\n"
_MARK_SPLIT = "=======\n"
_MARK_THEIRS = ">>>>>>> theirs\n"


# --------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------


def _normalise(text: str) -> str:
    """CRLF and lone CR become LF, so a Windows save does not diff as 'every line changed'."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lines(text: str) -> list[str]:
    """Split on LF only, keeping the newline (``str.splitlines`` also splits on form feeds etc.)."""
    return _LINE.findall(text)


def tokenize(text: str) -> list[str]:
    """Split text into words, whitespace runs, newlines and single punctuation characters.

    Newlines are tokens of their own so that line structure survives a word
    diff; ``"".join(tokenize(text)) == text`` always holds.
    """
    return _TOKEN.findall(text)


# --------------------------------------------------------------------------
# Sequence matching
# --------------------------------------------------------------------------


def _matching_blocks(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Block]:
    """Matching blocks ``(i, j, size)`` of ``a`` and ``b``, like difflib's, ending with ``(len(a), len(b), 0)``.

    Elements are interned to small ints first so that every later comparison
    and hash is cheap. Ranges are processed from an explicit stack so deep
    nesting cannot hit the recursion limit.
    """
    ids: dict[Hashable, int] = {}
    xa = [ids.setdefault(x, len(ids)) for x in a]
    xb = [ids.setdefault(x, len(ids)) for x in b]
    found: list[Block] = []
    stack = [(0, len(xa), 0, len(xb))]
    while stack:
        alo, ahi, blo, bhi = _trim(xa, xb, *stack.pop(), found)
        if alo == ahi or blo == bhi:
            continue
        anchors = _unique_anchors(xa, xb, alo, ahi, blo, bhi)
        if anchors:
            found.extend((i, j, 1) for i, j in anchors)
            stack.extend(_gaps(anchors, alo, ahi, blo, bhi))
        elif (ahi - alo) * (bhi - blo) <= _DIFFLIB_MAX_PAIRS:
            found.extend(_difflib_blocks(xa, xb, alo, ahi, blo, bhi))
        else:
            found.extend(_greedy_blocks(xa, xb, alo, ahi, blo, bhi))
    return _join_blocks(sorted(found), len(xa), len(xb))


def _trim(
    xa: list[int], xb: list[int], alo: int, ahi: int, blo: int, bhi: int, found: list[Block]
) -> tuple[int, int, int, int]:
    """Match the common prefix and suffix of a range directly: most edits are local."""
    start = alo
    while alo < ahi and blo < bhi and xa[alo] == xb[blo]:
        alo += 1
        blo += 1
    if alo > start:
        found.append((start, blo - (alo - start), alo - start))
    end = ahi
    while alo < ahi and blo < bhi and xa[ahi - 1] == xb[bhi - 1]:
        ahi -= 1
        bhi -= 1
    if ahi < end:
        found.append((ahi, bhi, end - ahi))
    return alo, ahi, blo, bhi


def _unique_anchors(
    xa: list[int], xb: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Pairs of elements occurring exactly once in each range, longest in-order chain (patience diff).

    Unique lines (a heading, a sentence) are reliable landmarks; splitting at
    them leaves small gaps, which keeps the expensive matching local.
    """
    count_a = Counter(xa[alo:ahi])
    count_b = Counter(xb[blo:bhi])
    where_b = {x: j for j, x in enumerate(xb[blo:bhi], blo) if count_b[x] == 1 and count_a[x] == 1}
    if not where_b:
        return []
    pairs = [(i, where_b[x]) for i, x in enumerate(xa[alo:ahi], alo) if x in where_b]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest chain of ``pairs`` (sorted by first item) whose second items increase, by patience sorting."""
    tails: list[int] = []
    tail_index: list[int] = []
    back = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect_left(tails, j)
        back[k] = tail_index[pos - 1] if pos else -1
        if pos == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[pos] = j
            tail_index[pos] = k
    chain: list[tuple[int, int]] = []
    k = tail_index[-1] if tail_index else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    chain.reverse()
    return chain


def _gaps(
    anchors: list[tuple[int, int]], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int, int, int]]:
    """The ranges before, between and after the anchors, still to be matched."""
    gaps = []
    prev_i, prev_j = alo, blo
    for i, j in anchors:
        gaps.append((prev_i, i, prev_j, j))
        prev_i, prev_j = i + 1, j + 1
    gaps.append((prev_i, ahi, prev_j, bhi))
    return [gap for gap in gaps if gap[0] < gap[1] or gap[2] < gap[3]]


def _difflib_blocks(
    xa: list[int], xb: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[Block]:
    """difflib's matching for a small range (autojunk off: blank lines must still match)."""
    matcher = difflib.SequenceMatcher(None, xa[alo:ahi], xb[blo:bhi], autojunk=False)
    return [(alo + i, blo + j, size) for i, j, size in matcher.get_matching_blocks() if size]


def _greedy_blocks(
    xa: list[int], xb: list[int], alo: int, ahi: int, blo: int, bhi: int
) -> list[Block]:
    """Linear-time matching for large ranges with no unique landmarks (repetitive text).

    Walk both sides; on a mismatch jump to the nearest pair of equal elements
    (smallest total skip, searching a window ahead on either side). If the
    window finds nothing, none of the windowed elements occurs later on the
    other side at all, so skipping them loses no possible match.
    """
    where_a = _positions(xa, alo, ahi)
    where_b = _positions(xb, blo, bhi)
    blocks: list[Block] = []
    i, j = alo, blo
    while i < ahi and j < bhi:
        if xa[i] == xb[j]:
            start_i, start_j = i, j
            while i < ahi and j < bhi and xa[i] == xb[j]:
                i += 1
                j += 1
            blocks.append((start_i, start_j, i - start_i))
            continue
        step = _resync(xa, xb, i, ahi, j, bhi, where_a, where_b)
        if step is None:
            i += _RESYNC_WINDOW
            j += _RESYNC_WINDOW
        else:
            i, j = step
    return blocks


def _positions(x: list[int], lo: int, hi: int) -> dict[int, list[int]]:
    """Sorted positions of each element within ``x[lo:hi]``."""
    where: dict[int, list[int]] = defaultdict(list)
    for k in range(lo, hi):
        where[x[k]].append(k)
    return where


def _next_position(where: list[int] | None, start: int) -> int | None:
    """First position in ``where`` at or after ``start``."""
    if not where:
        return None
    k = bisect_left(where, start)
    return where[k] if k < len(where) else None


def _resync(
    xa: list[int],
    xb: list[int],
    i: int,
    ahi: int,
    j: int,
    bhi: int,
    where_a: dict[int, list[int]],
    where_b: dict[int, list[int]],
) -> tuple[int, int] | None:
    """The nearest equal pair ahead of ``(i, j)``, or None if the window finds none.

    Nearest means the smallest larger skip, then the most diagonal: an edited
    line is a substitution (skip one on each side), and preferring that keeps
    the alignment of repeated lines the same for both sides of a merge.
    """
    best: tuple[int, int] | None = None
    best_key = (ahi + bhi, 0)
    for d in range(_RESYNC_WINDOW):
        if d > best_key[0]:
            break
        if i + d < ahi:
            y = _next_position(where_b.get(xa[i + d]), j)
            if y is not None:
                key = (max(d, y - j), abs(d - (y - j)))
                if key < best_key:
                    best, best_key = (i + d, y), key
        if j + d < bhi:
            x = _next_position(where_a.get(xb[j + d]), i)
            if x is not None:
                key = (max(d, x - i), abs(d - (x - i)))
                if key < best_key:
                    best, best_key = (x, j + d), key
    return best


def _join_blocks(blocks: list[Block], len_a: int, len_b: int) -> list[Block]:
    """Merge touching blocks and add difflib's terminating ``(len_a, len_b, 0)``."""
    joined: list[Block] = []
    for i, j, size in blocks:
        if joined and joined[-1][0] + joined[-1][2] == i and joined[-1][1] + joined[-1][2] == j:
            last_i, last_j, last_size = joined.pop()
            joined.append((last_i, last_j, last_size + size))
        else:
            joined.append((i, j, size))
    joined.append((len_a, len_b, 0))
    return joined


def _opcodes(blocks: list[Block]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes (equal / replace / delete / insert) from matching blocks."""
    codes = []
    i = j = 0
    for bi, bj, size in blocks:
        if i < bi and j < bj:
            codes.append(("replace", i, bi, j, bj))
        elif i < bi:
            codes.append(("delete", i, bi, j, bj))
        elif j < bj:
            codes.append(("insert", i, bi, j, bj))
        if size:
            codes.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return codes


class _LineMatcher:
    """Adapter giving merge3 our bounded matcher through difflib's interface (``isjunk`` is ignored)."""

    def __init__(self, isjunk: object, a: Sequence[str], b: Sequence[str]) -> None:
        self._a = a
        self._b = b

    def get_matching_blocks(self) -> list[Block]:
        """Matching blocks of the two line lists, difflib-style."""
        return _matching_blocks(self._a, self._b)


# --------------------------------------------------------------------------
# Word diff
# --------------------------------------------------------------------------


def word_diff(old: str, new: str) -> list[Op]:
    """Word-level edit script from ``old`` to ``new`` as ``(op, text)`` pairs.

    ``op`` is "equal", "insert" or "delete"; the equal and delete texts join
    to ``old``, the equal and insert texts join to ``new`` (both with line
    endings normalised to LF). Within a change, deletions come first.
    """
    old, new = _normalise(old), _normalise(new)
    a, b = _lines(old), _lines(new)
    ops: list[Op] = []
    for tag, i1, i2, j1, j2 in _opcodes(_matching_blocks(a, b)):
        if tag == "equal":
            ops.append(("equal", "".join(a[i1:i2])))
        elif tag == "delete":
            ops.append(("delete", "".join(a[i1:i2])))
        elif tag == "insert":
            ops.append(("insert", "".join(b[j1:j2])))
        else:
            ops.extend(_diff_block(a[i1:i2], b[j1:j2]))
    return _tidy(ops)


def _diff_block(old_lines: list[str], new_lines: list[str]) -> list[Op]:
    """Word-diff one changed line block, bounded in cost however large the block is."""
    old_text, new_text = "".join(old_lines), "".join(new_lines)
    if max(len(old_text), len(new_text)) <= _MAX_WORD_BLOCK_CHARS:
        return _token_ops(tokenize(old_text), tokenize(new_text))
    if len(old_lines) == len(new_lines) > 1:
        ops: list[Op] = []
        for old_line, new_line in zip(old_lines, new_lines):
            ops.extend(_diff_block([old_line], [new_line]))
        return ops
    return [("delete", old_text), ("insert", new_text)]


def _token_ops(old_tokens: list[str], new_tokens: list[str]) -> list[Op]:
    """Edit script between two token lists."""
    ops: list[Op] = []
    for tag, i1, i2, j1, j2 in _opcodes(_matching_blocks(old_tokens, new_tokens)):
        if tag == "equal":
            ops.append(("equal", "".join(old_tokens[i1:i2])))
            continue
        if i1 < i2:
            ops.append(("delete", "".join(old_tokens[i1:i2])))
        if j1 < j2:
            ops.append(("insert", "".join(new_tokens[j1:j2])))
    return ops


def _tidy(ops: Iterable[Op]) -> list[Op]:
    """Coalesce runs, put deletions before insertions, end changes at line ends, fold lone spaces."""
    items = _group(_flatten(_align_line_breaks(_group(ops))))
    return _flatten(_fold_spaces(items))


def _group(ops: Iterable[Op]) -> list[list[str]]:
    """Runs of ops as items ``["=", text, ""]`` or ``["~", deleted, inserted]``."""
    items: list[list[str]] = []
    for op, text in ops:
        if not text:
            continue
        if op == "equal":
            if items and items[-1][0] == "=":
                items[-1][1] += text
            else:
                items.append(["=", text, ""])
            continue
        if not items or items[-1][0] != "~":
            items.append(["~", "", ""])
        items[-1][1 if op == "delete" else 2] += text
    return items


def _align_line_breaks(items: list[list[str]]) -> list[list[str]]:
    """Let the unchanged line break end the first changed line, not the last.

    "the <del>cat</del><ins>dog\nnew line</ins>\n" and "the <del>cat</del>
    <ins>dog</ins>\n<ins>new line\n</ins>" are equally short, but only the
    second says "one word changed, one line added", which side by side shows
    as a changed row and an added row. Applies when a change is followed by an
    unchanged line break and only one side of the change contains line breaks.
    """
    aligned: list[list[str]] = []
    for k, item in enumerate(items):
        following = items[k + 1] if k + 1 < len(items) else None
        if (
            item[0] != "~"
            or following is None
            or not following[1].startswith("\n")
            or ("\n" in item[1]) == ("\n" in item[2])
        ):
            aligned.append(item)
            continue
        side = 1 if "\n" in item[1] else 2
        head, _, tail = item[side].partition("\n")
        first, second = ["~", item[1], item[2]], ["~", "", ""]
        first[side], second[side] = head, tail + "\n"
        aligned.extend([first, ["=", "\n", ""], second])
        following[1] = following[1][1:]
    return aligned


def _fold_spaces(items: list[list[str]]) -> list[list[str]]:
    """Fold a lone run of spaces between two changes into one replacement.

    "<del>cat</del><ins>dog</ins> <del>sat</del><ins>ran</ins>" reads better
    as "<del>cat sat</del><ins>dog ran</ins>"; the space appears on both sides,
    so both reconstructions stay exact.
    """
    merged: list[list[str]] = []
    for item in items:
        if item[0] == "~" and _folds_into_previous(merged, item):
            space = merged.pop()[1]
            previous = merged[-1]
            previous[1] += space + item[1]
            previous[2] += space + item[2]
        else:
            merged.append(item)
    return merged


def _folds_into_previous(merged: list[list[str]], item: list[str]) -> bool:
    """True when ``item`` is a change separated from the previous change by spaces only,
    and joining them still both deletes and inserts something."""
    if len(merged) < 2 or merged[-1][0] != "=" or merged[-2][0] != "~":
        return False
    previous = merged[-2]
    return (
        _SPACES.fullmatch(merged[-1][1]) is not None
        and bool(previous[1] or item[1])
        and bool(previous[2] or item[2])
    )


def _flatten(items: list[list[str]]) -> list[Op]:
    """Back from grouped items to ``(op, text)`` pairs."""
    ops: list[Op] = []
    for kind, first, second in items:
        if kind == "=":
            ops.append(("equal", first))
            continue
        if first:
            ops.append(("delete", first))
        if second:
            ops.append(("insert", second))
    return ops


def stats(old: str, new: str) -> tuple[int, int]:
    """``(words_added, words_removed)`` between two revisions, for revision lists and summaries."""
    added = removed = 0
    for op, text in word_diff(old, new):
        if op == "insert":
            added += len(_WORD.findall(text))
        elif op == "delete":
            removed += len(_WORD.findall(text))
    return added, removed


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------


def _wrap(op: str, text: str) -> str:
    """Escaped text, inside ``<ins>``/``<del>`` with a class when changed (no inline style: CSP).

    Empty changed text stands for an inserted or deleted line break (side by side only).
    """
    escaped = str(escape(text))
    if op == "equal":
        return escaped
    tag, name = ("ins", "diff-ins") if op == "insert" else ("del", "diff-del")
    if not text:
        name += " diff-nl"
    return f'<{tag} class="{name}">{escaped}</{tag}>'


def inline_html(old: str, new: str) -> Markup:
    """One-column word diff as ``<pre class="diff">…</pre>`` (newlines kept; CSS sets pre-wrap).

    A newline directly after ``<pre>`` is dropped by HTML parsers, so one is
    always written there: a document starting with a blank line keeps it.
    """
    body = "".join(_wrap(op, text) for op, text in word_diff(old, new))
    return Markup(f'<pre class="diff">\n{body}</pre>')


class Row(NamedTuple):
    """One side-by-side line: ``(left_html, right_html, kind)``.

    kind is "equal", "changed", "added" (left empty), "removed" (right empty)
    or "skip" (a collapsed run of equal lines; both cells carry the label
    with the count, e.g. "12 unchanged lines"). Cells are escaped ``Markup``;
    an absent side is empty. Templates can use the kind as a row class.
    """

    left: Markup
    right: Markup
    kind: RowKind


_Segments = list[Op]


def side_by_side(old: str, new: str) -> list[Row]:
    """Rows aligning ``old`` (left) with ``new`` (right) line by line, words highlighted in changed lines."""
    left, right, evidence = _split_sides(word_diff(old, new))
    rows: list[Row] = []
    next_left = next_right = 0
    for li, ri in _pairings(evidence) + [(len(left), len(right))]:
        unpaired_left, unpaired_right = left[next_left:li], right[next_right:ri]
        for k in range(max(len(unpaired_left), len(unpaired_right))):
            rows.append(_row(
                unpaired_left[k] if k < len(unpaired_left) else None,
                unpaired_right[k] if k < len(unpaired_right) else None,
            ))
        if li < len(left):
            rows.append(_row(left[li], right[ri]))
        next_left, next_right = li + 1, ri + 1
    return rows


def _split_sides(ops: list[Op]) -> tuple[list[_Segments], list[_Segments], list[tuple[int, int]]]:
    """Cut the edit script into left and right lines of segments.

    A line break inserted or deleted after unchanged words becomes an empty
    segment at the end of its line, rendered as an empty ``diff-nl`` element
    that CSS can mark: otherwise a split or joined line would look unchanged.
    (A wholly added or removed line needs no such mark.)

    Also returns the evidence for aligning them: for every piece of equal
    text (newlines included), the left and right line it lies on. Equal text
    advances both sides at once, so the evidence is ordered on both sides.
    """
    left: list[_Segments] = [[]]
    right: list[_Segments] = [[]]
    evidence: list[tuple[int, int]] = []
    for op, text in ops:
        pieces = text.split("\n")
        last = len(pieces) - 1
        for k, piece in enumerate(pieces):
            if piece:
                if op != "insert":
                    left[-1].append((op, piece))
                if op != "delete":
                    right[-1].append((op, piece))
            if op == "equal" and (piece or k < last):
                evidence.append((len(left) - 1, len(right) - 1))
            if k < last:
                if op == "delete" and _has_equal(left[-1]):
                    left[-1].append((op, ""))
                elif op == "insert" and _has_equal(right[-1]):
                    right[-1].append((op, ""))
                if op != "insert":
                    left.append([])
                if op != "delete":
                    right.append([])
    # A final empty line only means the text ended with a newline (or was empty).
    for side in (left, right):
        if not side[-1]:
            side.pop()
    return left, right, evidence


def _has_equal(segments: _Segments) -> bool:
    """True when a line keeps some unchanged text."""
    return any(op == "equal" for op, _ in segments)


def _pairings(evidence: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Lines to show on one row: the first equal-text link of each line, strictly increasing on both sides."""
    pairs: list[tuple[int, int]] = []
    last_left = last_right = -1
    for li, ri in evidence:
        if li > last_left and ri > last_right:
            pairs.append((li, ri))
            last_left, last_right = li, ri
    return pairs


def _row(left: _Segments | None, right: _Segments | None) -> Row:
    """A row from the segments of one line per side (None: no line on that side)."""
    if left is None:
        return Row(Markup(""), _line_html(right or []), "added")
    if right is None:
        return Row(_line_html(left), Markup(""), "removed")
    changed = any(op != "equal" for op, _ in left) or any(op != "equal" for op, _ in right)
    return Row(_line_html(left), _line_html(right), "changed" if changed else "equal")


def _line_html(segments: _Segments) -> Markup:
    """Escaped HTML for one line of segments."""
    return Markup("".join(_wrap(op, text) for op, text in segments))


def _skip_row(count: int) -> Row:
    """Marker row standing for ``count`` hidden equal lines."""
    noun = "line" if count == 1 else "lines"
    label = Markup(f'<span class="diff-skip">{count} unchanged {noun}</span>')
    return Row(label, label, "skip")


def collapse(rows: Sequence[Row], context: int = 3) -> list[Row]:
    """Replace long runs of equal rows by one "skip" row, keeping ``context`` rows next to each change.

    A run is collapsed only when that hides at least two rows: a marker
    standing for a single line saves nothing.
    """
    context = max(context, 0)
    result: list[Row] = []
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end].kind == "equal":
            end += 1
        if end == start:
            result.append(rows[start])
            start += 1
            continue
        head = context if start > 0 else 0
        tail = context if end < len(rows) else 0
        hidden = end - start - head - tail
        if hidden >= 2:
            result.extend(rows[start:start + head])
            result.append(_skip_row(hidden))
            result.extend(rows[end - tail:end])
        else:
            result.extend(rows[start:end])
        start = end
    return result


# --------------------------------------------------------------------------
# Three-way merge
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the same lines differently; ``base`` is what they started from.

    Texts are whole lines, each ending with a newline (empty when that side
    deleted the lines).
    """

    index: int
    base: str
    mine: str
    theirs: str


@dataclass(frozen=True)
class Region:
    """One stretch of the merge, in document order.

    ``kind``: "unchanged" (nobody changed it), "mine" / "theirs" (only that
    side changed it), "same" (both made the identical change) - all with
    ``text`` - or "conflict", with ``conflict`` holding base, mine and theirs.
    """

    kind: RegionKind
    text: str = ""
    conflict: Conflict | None = None


@dataclass(frozen=True)
class MergeResult:
    """Outcome of ``three_way``.

    ``merged_text`` is the clean merge when there is no conflict. With
    conflicts it equals ``marked_text``, the text with ``<<<<<<< yours`` /
    ``=======`` / ``>>>>>>> theirs`` blocks, so saving it by mistake still
    loses nothing; pages should show ``regions`` and call ``resolve``.
    """

    merged_text: str
    marked_text: str
    conflicts: list[Conflict]
    regions: list[Region]
    trailing_newline: bool

    @property
    def has_conflicts(self) -> bool:
        """True while a person still has to settle something."""
        return bool(self.conflicts)


class UnresolvedConflictError(ValueError):
    """``resolve`` was not told what to do with some conflicts."""

    def __init__(self, missing: list[int]) -> None:
        super().__init__(f"no choice for conflict(s) {missing}")
        self.missing = missing


def three_way(base: str, mine: str, theirs: str) -> MergeResult:
    """Merge ``mine`` and ``theirs``, two edits of ``base``, line by line (merge3).

    Lines changed by one side only are taken; identical changes are taken
    once; overlapping different changes become conflicts that keep all
    three versions.
    """
    base, mine, theirs = _normalise(base), _normalise(mine), _normalise(theirs)
    trailing_newline = _merged_trailing_newline(base, mine, theirs)
    base_lines, mine_lines, theirs_lines = (_lines(_terminated(t)) for t in (base, mine, theirs))
    regions = _merge_regions(base_lines, mine_lines, theirs_lines)
    conflicts = [region.conflict for region in regions if region.conflict is not None]
    marked = _finish("".join(_marked(region) for region in regions), trailing_newline)
    return MergeResult(
        merged_text=marked,
        marked_text=marked,
        conflicts=conflicts,
        regions=regions,
        trailing_newline=trailing_newline,
    )


def _terminated(text: str) -> str:
    """Text whose last line ends with a newline, so "end" and "end\\n" compare as the same line.

    The final newline itself is merged separately (``_merged_trailing_newline``).
    """
    return text if not text or text.endswith("\n") else text + "\n"


def _merged_trailing_newline(base: str, mine: str, theirs: str) -> bool:
    """Three-way merge of the "ends with a newline" bit: whoever changed it wins."""
    in_base, in_mine, in_theirs = (t.endswith("\n") for t in (base, mine, theirs))
    return in_mine if in_mine != in_base else in_theirs


def _finish(text: str, trailing_newline: bool) -> str:
    """Apply the merged final-newline decision to newline-terminated text."""
    if not trailing_newline and text.endswith("\n"):
        return text[:-1]
    return text


def _merge_regions(base: list[str], mine: list[str], theirs: list[str]) -> list[Region]:
    """merge3's regions as ``Region`` objects, conflicts numbered in document order."""
    merger = Merge3(base, mine, theirs, sequence_matcher=_LineMatcher)  # type: ignore[arg-type]
    regions: list[Region] = []
    conflicts = 0
    for found in merger.merge_regions():
        kind = found[0]
        if kind == "unchanged":
            regions.append(Region("unchanged", "".join(base[found[1]:found[2]])))
        elif kind == "a":
            regions.append(Region("mine", "".join(mine[found[1]:found[2]])))
        elif kind == "b":
            regions.append(Region("theirs", "".join(theirs[found[1]:found[2]])))
        elif kind == "same":
            regions.append(Region("same", "".join(mine[found[1]:found[2]])))
        else:
            _, z1, z2, a1, a2, b1, b2 = found
            regions.extend(_conflict_regions(base[z1:z2], mine[a1:a2], theirs[b1:b2], conflicts))
            conflicts += 1
    return regions


def _conflict_regions(base: list[str], mine: list[str], theirs: list[str], index: int) -> list[Region]:
    """A conflict, with leading and trailing lines that both sides agree on split off as "same".

    Both editors adding the same heading above different paragraphs should
    not make a person choose between two copies of the heading. The base is
    kept whole as context.
    """
    head = 0
    while head < min(len(mine), len(theirs)) and mine[head] == theirs[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(mine), len(theirs)) - head
        and mine[len(mine) - 1 - tail] == theirs[len(theirs) - 1 - tail]
    ):
        tail += 1
    conflict = Conflict(
        index=index,
        base="".join(base),
        mine="".join(mine[head:len(mine) - tail]),
        theirs="".join(theirs[head:len(theirs) - tail]),
    )
    regions = [Region("same", "".join(mine[:head]))] if head else []
    regions.append(Region("conflict", conflict=conflict))
    if tail:
        regions.append(Region("same", "".join(mine[len(mine) - tail:])))
    return regions


def _marked(region: Region) -> str:
    """Region text, conflicts written between the usual markers."""
    if region.conflict is None:
        return region.text
    conflict = region.conflict
    return f"{_MARK_MINE}{conflict.mine}{_MARK_SPLIT}{conflict.theirs}{_MARK_THEIRS}"


def resolve(result: MergeResult, choices: Mapping[int, Choice]) -> str:
    """Final text of a merge once a person has settled every conflict.

    ``choices`` maps a conflict index to "mine", "theirs", "both" (mine then
    theirs) or ``("custom", text)``; ``("mine", ...)`` style tuples are read
    as the plain choice. Every conflict needs a choice: text is only left out
    because someone chose so.
    """
    unknown = sorted(set(choices) - {conflict.index for conflict in result.conflicts})
    if unknown:
        raise ValueError(f"no conflict numbered {unknown}")
    missing = [conflict.index for conflict in result.conflicts if conflict.index not in choices]
    if missing:
        raise UnresolvedConflictError(missing)
    parts = []
    for region in result.regions:
        if region.conflict is None:
            parts.append(region.text)
        else:
            parts.append(_chosen_text(region.conflict, choices[region.conflict.index]))
    return _finish("".join(parts), result.trailing_newline)


def _chosen_text(conflict: Conflict, choice: Choice) -> str:
    """The text one choice puts in place of a conflict."""
    kind, custom = (choice, "") if isinstance(choice, str) else choice
    if kind == "mine":
        return conflict.mine
    if kind == "theirs":
        return conflict.theirs
    if kind == "both":
        return conflict.mine + conflict.theirs
    if kind == "custom":
        return _terminated(_normalise(custom))
    raise ValueError(f"unknown choice {kind!r} for conflict {conflict.index}")
