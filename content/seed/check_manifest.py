#!/usr/bin/env python3
"""Check the seed tool-library manifest against the Markdown files beside it.

Stdlib only. Run from anywhere:

    python3 content/seed/check_manifest.py

For every resource in ``manifest.json`` this script:

* checks the metadata (type, audience, language, status, translation link,
  reviewers and the co-production rule for published resources);
* reads the final Markdown file ``<slug>.md`` (= the text of the LAST revision);
* rebuilds every earlier revision by applying that revision's ``edits`` to the
  text of the revision after it, newest to oldest, asserting that each
  ``replace`` source occurs exactly once and each ``remove_section`` heading
  occurs exactly once;
* checks simple content rules (600-1,500 words in the final text, no raw HTML,
  no images, footnote references and definitions that match in every revision);
* prints one line per resource: slug, number of revisions, words in final.

Edit operations (each turns the NEXT revision's text into this revision's):

* ``{"replace": [new_text, old_text]}`` - ``new_text`` must occur exactly once
  in the next revision; it is replaced by ``old_text``.
* ``{"remove_section": "## Heading"}`` - the line ``## Heading`` must occur
  exactly once; it is removed together with everything up to (not including)
  the next heading of the same or a higher level, or the end of the text.

The script exits with status 1 and lists every problem if any check fails.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent
MANIFEST = SEED_DIR / "manifest.json"

TYPES = {
    "handbook",
    "previsit_template",
    "decision_aid",
    "binder_section",
    "transition",
    "newly_diagnosed",
    "population_algorithm",
    "other",
}
AUDIENCES = {"patients", "parents", "teens", "clinicians"}
LANGUAGES = {"en", "es"}
STATUSES = {"published", "in_review", "draft"}
AUTHORS = {"parent", "patient", "clinician", "site_lead", "network_leader"}
FAMILY_ROLES = {"parent", "patient"}
CLINICIAN_ROLES = {"clinician"}

MIN_WORDS, MAX_WORDS = 600, 1500
MIN_REVISIONS, MAX_REVISIONS = 2, 5

HEADING_RE = re.compile(r"^(#{1,6})\s+\S")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RAW_HTML_RE = re.compile(r"<(?:[A-Za-z][A-Za-z0-9-]*|/[A-Za-z]|!--)")
IMAGE_RE = re.compile(r"!\[")
FOOTNOTE_REF_RE = re.compile(r"\[\^([^\]\s]+)\](?!:)")
FOOTNOTE_DEF_RE = re.compile(r"^\[\^([^\]\s]+)\]:", re.MULTILINE)


class EditError(Exception):
    """An edit operation that does not apply exactly once."""


def word_count(text: str) -> int:
    return len(text.split())


def heading_level(line: str) -> int | None:
    match = HEADING_RE.match(line)
    return len(match.group(1)) if match else None


def remove_section(text: str, heading: str) -> str:
    """Remove the section that starts with the line ``heading``."""
    level = heading_level(heading)
    if level is None:
        raise EditError(f"remove_section: not a Markdown heading: {heading!r}")
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == heading]
    if len(starts) != 1:
        raise EditError(
            f"remove_section: heading {heading!r} occurs {len(starts)} times (want exactly 1)"
        )
    start = starts[0]
    end = len(lines)
    for i in range(start + 1, len(lines)):
        other = heading_level(lines[i])
        if other is not None and other <= level:
            end = i
            break
    return "".join(lines[:start] + lines[end:])


def replace_once(text: str, new: str, old: str) -> str:
    if not new:
        raise EditError("replace: empty source string")
    count = text.count(new)
    if count != 1:
        raise EditError(f"replace: {new[:60]!r}... occurs {count} times (want exactly 1)")
    return text.replace(new, old, 1)


def apply_edit(text: str, edit: dict) -> str:
    if not isinstance(edit, dict) or len(edit) != 1:
        raise EditError(f"edit must be an object with exactly one key: {edit!r}")
    (kind, arg), = edit.items()
    if kind == "remove_section":
        if not isinstance(arg, str):
            raise EditError("remove_section takes a heading string")
        return remove_section(text, arg)
    if kind == "replace":
        if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
            raise EditError("replace takes [text_in_next_revision, older_text]")
        return replace_once(text, arg[0], arg[1])
    raise EditError(f"unknown edit kind {kind!r}")


def reconstruct(final_text: str, revisions: list[dict]) -> list[str]:
    """Return the text of every revision, oldest first."""
    texts = [final_text]
    for index in range(len(revisions) - 2, -1, -1):
        text = texts[0]
        for number, edit in enumerate(revisions[index].get("edits", []), 1):
            try:
                text = apply_edit(text, edit)
            except EditError as exc:
                raise EditError(f"revision {index + 1}, edit {number}: {exc}") from None
        if text == texts[0]:
            raise EditError(f"revision {index + 1} is identical to revision {index + 2}")
        texts.insert(0, text)
    return texts


def footnote_problems(text: str) -> list[str]:
    refs = set(FOOTNOTE_REF_RE.findall(text))
    defs = Counter(FOOTNOTE_DEF_RE.findall(text))
    problems = [f"footnote [^{n}] used but not defined" for n in sorted(refs - set(defs))]
    problems += [f"footnote [^{n}] defined but not used" for n in sorted(set(defs) - refs)]
    problems += [f"footnote [^{n}] defined {c} times" for n, c in sorted(defs.items()) if c > 1]
    return problems


def check_metadata(res: dict, slugs: set[str], by_slug: dict[str, dict]) -> list[str]:
    problems: list[str] = []
    required = ("slug", "title", "type", "audience", "language", "tags", "status",
                "translation_of", "revisions", "reviewers")
    for key in required:
        if key not in res:
            problems.append(f"missing field {key!r}")
    if problems:
        return problems
    if not isinstance(res["title"], str) or not res["title"].strip():
        problems.append("title must be a non-empty string")
    if res["type"] not in TYPES:
        problems.append(f"type {res['type']!r} not in {sorted(TYPES)}")
    audience = res["audience"]
    if not audience or not isinstance(audience, list) or not set(audience) <= AUDIENCES:
        problems.append(f"audience must be a non-empty list from {sorted(AUDIENCES)}")
    if res["language"] not in LANGUAGES:
        problems.append(f"language {res['language']!r} not in {sorted(LANGUAGES)}")
    tags = res["tags"]
    if not tags or not all(isinstance(t, str) and TAG_RE.match(t) for t in tags):
        problems.append("tags must be a non-empty list of short lowercase tags")
    if res["status"] not in STATUSES:
        problems.append(f"status {res['status']!r} not in {sorted(STATUSES)}")

    original = res["translation_of"]
    if original is not None:
        if original not in slugs or original == res["slug"]:
            problems.append(f"translation_of {original!r} is not another resource")
        elif by_slug[original]["language"] == res["language"]:
            problems.append("a translation must be in a different language from its original")

    revisions = res["revisions"]
    if not isinstance(revisions, list) or not MIN_REVISIONS <= len(revisions) <= MAX_REVISIONS:
        problems.append(f"revisions must be a list of {MIN_REVISIONS}-{MAX_REVISIONS} entries")
        return problems
    for number, rev in enumerate(revisions, 1):
        if rev.get("author") not in AUTHORS:
            problems.append(f"revision {number}: author {rev.get('author')!r} not in {sorted(AUTHORS)}")
        summary = rev.get("summary")
        if not isinstance(summary, str) or not summary.strip() or "\n" in summary:
            problems.append(f"revision {number}: summary must be one non-empty line")
        if not isinstance(rev.get("edits"), list):
            problems.append(f"revision {number}: edits must be a list")
        elif number < len(revisions) and not rev["edits"]:
            problems.append(f"revision {number}: an earlier revision needs at least one edit")
    if revisions[-1].get("edits"):
        problems.append("the last revision is the file itself and must have no edits")

    authors = {rev.get("author") for rev in revisions}
    reviewers = res["reviewers"]
    if not isinstance(reviewers, list) or not set(reviewers) <= AUTHORS:
        problems.append(f"reviewers must be a list of roles from {sorted(AUTHORS)}")
        return problems
    if res["status"] == "published":
        if not authors & FAMILY_ROLES or not authors & CLINICIAN_ROLES:
            problems.append("published: needs a patient or parent author AND a clinician author")
        if not set(reviewers) & FAMILY_ROLES or not set(reviewers) & CLINICIAN_ROLES:
            problems.append("published: needs a patient or parent reviewer AND a clinician reviewer")
    elif res["status"] == "in_review":
        if len(reviewers) > 1:
            problems.append("in_review: at most one reviewer so far")
    elif reviewers:
        problems.append("draft: no reviewers yet")
    return problems


def check_text(label: str, text: str) -> list[str]:
    problems = []
    if RAW_HTML_RE.search(text):
        problems.append(f"{label}: contains raw HTML")
    if IMAGE_RE.search(text):
        problems.append(f"{label}: contains an image")
    problems += [f"{label}: {p}" for p in footnote_problems(text)]
    return problems


def main() -> int:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    resources = manifest["resources"]
    failures: list[str] = []

    slugs = [res.get("slug") for res in resources]
    for slug, count in Counter(slugs).items():
        if count > 1:
            failures.append(f"slug {slug!r} appears {count} times")
    by_slug = {res.get("slug"): res for res in resources}
    listed = {f"{slug}.md" for slug in slugs}
    for path in sorted(SEED_DIR.glob("*.md")):
        if path.name not in listed and path.name.lower() != "readme.md":
            failures.append(f"{path.name}: Markdown file not listed in the manifest")

    statuses = Counter(res.get("status") for res in resources)
    if statuses["published"] != 5:
        failures.append(f"expected 5 published resources, found {statuses['published']}")
    if statuses["in_review"] != 2:
        failures.append(f"expected 2 in_review resources, found {statuses['in_review']}")
    if not 1 <= statuses["draft"] <= 2:
        failures.append(f"expected 1-2 draft resources, found {statuses['draft']}")

    for res in resources:
        slug = res.get("slug", "?")
        metadata_problems = check_metadata(res, set(slugs), by_slug)
        problems = list(metadata_problems)
        path = SEED_DIR / f"{slug}.md"
        words = 0
        revision_count = len(res.get("revisions") or [])
        if not path.is_file():
            problems.append(f"file {path.name} not found")
        else:
            final_text = path.read_text(encoding="utf-8")
            words = word_count(final_text)
            if not MIN_WORDS <= words <= MAX_WORDS:
                problems.append(f"final text has {words} words (want {MIN_WORDS}-{MAX_WORDS})")
        if path.is_file() and not metadata_problems:
            try:
                texts = reconstruct(final_text, res["revisions"])
            except EditError as exc:
                problems.append(str(exc))
            else:
                for number, text in enumerate(texts, 1):
                    problems += check_text(f"revision {number}", text)
        status = "ok" if not problems else "FAIL"
        print(f"{status:4}  {slug:36} revisions={revision_count}  words={words}")
        failures += [f"{slug}: {p}" for p in problems]

    if failures:
        print(f"\n{len(failures)} problem(s):", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(f"\nAll {len(resources)} resources pass "
          f"({statuses['published']} published, {statuses['in_review']} in review, "
          f"{statuses['draft']} draft).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
