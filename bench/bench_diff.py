"""Benchmark: word diffs and three-way merges of 100 KB Markdown revisions (content.diff).

Run from the repository root:  .venv/bin/python bench/bench_diff.py [--compare-difflib]
Prints best and median wall time (time.perf_counter) of 10 runs per case, with the targets:
  - a diff (word_diff, inline_html, side_by_side) of two 100 KB revisions, ~5% of lines edited: <= 100 ms
  - pathological diffs (every line changed; 10,000 short lines changed every few lines):       <= 1 s
  - a three-way merge of two 100 KB revisions against their base:                              <= 200 ms
  - the merge bad case (10,000 short repeated lines, each side editing every 4th line)         <= 200 ms
Every case is also checked for correctness (both texts rebuilt from the diff; no merged line lost).
--compare-difflib also times merge3 with its default difflib matcher on a smaller bad case.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from merge3 import Merge3  # noqa: E402

from content.diff import (  # noqa: E402
    collapse,
    inline_html,
    side_by_side,
    stats,
    three_way,
    word_diff,
)

REPEATS = 10
DIFF_TARGET_MS = 100.0
PATHOLOGICAL_TARGET_MS = 1000.0
MERGE_TARGET_MS = 200.0
SIZE = 100_000

WORDS = (
    "care plan visit nurse carer family home support medication review team weekly daily morning "
    "evening health social worker referral assessment goal progress note record safe risk fall "
    "pressure skin nutrition fluid sleep pain comfort dignity choice consent capacity advocate "
    "the a an of to and in for with on at by from is are was be will should must can may not "
    "district community hospital discharge equipment hoist bed chair wheelchair walking frame "
    "breakfast lunch dinner drink water tea appointment GP pharmacy prescription dose tablet"
).split()


def sentence(rng: random.Random) -> str:
    """One sentence with the odd Markdown emphasis, link or inline code."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 18))]
    words[0] = words[0].capitalize()
    roll = rng.random()
    k = rng.randrange(len(words))
    if roll < 0.08:
        words[k] = f"**{words[k]}**"
    elif roll < 0.12:
        words[k] = f"[{words[k]}](/library/{rng.randint(1, 400)})"
    elif roll < 0.15:
        words[k] = f"`{words[k]}`"
    if rng.random() < 0.25:
        words.insert(rng.randint(1, len(words)), rng.choice(WORDS) + ",")
    return " ".join(words) + rng.choice("......?!:")


def markdown_document(rng: random.Random, size: int = SIZE) -> str:
    """A care-plan style Markdown document of about ``size`` characters."""
    lines: list[str] = [f"# {sentence(rng)[:-1]}", ""]
    section = 0
    while sum(len(line) + 1 for line in lines) < size:
        roll = rng.random()
        if roll < 0.08:
            section += 1
            block = [f"## {section}. {sentence(rng)[:-1]}"]
        elif roll < 0.28:
            marker = rng.choice(["-", "*", "1."])
            block = [f"{marker} {sentence(rng)}" for _ in range(rng.randint(2, 7))]
        elif roll < 0.33:
            block = ["| Task | Who | When |", "|---|---|---|"]
            block += [f"| {rng.choice(WORDS)} {rng.choice(WORDS)} | {rng.choice(WORDS)} | "
                      f"{rng.randint(7, 21)}:{rng.choice(['00', '30'])} |" for _ in range(rng.randint(2, 6))]
        elif roll < 0.36:
            block = ["```text"] + [f"{rng.choice(WORDS)}: {rng.randint(1, 99)}" for _ in range(rng.randint(2, 6))]
            block.append("```")
        elif roll < 0.40:
            block = [f"> {sentence(rng)}" for _ in range(rng.randint(1, 3))]
        elif roll < 0.70:
            block = [" ".join(sentence(rng) for _ in range(rng.randint(2, 6)))]  # one line per paragraph
        else:
            block = [" ".join(sentence(rng) for _ in range(rng.randint(1, 2))) for _ in range(rng.randint(2, 5))]
        lines.extend(block + [""])
    return "\n".join(lines) + "\n"


def edit_words(rng: random.Random, line: str) -> str:
    """A line with a few words inserted, removed or replaced."""
    words = line.split(" ")
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(words))
        roll = rng.random()
        if roll < 0.35:
            words.insert(k, rng.choice(WORDS))
        elif roll < 0.65 and len(words) > 1:
            del words[k]
        else:
            words[k] = rng.choice(WORDS)
    return " ".join(words)


def revise(rng: random.Random, text: str, fraction: float = 0.05) -> str:
    """A later revision: ``fraction`` of the lines touched (mostly word edits, some lines added or removed)."""
    out: list[str] = []
    for line in text.split("\n"):
        roll = rng.random()
        if roll < fraction * 0.7 and line:
            out.append(edit_words(rng, line))
        elif roll < fraction * 0.85:
            out.extend([line, sentence(rng)])
        elif roll < fraction:
            continue
        else:
            out.append(line)
    return "\n".join(out)


def every_line_changed(rng: random.Random, text: str) -> str:
    """The pathological revision: every non-blank line edited."""
    return "\n".join(edit_words(rng, line) if line else line for line in text.split("\n"))


def short_lines(rng: random.Random, count: int = 10_000) -> list[str]:
    """Short, heavily repeated lines (a checklist): the case that defeats difflib."""
    return [f"- [ ] {rng.choice(WORDS[:40])} {rng.randint(1, 60)}\n" for _ in range(count)]


def changed_every(lines: list[str], every: int, offset: int, tag: str) -> list[str]:
    """``lines`` with every ``every``-th line (from ``offset``) edited."""
    return [line.replace("[ ]", f"[x] {tag}") if k % every == offset else line for k, line in enumerate(lines)]


def timings(func: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    """Best and median wall time in milliseconds."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        runs.append((time.perf_counter() - start) * 1000)
    return min(runs), statistics.median(runs)


def verdict(value_ms: float, target_ms: float) -> str:
    return "met" if value_ms <= target_ms else "OVER TARGET"


def report(label: str, func: Callable[[], object], target_ms: float) -> bool:
    best, median = timings(func)
    print(f"  {label:<44} best {best:8.2f} ms  median {median:8.2f} ms  "
          f"(target <= {target_ms:.0f} ms: {verdict(median, target_ms)})")
    return median <= target_ms


def diff_is_exact(old: str, new: str) -> bool:
    ops = word_diff(old, new)
    return ("".join(t for op, t in ops if op != "insert") == old
            and "".join(t for op, t in ops if op != "delete") == new)


def merge_loses_nothing(base: str, mine: str, theirs: str) -> bool:
    """Every line a side added is in the merged text or in a conflict."""
    result = three_way(base, mine, theirs)
    base_lines = set(base.splitlines())
    kept = set(result.marked_text.splitlines())
    return all(line in kept for side in (mine, theirs) for line in side.splitlines() if line not in base_lines)


def diff_cases(old: str, new: str, target_ms: float) -> bool:
    ok = report("word_diff", lambda: word_diff(old, new), target_ms)
    ok &= report("inline_html", lambda: inline_html(old, new), target_ms)
    ok &= report("side_by_side", lambda: side_by_side(old, new), target_ms)
    ok &= report("side_by_side + collapse", lambda: collapse(side_by_side(old, new)), target_ms)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-difflib", action="store_true",
                        help="also time merge3's default difflib matcher on a 2,000-line bad case")
    args = parser.parse_args()
    rng = random.Random(20240611)
    ok = True

    base = markdown_document(rng)
    old, new = base, revise(rng, base)
    changed_rows = sum(row.kind != "equal" for row in side_by_side(old, new))
    added, removed = stats(old, new)
    print(f"Realistic revision: {len(old):,} -> {len(new):,} chars, {old.count(chr(10)):,} lines, "
          f"{changed_rows} rows differ, +{added}/-{removed} words; exact: {diff_is_exact(old, new)}")
    ok &= diff_is_exact(old, new)
    ok &= diff_cases(old, new, DIFF_TARGET_MS)

    rewritten = every_line_changed(rng, base)
    print(f"Pathological: every line changed ({len(rewritten):,} chars); exact: {diff_is_exact(base, rewritten)}")
    ok &= diff_is_exact(base, rewritten)
    ok &= diff_cases(base, rewritten, PATHOLOGICAL_TARGET_MS)
    one_line_base = "".join(line + "\n" for line in base.split("\n") if line)
    one_line_new = "".join(edit_words(rng, line) + "\n" for line in base.split("\n") if line)
    print(f"Pathological: no blank lines, every line changed; exact: {diff_is_exact(one_line_base, one_line_new)}")
    ok &= report("word_diff", lambda: word_diff(one_line_base, one_line_new), PATHOLOGICAL_TARGET_MS)
    ok &= report("side_by_side", lambda: side_by_side(one_line_base, one_line_new), PATHOLOGICAL_TARGET_MS)

    checklist = short_lines(rng)
    short_old = "".join(checklist)
    short_new = "".join(changed_every(checklist, 3, 1, "done"))
    print(f"Pathological: 10,000 short repeated lines, every 3rd changed ({len(short_old):,} chars); "
          f"exact: {diff_is_exact(short_old, short_new)}")
    ok &= diff_is_exact(short_old, short_new)
    ok &= diff_cases(short_old, short_new, PATHOLOGICAL_TARGET_MS)

    mine, theirs = revise(rng, base), revise(rng, base)
    result = three_way(base, mine, theirs)
    safe = merge_loses_nothing(base, mine, theirs)
    print(f"Merge: two 100 KB revisions (~5% of lines each) against their base: "
          f"{len(result.conflicts)} conflicts, {len(result.regions)} regions; nothing lost: {safe}")
    ok &= safe
    ok &= report("three_way", lambda: three_way(base, mine, theirs), MERGE_TARGET_MS)

    short_mine = "".join(changed_every(checklist, 4, 0, "mine"))
    short_theirs = "".join(changed_every(checklist, 4, 2, "theirs"))
    result = three_way(short_old, short_mine, short_theirs)
    safe = merge_loses_nothing(short_old, short_mine, short_theirs)
    print(f"Merge bad case: 10,000 short repeated lines, each side editing every 4th line (interleaved): "
          f"{len(result.conflicts)} conflicts; nothing lost: {safe}")
    ok &= safe
    ok &= report("three_way", lambda: three_way(short_old, short_mine, short_theirs), MERGE_TARGET_MS)

    dense_mine = "".join(changed_every(checklist, 2, 0, "mine"))
    dense_theirs = "".join(changed_every(checklist, 3, 0, "theirs"))
    result = three_way(short_old, dense_mine, dense_theirs)
    safe = merge_loses_nothing(short_old, dense_mine, dense_theirs)
    print(f"Merge bad case, dense: mine edits every 2nd line, theirs every 3rd: "
          f"{len(result.conflicts):,} conflicts; nothing lost: {safe}")
    ok &= safe
    ok &= report("three_way", lambda: three_way(short_old, dense_mine, dense_theirs), MERGE_TARGET_MS)

    if args.compare_difflib:
        small = checklist[:2000]
        small_mine, small_theirs = changed_every(small, 4, 0, "mine"), changed_every(small, 4, 2, "theirs")
        start = time.perf_counter()
        list(Merge3(small, small_mine, small_theirs).merge_regions())
        print(f"For comparison, merge3 with its default difflib matcher, 2,000 of those lines: "
              f"{(time.perf_counter() - start) * 1000:.0f} ms (one run)")

    print("All targets met." if ok else "Some targets were MISSED or a check failed (see above).")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
