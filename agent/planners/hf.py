"""The full-size planner: any transformers causal LM by local path or hub id, with an optional peft
adapter (the paper's Vicuna-7B-v1.5 + REAMO LoRA on a GPU). ``hf:PATH_OR_ID[+ADAPTER]`` in the config;
``planner_options`` may set device (cpu, cuda, auto), dtype (float32, bfloat16, float16), threads,
prompt, candidates, max_new_tokens and second_look (off by default; see the embedded planner).
Decoding follows the answer's JSON Schema, as the embedded one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reamo.agent.planners.constrained import Logits
from reamo.agent.planners.embedded import _common_prefix
from reamo.agent.planners.llm import Loaded, LocalPlanner
from reamo.agent.planners.prompting import PromptStyle
from reamo.errors import BackendUnavailableError, ConfigError
from reamo.quiet import quiet_transformers
from reamo.tools.protocol import Resources

DTYPES = ("float32", "bfloat16", "float16")


class TransformersModel:
    """A transformers causal LM as a ``TokenModel``: its KV cache is cropped to the prefix the next
    prompt shares with the last one, so repeated system turns are computed once."""

    def __init__(self, model: Any) -> None:
        import inspect

        self.model = model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(base.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"  # transformers 5 renamed it
        self._keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self._cache: Any = None
        self._ids: list[int] = []

    def start(self, prompt_ids: Sequence[int]) -> Logits:
        keep = min(_common_prefix(self._ids, prompt_ids), len(prompt_ids) - 1)
        if self._cache is None or keep == 0:
            self._cache, self._ids, keep = None, [], 0
        elif keep < len(self._ids):
            self._cache.crop(keep - len(self._ids))  # negative: tokens to drop (transformers 4 and 5)
            self._ids = self._ids[:keep]
        return self.extend(prompt_ids[keep:])

    def extend(self, ids: Sequence[int]) -> Logits:
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([list(ids)], device=device),
                use_cache=True,
                **{self._cache_arg: self._cache},
                **self._keep,
            )
        self._cache = getattr(out, self._cache_arg)
        self._ids += list(ids)
        logits: Logits = out.logits[0, -1].float().cpu().numpy().astype(np.float32)
        return logits


def load_transformers(
    source: str,
    adapter: str | None,
    *,
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
) -> Loaded:
    """Load ``source`` (a folder or hub id) and ``adapter`` (a peft folder or hub id), ready to decode."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise BackendUnavailableError("The hf planner needs torch and transformers.") from exc
    quiet_transformers()
    if threads:
        torch.set_num_threads(threads)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
        if device == "auto":
            kwargs["device_map"] = "auto"
        model: Any = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise BackendUnavailableError(
            f"Can't load the causal LM {source!r}: {exc}. Give a local folder with config.json, "
            "the weights and a tokenizer, or a hub id on a machine that reaches the hub."
        ) from exc
    if device != "auto":
        model = model.to(device)
    if adapter:
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise BackendUnavailableError("A LoRA adapter needs peft: pip install peft") from exc
        try:
            model = PeftModel.from_pretrained(model, adapter)
        except (OSError, ValueError) as exc:
            raise BackendUnavailableError(
                f"Can't load the adapter {adapter!r} onto {source!r}: {exc}. Give a peft folder "
                "(adapter_config.json + weights) made for this base model."
            ) from exc
    model.eval()
    vocab = int(model.get_output_embeddings().weight.shape[0])
    detail = f"transformers {dtype} on {device}" + (f", adapter {Path(adapter).name}" if adapter else "")
    return Loaded(tokenizer, TransformersModel(model), vocab, detail)


def parse_spec(arg: str) -> tuple[str, str | None]:
    """``PATH_OR_ID[+ADAPTER]`` -> (model, adapter or None)."""
    model, _, adapter = arg.partition("+")
    if not model.strip():
        raise ConfigError(
            "The hf planner needs a model: --planner hf:PATH_OR_ID or hf:PATH_OR_ID+ADAPTER "
            "(e.g. hf:lmsys/vicuna-7b-v1.5+./reamo-lora)."
        )
    return model.strip(), adapter.strip() or None


def make_hf(arg: str, options: Mapping[str, Any], resources: Resources | None = None) -> LocalPlanner:
    model, adapter = parse_spec(arg)
    device = str(options.get("device", "cpu"))
    dtype = str(options.get("dtype", "float32"))
    if dtype not in DTYPES:
        raise ConfigError(f"planner_options.dtype is {dtype!r}; use one of {', '.join(DTYPES)}.")
    threads = options.get("threads")
    style = PromptStyle.from_options(options, tuned=adapter is not None)
    return LocalPlanner(
        name=f"hf:{arg}",
        summary=f"{model}" + (f" + {adapter}" if adapter else ""),
        load=lambda: load_transformers(
            model, adapter, device=device, dtype=dtype, threads=int(threads) if threads else None
        ),
        style=style,
        max_new_tokens=int(options.get("max_new_tokens", 512)),
        second_look=float(options.get("second_look", 0.0)),
        resources=resources,
    )
