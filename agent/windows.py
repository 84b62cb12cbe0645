"""Long inputs: cut the text and the transcripts into windows of sentences that fit the planner, and join
the windows' results into one with document offsets.

A window holds whole sentences up to a size in characters, and starts with the last sentences of the
window before it (the overlap), so that a sentence cut from its context at one window's edge is read
whole in the next. Text and transcripts are cut alike: the text by its characters, a transcript by its
words (a sentence ends at a full stop or a pause), so each window keeps its words' times. When the text
and a transcript are both long (a text read aloud), window k of each goes together: the streams are
paired by their position, first with first and last with last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from reamo.agent.nodes.merge import place
from reamo.agent.spans import normalise
from reamo.schemas import (
    Argument,
    AudioSpan,
    BackendInfo,
    Diagnostic,
    Entity,
    Event,
    ExtractionResult,
    Grounding,
    Inputs,
    Perception,
    Relation,
    TextSpan,
    ToolRun,
    Transcript,
    Word,
)

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|\n\s*\n|\n(?=\s*[-*•\d])")
_TITLES = "Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Gen|Col|Lt|Sgt|Rep|Sen|Gov|No|vs|etc|Inc|Co|Corp|Ltd"
_MONTHS = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_ABBREVIATION = re.compile(rf"\b(?:[A-Z]|{_TITLES}|{_MONTHS})\.$")
LONGEST = 8
"""A sentence is read whole, alone in its window when it is longer than the window's size, unless it is
longer than this many windows (a text without full stops): then it is cut between words."""
PAUSE_S = 1.0
"""A silence this long between two words ends a spoken sentence, as a full stop does."""


def sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence of ``text``, surrounding spaces left out. A full stop after a
    single capital or a common abbreviation (``Mr.``, ``Dr.``, ``Jan.``) ends no sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[max(start, match.start() - 8) : match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        piece = text[a:b]
        a += len(piece) - len(piece.lstrip())
        b -= len(piece) - len(piece.rstrip())
        if b > a:
            out.append((a, b))
    return out


def _cut_long(text: str, span: tuple[int, int], limit: int) -> list[tuple[int, int]]:
    """A sentence longer than ``limit`` characters, cut at spaces into pieces of at most ``limit``."""
    a, b = span
    pieces = []
    while b - a > limit:
        cut = text.rfind(" ", a + 1, a + limit + 1)
        cut = a + limit if cut <= a else cut
        pieces.append((a, cut))
        a = cut
        while a < b and text[a].isspace():
            a += 1
    if b > a:
        pieces.append((a, b))
    return pieces


def spoken_sentences(words: Sequence[Word]) -> list[tuple[int, int]]:
    """``[first, last)`` word indices of each spoken sentence: it ends at a word with a full stop, a
    question or an exclamation mark, or before a pause of ``PAUSE_S`` or more."""
    spans = []
    first = 0
    for i, word in enumerate(words):
        last = i + 1 == len(words)
        pause = not last and words[i + 1].start - word.end >= PAUSE_S
        if last or pause or word.text.rstrip("\"')”’").endswith((".", "!", "?")):
            spans.append((first, i + 1))
            first = i + 1
    return spans


def pack(sizes: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Group consecutive units (sentences, by their sizes) into ``[first, last)`` windows of at most
    ``budget`` (a unit alone may be larger); each window after the first repeats the last ``overlap``
    units of the one before, as long as that leaves room for a new unit."""
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(sizes):
        last, size = first, 0
        while last < len(sizes) and (last == first or size + sizes[last] <= budget):
            size += sizes[last] + 1
            last += 1
        windows.append((first, last))
        if last == len(sizes):
            break
        first = max(last - overlap, first + 1)
        # a repeated unit must leave room for at least one new one
        while first < last - 1 and sum(sizes[first:last]) + sizes[last] > budget:
            first += 1
    return windows


@dataclass(frozen=True)
class Window:
    """What one window reads: a part of the text (characters) and of each long transcript (words)."""

    index: int
    text: tuple[int, int] | None
    words: dict[str, tuple[int, int]] = field(default_factory=dict)
    own_text: int | None = None
    """Where the text this window is answerable for begins: what lies before, the overlap, is only
    context (the window before found it). None: all it reads."""
    own_times: dict[str, float] = field(default_factory=dict)
    """The same for each transcript, in seconds."""

    def owns(self, g: Grounding) -> bool:
        """Whether a grounding (in document offsets) lies where this window is answerable."""
        if isinstance(g, TextSpan):
            return self.own_text is None or g.start >= self.own_text
        if isinstance(g, AudioSpan) and g.media in self.own_times:
            return g.start >= self.own_times[g.media]
        return True

    def times(self, perception: Perception) -> dict[str, tuple[float, float]]:
        """The seconds of each transcript this window reads."""
        out = {}
        for mid, (first, last) in self.words.items():
            words = _transcript(perception, mid).words
            out[mid] = (words[first].start, words[last - 1].end)
        return out


def _transcript(perception: Perception, mid: str) -> Transcript:
    found = perception.transcript(mid)
    if found is None:
        raise KeyError(f"no transcript for {mid!r}")
    return found


def _text_windows(text: str, budget: int, overlap: int) -> list[tuple[int, int]]:
    units = [piece for span in sentences(text) for piece in _cut_long(text, span, LONGEST * budget)]
    if not units:
        return []
    return [(units[a][0], units[b - 1][1]) for a, b in pack([e - s for s, e in units], budget, overlap)]


def _word_windows(words: Sequence[Word], budget: int, overlap: int) -> list[tuple[int, int]]:
    units = []
    for first, last in spoken_sentences(words):
        size = 0
        start = first
        for i in range(first, last):  # a long spoken sentence is cut between words, as text is
            if i > start and size + len(words[i].text) > LONGEST * budget:
                units.append((start, i))
                start, size = i, 0
            size += len(words[i].text) + 1
        units.append((start, last))
    sizes = [sum(len(w.text) + 1 for w in words[a:b]) for a, b in units]
    return [(units[a][0], units[b - 1][1]) for a, b in pack(sizes, budget, overlap)]


def plan_windows(text: str | None, perception: Perception, budget: int, overlap: int) -> list[Window]:
    """The windows of one input. Each stream (the text, each transcript) longer than ``budget``
    characters is cut; one that fits goes whole into every window. One window: the input fits."""
    streams: dict[str | None, list[tuple[int, int]]] = {}
    if text and len(text) > budget:
        streams[None] = _text_windows(text, budget, overlap)
    heard = [(mid, a.transcript) for mid, a in perception.audio.items()]
    heard += [(mid, v.transcript) for mid, v in perception.videos.items()]
    for mid, t in heard:
        if t is not None and t.words and len(t.text) > budget:
            streams[mid] = _word_windows(t.words, budget, overlap)
    whole = (0, len(text)) if text else None
    count = max((len(w) for w in streams.values()), default=1)
    if count <= 1:
        return [Window(0, whole)]
    windows = []
    before: dict[str | None, tuple[int, int]] = {}
    for k in range(count):
        picks = {key: cut[k * len(cut) // count] for key, cut in streams.items() if cut}
        own = {key: _own(span, before.get(key)) for key, span in picks.items()}
        before.update(picks)
        own_text = own.get(None, whole[1] if whole and k else None)
        own_times = {mid: _start(perception, mid, at) for mid, at in own.items() if mid is not None}
        words = {mid: span for mid, span in picks.items() if mid is not None}
        windows.append(Window(k, picks.get(None, whole), words, own_text, own_times))
    return windows


def _own(span: tuple[int, int], before: tuple[int, int] | None) -> int:
    """Where a window's own part of a stream begins: after what the window before read of it."""
    if before is None or before[1] <= span[0]:
        return span[0]
    return span[1] if before == span else before[1]


def _start(perception: Perception, mid: str, word: int) -> float:
    words = _transcript(perception, mid).words
    return words[word].start if word < len(words) else words[-1].end + 1.0


def halve(window: Window, text: str | None, perception: Perception) -> list[Window]:
    """The window cut in two (for a planner whose context it overflowed); itself when it is one sentence."""
    halves: list[dict[str | None, tuple[int, int]]] = [{}, {}]
    if window.text is not None and text:
        a, b = window.text
        units = sentences(text[a:b])
        if len(units) > 1:
            mid = a + units[len(units) // 2][0]
            halves[0][None], halves[1][None] = (a, mid), (mid, b)
    for mid_id, (first, last) in window.words.items():
        if last - first > 1:
            cut = (first + last) // 2
            halves[0][mid_id], halves[1][mid_id] = (first, cut), (cut, last)
    if not halves[0]:
        return [window]
    out = []
    for n, part in enumerate(halves):
        words = {m: part.get(m, span) for m, span in window.words.items()}
        cut_text = part.get(None)
        own_text = window.own_text if n == 0 or cut_text is None else max(cut_text[0], window.own_text or 0)
        own_times = dict(window.own_times)
        for key, (first, _last) in part.items():
            if key is not None and n == 1:
                own_times[key] = max(_start(perception, key, first), own_times.get(key, 0.0))
        out.append(Window(window.index, cut_text or window.text, words, own_text, own_times))
    return out


def window_inputs(inputs: Inputs, window: Window) -> Inputs:
    """The inputs a window reads: its part of the text, and all the media."""
    if window.text is None or inputs.text is None:
        return inputs
    a, b = window.text
    return inputs.model_copy(update={"text": inputs.text[a:b]})


def window_perception(perception: Perception, window: Window) -> Perception:
    """The perception a window reads: its part of each long transcript, with the words' own times."""
    if not window.words:
        return perception
    audio, videos = dict(perception.audio), dict(perception.videos)
    for mid, (first, last) in window.words.items():
        bucket: dict[str, object] = audio if mid in audio else videos  # type: ignore[assignment]
        holder = audio.get(mid) or videos[mid]
        assert holder.transcript is not None
        words = holder.transcript.words[first:last]
        part = holder.transcript.model_copy(
            update={"text": " ".join(w.text.strip() for w in words), "words": words}
        )
        bucket[mid] = holder.model_copy(update={"transcript": part})
    return perception.model_copy(update={"audio": audio, "videos": videos})


def _shift(groundings: Sequence[Grounding], offset: int, text: str) -> list[Grounding]:
    out: list[Grounding] = []
    for g in groundings:
        if isinstance(g, TextSpan) and offset:
            g = TextSpan(
                start=g.start + offset, end=g.end + offset, text=text[g.start + offset : g.end + offset]
            )
        out.append(g)
    return out


def _add_groundings(into: Entity | Event, groundings: Sequence[Grounding]) -> None:
    holder = into.trigger if isinstance(into, Event) else into
    known = {place(g) for g in holder.groundings}
    for g in groundings:
        if place(g) not in known:
            known.add(place(g))
            holder.groundings.append(g)
    holder.groundings.sort(key=lambda g: (g.kind != "text", getattr(g, "start", 0)))


def _entity_key(entity: Entity) -> tuple[str, ...]:
    """Entities of several windows are one when they have the same words and label. One seen only
    (no span in the text or the speech) is one per region, as the merge step splits them."""
    key = (normalise(entity.text) or entity.text, entity.label)
    heard = any(isinstance(g, TextSpan | AudioSpan) for g in entity.groundings)
    if heard or not entity.groundings:
        return key
    return (*key, *sorted(place(g) for g in entity.groundings))


def _answerable(window: Window, groundings: Sequence[Grounding]) -> bool:
    """Whether a record is this window's to report: it was written or heard where the window is
    answerable, or it has no place in the text or speech at all (seen only)."""
    heard = [g for g in groundings if isinstance(g, TextSpan | AudioSpan)]
    return not heard or any(window.owns(g) for g in heard)


def _event_places(event: Event) -> set[str]:
    return {place(g) for g in event.trigger.groundings if isinstance(g, TextSpan | AudioSpan)}


@dataclass
class Joiner:
    """Joins the results of an input's windows, one at a time, into one result: entities with the same
    words and label are one, with all their spans; relations and events keep their arguments; what the
    overlap found twice is kept once."""

    text: str | None
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    calls: list[ToolRun] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    backends: list[BackendInfo] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    attempts: int = 0
    complete: bool = True
    _by_key: dict[tuple[str, ...], Entity] = field(default_factory=dict)

    def add(self, window: Window, result: ExtractionResult) -> list[str]:
        """Join one window's result; returns the ids its entities and events have in the joined result."""
        offset = window.text[0] if window.text is not None and self.text else 0
        ids: dict[str, str] = {}
        found: list[str] = []
        for entity in result.entities:
            groundings = _shift(entity.groundings, offset, self.text or "")
            moved = entity.model_copy(update={"groundings": groundings})
            key = _entity_key(moved)
            kept = self._by_key.get(key)
            if not _answerable(window, groundings):  # found only in the overlap: the window before's
                if kept is not None:
                    ids[entity.id] = kept.id
                continue
            groundings = [g for g in groundings if window.owns(g)]
            if kept is None:
                kept = moved.model_copy(update={"id": f"e{len(self.entities) + 1}", "groundings": []})
                self._by_key[key] = kept
                self.entities.append(kept)
            kept.concept |= entity.concept
            kept.failures += [f for f in entity.failures if f not in kept.failures]
            _add_groundings(kept, groundings)
            ids[entity.id] = kept.id
            found.append(kept.id)
        for relation in result.relations:
            if relation.head not in ids or relation.tail not in ids:
                continue
            joined = Relation(head=ids[relation.head], tail=ids[relation.tail], label=relation.label)
            if joined not in self.relations:
                self.relations.append(joined)
        for event in result.events:
            found += self._add_event(window, event, offset, ids)
        local = {e.id for e in result.entities} | {v.trigger.id for v in result.events}
        for run in result.calls:
            if run.call.concept in local and run.call.concept not in ids:
                continue  # the call of a record left to the window before
            concept = ids.get(run.call.concept, run.call.concept)
            self.calls.append(
                run.model_copy(update={"call": run.call.model_copy(update={"concept": concept})})
            )
        for d in result.diagnostics:
            note = {"concept": ids.get(d.concept, d.concept)} if d.concept else {}
            self.diagnostics.append(d.model_copy(update={**note, "window": window.index}))
        for b in result.backends:
            if b not in self.backends:
                self.backends.append(b)
        for stage, seconds in result.timings.items():
            if stage != "total":
                self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        self.attempts += result.planner_attempts
        self.complete &= result.complete
        return list(dict.fromkeys(found))

    def _add_event(self, window: Window, event: Event, offset: int, ids: dict[str, str]) -> list[str]:
        groundings = _shift(event.trigger.groundings, offset, self.text or "")
        if not _answerable(window, groundings):
            return []
        trigger = event.trigger.model_copy(update={"groundings": [g for g in groundings if window.owns(g)]})
        arguments = [Argument(entity=ids[a.entity], role=a.role) for a in event.arguments if a.entity in ids]
        moved = event.model_copy(update={"trigger": trigger, "arguments": arguments})
        places = _event_places(moved)
        twin = next(
            (
                v
                for v in self.events
                if v.type == moved.type
                and normalise(v.trigger.text) == normalise(moved.trigger.text)
                and places & _event_places(v)
            ),
            None,
        )
        if twin is None:
            number = len(self.events) + 1
            twin = moved.model_copy(
                update={
                    "id": f"v{number}",
                    "trigger": trigger.model_copy(update={"id": f"t{number}", "groundings": []}),
                    "arguments": [],
                }
            )
            self.events.append(twin)
        ids[event.trigger.id] = twin.trigger.id
        _add_groundings(twin, trigger.groundings)
        twin.trigger.concept |= trigger.concept
        twin.arguments += [a for a in arguments if a not in twin.arguments]
        return [twin.id]
