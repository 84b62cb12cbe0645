"""The embedded planner's tokenizer without transformers, which imports torch (about 2 s and 300 MB) for
what is a Rust tokenizer and a chat template.

The ONNX model's folder holds the files transformers saved when the model was converted at set-up
(``tokenizer.json``, ``tokenizer_config.json``, ``chat_template.jinja``). ``ChatTokenizer`` reads them
with ``tokenizers`` and renders the template with jinja2 in the environment transformers uses, so the
prompt ids and the decoded answers are those a transformers tokenizer gives (a models test checks it).
It offers the few members of a transformers tokenizer that the local planner calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reamo.errors import BackendUnavailableError

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
TEMPLATE_FILE = "chat_template.jinja"
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def _token_text(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken's dict."""
    if isinstance(value, Mapping):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _compile(template: str) -> Any:
    """The template compiled as transformers compiles chat templates (sandboxed, trimmed blocks)."""
    import jinja2.ext
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(
        x: Any,
        ensure_ascii: bool = False,
        indent: int | None = None,
        separators: tuple[str, str] | None = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


class ChatTokenizer:
    """A saved fast tokenizer (``tokenizer.json`` and its config) as the local planner uses it."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        try:
            saved = (folder / TOKENIZER_FILE).read_text(encoding="utf-8")
            config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackendUnavailableError(
                f"The planner's tokenizer files in {str(folder)!r} are missing or broken ({exc}); delete "
                "that model's cache folder and run `reamo models --prepare`."
            ) from exc
        self.backend_tokenizer: Any = Tokenizer.from_str(saved)
        self.backend_tokenizer.no_padding()
        self.backend_tokenizer.no_truncation()
        self._json: str = self.backend_tokenizer.to_str()  # what llguidance's transformers bridge hands it
        template = folder / TEMPLATE_FILE
        chat_template = template.read_text(encoding="utf-8") if template.is_file() else None
        self.chat_template: str | None = chat_template or config.get("chat_template")
        self.special_tokens_map = {
            name: text for name in SPECIAL_TOKENS if (text := _token_text(config.get(name))) is not None
        }
        self.eos_token_id = self._id(self.special_tokens_map.get("eos_token"))
        self.unk_token_id = self._id(self.special_tokens_map.get("unk_token"))
        self._templates: dict[str, Any] = {}

    def _id(self, token: str | None) -> int | None:
        found = self.backend_tokenizer.token_to_id(token) if token is not None else None
        return int(found) if found is not None else None

    def apply_chat_template(
        self,
        conversation: Sequence[Mapping[str, str]],
        *,
        add_generation_prompt: bool = False,
        tokenize: bool = False,
        chat_template: str | None = None,
    ) -> str:
        """The conversation rendered as text (``tokenize`` must be False: ids come from calling this)."""
        if tokenize:
            raise ValueError("ChatTokenizer.apply_chat_template renders text only; call the tokenizer on it.")
        source = chat_template or self.chat_template
        if source is None:
            raise ValueError("This tokenizer has no chat template: pass one.")
        if source not in self._templates:
            self._templates[source] = _compile(source)
        rendered: str = self._templates[source].render(
            messages=[dict(m) for m in conversation],
            tools=None,
            documents=None,
            add_generation_prompt=add_generation_prompt,
            **self.special_tokens_map,
        )
        return rendered

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        encoding = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens)
        return {"input_ids": list(encoding.ids)}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        text: str = self.backend_tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
        return text

    def convert_tokens_to_ids(self, token: str) -> int | None:
        """A token's id; the unknown token's id for a token not in the vocabulary."""
        found = self._id(token)
        return found if found is not None else self.unk_token_id

    def guidance(self, vocab_size: int) -> Any:
        """The llguidance tokenizer over the same vocabulary, sized to the model's logits."""
        from reamo.agent.planners.constrained import _llguidance

        return _llguidance().LLTokenizer(self._json, n_vocab=vocab_size, eos_token=self.eos_token_id)
