"""A planner over a local language model: render the conversation with the model's chat template,
decode greedily under the answer's grammar, return the JSON text. The engines (onnxruntime-genai for
the embedded model, transformers for ``hf``) only supply next-token logits (``TokenModel``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any

from reamo.agent.planners.constrained import (
    Generation,
    Grammar,
    SecondLook,
    TokenModel,
    generate,
    guidance_tokenizer,
    tighten_schema,
)
from reamo.agent.planners.pairs import left_to_scorer
from reamo.agent.planners.prompting import Candidates, PromptStyle, planner_messages
from reamo.agent.planners.protocol import Message, PlanRequest
from reamo.agent.planners.tokenizer import ChatTokenizer
from reamo.schemas import BackendInfo
from reamo.tools.protocol import Resources

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
GRAMMAR_CACHE = 16


class Loaded:
    """A loaded engine: its tokenizer (a transformers one, or a ``ChatTokenizer``), its logits source and
    its vocabulary size."""

    def __init__(self, tokenizer: Any, model: TokenModel, vocab_size: int, detail: str) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.vocab_size = vocab_size
        self.detail = detail
        self.guidance = (
            tokenizer.guidance(vocab_size)
            if isinstance(tokenizer, ChatTokenizer)
            else guidance_tokenizer(tokenizer, vocab_size)
        )


def prompt_ids(tokenizer: Any, messages: Sequence[Message]) -> list[int]:
    """Token ids of the conversation and the assistant's opening, as the tuning code encodes them."""
    chat = [{"role": m.role, "content": m.content} for m in messages]
    template = None if getattr(tokenizer, "chat_template", None) else CHATML
    text = tokenizer.apply_chat_template(
        chat, add_generation_prompt=True, tokenize=False, chat_template=template
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


NOTHING_TO_READ = json.dumps({"entities": [], "relations": [], "events": [], "calls": []})


def has_words(request: PlanRequest) -> bool:
    """Whether the input holds any words to read: text, a transcript, or text seen in an image."""
    perception = request.perception
    return bool(
        request.inputs.text
        or any(a.transcript and a.transcript.text.strip() for a in perception.audio.values())
        or any(v.transcript and v.transcript.text.strip() for v in perception.videos.values())
        or any(i.ocr for i in perception.images.values())
        or len(perception.images) + len(perception.audio) + len(perception.videos)
        < len(request.inputs.media)  # a medium not perceived (perceive = false): the model decides
    )


class LocalPlanner:
    """Loads its engine on the first ``plan`` call, and spaCy when a request first needs it, into
    ``resources`` (under ``engine_key``, ``planner.spacy:…``); one request at a time (the engine keeps a
    cache). For the tasks in ``leave_to_scorers`` (``re``, ``ee``) it does not decode the relations
    (arguments) that the refiners will replace (``PlanRequest.left_to_refiners``)."""

    def __init__(
        self,
        *,
        name: str,
        summary: str,
        load: Callable[[], Loaded],
        style: PromptStyle,
        max_new_tokens: int = 384,
        second_look: float = 0.0,
        leave_to_scorers: Collection[str] = (),
        resources: Resources | None = None,
        engine_key: str | None = None,
    ) -> None:
        self.name = name
        self.resources = resources if resources is not None else Resources()
        self.engine_key = engine_key or f"planner.engine:{name}"
        self.second_look = second_look
        self.summary = summary
        self.style = style
        self.max_new_tokens = max_new_tokens
        self.last: Generation | None = None
        self._load = load
        self._loaded: Loaded | None = None
        self._candidates = Candidates(self.resources) if style.candidates else None
        self._mentions: Candidates | None = None
        self._grammars: OrderedDict[str, Grammar] = OrderedDict()
        # the tasks ("re", "ee") whose relations (arguments) the model does not write where a refiner
        # will replace them
        self.leave_to_scorers = frozenset(leave_to_scorers)
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        shots = "few-shot" if self.style.examples else "plain prompt"
        extra = ", spaCy candidates" if self.style.candidates else ""
        extra += ", second look with spaCy" if self.second_look > 0 else ""
        engine = f"; {self._loaded.detail}" if self._loaded else ""
        return BackendInfo(
            role="planner",
            name=self.name,
            detail=f"{self.summary}, {shots}{extra}, JSON-schema decoding{engine}",
        )

    def loaded(self) -> Loaded:
        if self._loaded is None:
            self._loaded = self.resources.get(self.engine_key, self._load)
        return self._loaded

    def _grammar(self, engine: Loaded, schema: dict[str, Any]) -> Grammar:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = Grammar(engine.guidance, schema)
            while len(self._grammars) > GRAMMAR_CACHE:
                self._grammars.popitem(last=False)
        self._grammars.move_to_end(key)
        return self._grammars[key]

    def _second_look(self, engine: Loaded, request: PlanRequest) -> SecondLook | None:
        look = second_look(engine.tokenizer, self.second_look)
        if look is None:
            return None
        if self._mentions is None:
            self._mentions = self._candidates or Candidates(self.resources)
        return replace(look, mentions=frozenset(text for text, _ in self._mentions.find(request)))

    def plan(self, request: PlanRequest) -> str:
        if not has_words(request):
            # images or video without text, speech or text in the image: the prompt would hold only the
            # detector's list, and the validator turns that list into entities itself (seen objects);
            # a small model only adds noise to it (coco128: NER 26.7 with the model's entities)
            return NOTHING_TO_READ
        with self._lock:
            engine = self.loaded()
            messages = planner_messages(request, self.style, self._candidates)
            ids = prompt_ids(engine.tokenizer, messages)
            schema = tighten_schema(request.answer_schema, request)
            if request.task in self.leave_to_scorers:
                for kind in sorted(request.left_to_refiners):
                    schema = left_to_scorer(schema, kind)  # a refiner replaces them: not worth decoding
            grammar = self._grammar(engine, schema)
            self.last = generate(
                engine.model,
                grammar,
                ids,
                max_new_tokens=self.max_new_tokens,
                decode=lambda out: engine.tokenizer.decode(out, skip_special_tokens=True),
                second_look=self._second_look(engine, request),
            )
            return one_label_per_text(self.last.text)


def second_look(tokenizer: Any, threshold: float) -> SecondLook | None:
    """The ``SecondLook`` of a tokenizer whose vocabulary has ``}]``, ``},`` and ``relations`` as single
    tokens (as the answer's compact JSON is tokenised); None when ``threshold`` is 0 or it has not."""
    if threshold <= 0:
        return None
    ids = [tokenizer.convert_tokens_to_ids(token) for token in ("}]", "},", "relations")]
    if any(not isinstance(i, int) or i == tokenizer.unk_token_id for i in ids):
        return None
    return SecondLook(close=ids[0], go_on=ids[1], after=ids[2], threshold=threshold)


def one_label_per_text(answer: str) -> str:
    """Keep the first entity of each text: a small model often repeats a span under another label."""
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        return answer  # truncated: the validator reports it and asks again
    entities = data.get("entities") if isinstance(data, dict) else None
    if not isinstance(entities, list):
        return answer
    seen: set[str] = set()
    kept = []
    for entity in entities:
        text = entity.get("text") if isinstance(entity, dict) else None
        if isinstance(text, str):
            if text in seen:
                continue
            seen.add(text)
        kept.append(entity)
    if len(kept) == len(entities):
        return answer
    return json.dumps({**data, "entities": kept}, ensure_ascii=False, separators=(",", ":"))
