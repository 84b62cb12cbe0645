"""The relation scorer: a classifier over the planner's entity pairs for the relation types it was tuned on.

The 135M planner finds entities well but relates them poorly: on MNRE it closed the relation list
empty on a third of the tweets with a relation and related pairs on two fifths of those with none. The
scorer is the usual supervised sentence-level model instead (Zhou and Chen, 2021): the sentence with
the head marked ``< head >`` and the tail ``[ tail ]`` goes through all-MiniLM-L6-v2 (the MiniLM
package the image tools already use) with a LoRA adapter, and a linear layer over the two opening
markers' states picks a relation type or ``None``. ``reamo finetune`` tunes it (``finetune/relations.py``)
and it ships beside the planner's adapter, a 1.4 MB file.

The embedded planner asks it for every ordered pair of the entities it wrote, whenever every
relation type the request allows is one the scorer knows; other label sets keep the planner's own
relations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.agent.spans import find_spans
from reamo.errors import ConfigError
from reamo.schemas import Inputs, LabelSchema, Perception

NONE = "None"
HEAD_MARKS = ("<", ">")
TAIL_MARKS = ("[", "]")
MAX_TOKENS = 256
CONFIG_FILE = "scorer.json"
WEIGHTS_FILE = "model.safetensors"

Span = tuple[int, int]


def marked(text: str, head: Span, tail: Span) -> str:
    """``text`` with ``< head >`` and ``[ tail ]`` written around the two spans (they must not overlap)."""
    inserts = [
        (head[0], 1, f" {HEAD_MARKS[0]} "),
        (head[1], 0, f" {HEAD_MARKS[1]} "),
        (tail[0], 1, f" {TAIL_MARKS[0]} "),
        (tail[1], 0, f" {TAIL_MARKS[1]} "),
    ]
    out = text
    # from the end, so offsets stay valid; at one offset the opening mark goes in first, so that the
    # closing one inserted after it lands before it
    for position, _, mark in sorted(inserts, key=lambda x: (-x[0], -x[1])):
        out = out[:position] + mark + out[position:]
    return out


def encode_pair(tokenizer: Any, text: str, head: Span, tail: Span) -> tuple[list[int], int, int]:
    """Token ids of the marked sentence and the positions of its two opening marks.

    The sentence is cut to ``MAX_TOKENS`` around nothing in particular: a mark cut off falls back to
    the last token (a tweet is far shorter)."""
    sentence = marked(text, head, tail)
    encoding = tokenizer.encode(sentence)
    ids = list(encoding.ids[:MAX_TOKENS])
    head_at = tail_at = len(ids) - 1
    found_head = found_tail = False
    for i, (a, b) in enumerate(encoding.offsets[: len(ids)]):
        piece = sentence[a:b]
        if piece == HEAD_MARKS[0] and not found_head:
            head_at, found_head = i, True
        elif piece == TAIL_MARKS[0] and not found_tail:
            tail_at, found_tail = i, True
    return ids, head_at, tail_at


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass(frozen=True)
class ScorerConfig:
    """What ``scorer.json`` holds: the label order of the head and the LoRA shape."""

    labels: list[str]
    lora_r: int
    lora_alpha: int
    target_modules: list[str]

    @classmethod
    def read(cls, folder: Path) -> ScorerConfig:
        try:
            data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            return cls(
                labels=list(data["labels"]),
                lora_r=int(data["lora_r"]),
                lora_alpha=int(data["lora_alpha"]),
                target_modules=list(data["target_modules"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"No relation scorer at {str(folder)!r} ({CONFIG_FILE} and {WEIGHTS_FILE}, as "
                f"`reamo finetune` writes them): {exc}. Set planner_options.relation_scorer = 'none' "
                "to keep the planner's own relations."
            ) from exc

    def write(self, folder: Path, **extra: Any) -> None:
        body = {**extra, **self.__dict__}
        (folder / CONFIG_FILE).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def lora_targets(model: Any, target_modules: Sequence[str]) -> list[str]:
    """Names of the linear layers of ``model`` whose last name part is one of ``target_modules`` (peft's
    rule), in module order."""
    import torch

    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.split(".")[-1] in target_modules
    ]


def load_minilm() -> Any:
    """all-MiniLM-L6-v2 from its package as a transformers ``BertModel`` without the pooler (the scorer
    reads token states), quietly: the load report would list the pooler's unused weights."""
    from transformers import BertModel
    from transformers.utils import logging

    from reamo.tools.vision.embedder import model_dir

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        return BertModel.from_pretrained(str(model_dir()), add_pooling_layer=False)
    finally:
        logging.set_verbosity(verbosity)
        logging.enable_progress_bar()  # type: ignore[no-untyped-call]


class RelationScorer:
    """``relate(text, entities, allowed)`` scores every ordered pair of non-overlapping entity spans."""

    def __init__(self, folder: Path, *, threads: int | None = None) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        from reamo.tools.vision.embedder import model_dir

        self.folder = folder
        self.config = ScorerConfig.read(folder)
        try:
            weights = load_file(str(folder / WEIGHTS_FILE))
        except OSError as exc:
            raise ConfigError(f"Can't read the relation scorer's weights in {str(folder)!r}: {exc}.") from exc
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer: Any = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.model: Any = load_minilm().eval()
        merge_lora(self.model, weights, self.config)
        self.head_weight = weights["head.weight"].float()
        self.head_bias = weights["head.bias"].float()
        self.labels = self.config.labels

    def knows(self, relation_types: Sequence[str]) -> bool:
        """True when every one of ``relation_types`` is a type the scorer was tuned on (and there is one)."""
        return bool(relation_types) and set(relation_types) <= set(self.labels) - {NONE}

    def probabilities(self, text: str, pairs: Sequence[tuple[Span, Span]]) -> npt.NDArray[np.float32]:
        """(pairs, labels) softmax probabilities, in the order of ``self.labels``."""
        import torch

        if not pairs:
            return np.zeros((0, len(self.labels)), np.float32)
        encoded = [encode_pair(self.tokenizer, text, head, tail) for head, tail in pairs]
        width = max(len(ids) for ids, _, _ in encoded)
        ids = torch.zeros(len(encoded), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, (row, _, _) in enumerate(encoded):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        rows = torch.arange(len(encoded))
        heads = torch.tensor([h for _, h, _ in encoded])
        tails = torch.tensor([t for _, _, t in encoded])
        with torch.no_grad():
            states = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
            features = torch.cat([states[rows, heads], states[rows, tails]], -1)
            logits = features @ self.head_weight.T + self.head_bias
            probs: npt.NDArray[np.float32] = logits.softmax(-1).numpy().astype(np.float32)
        return probs

    def relate(
        self, text: str, entities: Sequence[tuple[str, Span]], allowed: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Planned relations (``head``, ``label``, ``tail`` as entity texts) among ``entities`` (text and
        span in ``text``): each ordered pair gets its likeliest type of ``allowed`` when that beats
        ``None``. The surest relations come first."""
        pairs = [(a, b) for a in entities for b in entities if a is not b and not overlaps(a[1], b[1])]
        probs = self.probabilities(text, [(a[1], b[1]) for a, b in pairs])
        keep = np.array([label == NONE or label in set(allowed) for label in self.labels])
        found = []
        for (head, tail), row in zip(pairs, probs, strict=True):
            best = int(np.argmax(np.where(keep, row, -1.0)))
            if self.labels[best] != NONE:
                found.append(
                    (float(row[best]), {"head": head[0], "label": self.labels[best], "tail": tail[0]})
                )
        found.sort(key=lambda item: -item[0])
        return [relation for _, relation in found]


def merge_lora(model: Any, weights: dict[str, Any], config: ScorerConfig) -> None:
    """Adds each tuned ``scale * B @ A`` to its base weight (``lora.<module>.A`` / ``.B`` in ``weights``)."""
    import torch

    scale = config.lora_alpha / config.lora_r
    modules = dict(model.named_modules())
    names = lora_targets(model, config.target_modules)
    missing = [name for name in names if f"lora.{name}.A" not in weights]
    if missing:
        raise ConfigError(
            f"The relation scorer's weights lack LoRA factors for {', '.join(missing[:3])}: "
            "rebuild it with `reamo finetune`."
        )
    with torch.no_grad():
        for name in names:
            a, b = weights[f"lora.{name}.A"].float(), weights[f"lora.{name}.B"].float()
            modules[name].weight += scale * (b @ a)


DEFAULT_SCORER = "reamo-re-minilm"
"""The shipped scorer (``finetune/adapters/reamo-re-minilm``), tuned on MNRE's training split."""


def find_scorer(choice: str | None = None) -> Path | None:
    """The scorer folder ``choice`` names (a folder or a name under the shipped adapters), the shipped
    one when ``choice`` is None (None if it is not installed), or None for ``"none"``."""
    from reamo.agent.planners.embedded import adapters_dir

    if choice == "none":
        return None
    if choice:
        path = Path(choice) if Path(choice).is_dir() else adapters_dir() / choice
        if not (path / CONFIG_FILE).is_file():
            shipped = ", ".join(p.parent.name for p in sorted(adapters_dir().glob(f"*/{CONFIG_FILE}")))
            raise ConfigError(
                f"No relation scorer at {str(path)!r} (a folder with {CONFIG_FILE}). Shipped scorers: "
                f"{shipped or 'none'}; or set planner_options.relation_scorer = 'none'."
            )
        return path
    shipped_folder = adapters_dir() / DEFAULT_SCORER
    return shipped_folder if (shipped_folder / CONFIG_FILE).is_file() else None


def reading_text(inputs: Inputs, perception: Perception) -> str | None:
    """The text the planner read: the input text, else the first transcript."""
    if inputs.text:
        return inputs.text
    transcripts = [a.transcript for a in perception.audio.values()]
    transcripts += [v.transcript for v in perception.videos.values()]
    return next((t.text for t in transcripts if t is not None and t.text), None)


def rescored(answer: str, scorer: RelationScorer, task: str, labels: LabelSchema, text: str | None) -> str:
    """``answer`` with its relations replaced by the scorer's among its entities, when the task is
    ``re``, every allowed relation type is known to the scorer and the entities can be placed in
    ``text``; otherwise ``answer`` unchanged (a truncated answer is left for the validator)."""
    if task != "re" or not text or not scorer.knows(labels.relation_types):
        return answer
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        return answer
    entities = data.get("entities") if isinstance(data, dict) else None
    if not isinstance(entities, list):
        return answer
    placed = []
    for entity in entities:
        name = entity.get("text") if isinstance(entity, dict) else None
        spans = find_spans(text, name) if isinstance(name, str) else []
        if spans:
            placed.append((str(name), spans[0]))
    relations = scorer.relate(text, placed, labels.relation_types)
    return json.dumps({**data, "relations": relations}, ensure_ascii=False, separators=(",", ":"))
