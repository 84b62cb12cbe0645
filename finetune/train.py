"""LoRA tuning of the planner with peft: loss on the answer tokens only, checkpoints that resume,
a JSON Lines loss log, and an evaluation on held-out examples at the end.

The same code serves a 135M model on 2 CPU cores and a Vicuna-7B-class model on a GPU (``device``,
``dtype`` and ``load_in_4bit`` for QLoRA in the config).
"""

from __future__ import annotations

import json
import math
import random
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from reamo.errors import ConfigError

ADAPTER_DTYPES = ("float32", "float16", "bfloat16")
Settings = TypeVar("Settings")


@dataclass
class TrainConfig:
    """``[finetune]`` of a TOML file; every field has a CPU-sized default."""

    base: str = "smollm2"  # smollm2 (the embedded planner's model) | a folder | a .gguf file | a hub id
    data: str = "finetune-data.jsonl"  # examples built by `reamo finetune --build-data`
    output: str = "finetune-out"
    steps: int = 600
    batch_size: int = 4
    grad_accum: int = 1
    learning_rate: float = 3e-4
    warmup_steps: int = 30
    max_length: int = 1024
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    save_every: int = 100
    log_every: int = 10
    eval_examples: int = 24
    eval_max_new_tokens: int = 256
    seed: int = 0
    threads: int = 2
    data_plan: dict[str, Any] = field(default_factory=dict)  # DataPlan fields, for --build-data
    device: str = "cpu"
    dtype: str = "float32"
    autocast: str = ""  # "bfloat16" on a GPU: float32 weights and optimizer, bfloat16 matrix products
    load_in_4bit: bool = False
    time_budget_s: float = 0.0  # > 0: at step 60, shorten the run (and its schedule) to fit
    init_adapter: str = ""  # an adapter to start from: a folder or a shipped adapter's name; "" = fresh
    adapter_dtype: str = "float32"  # the final adapter's file: "float16" halves it (how adapters ship)

    def __post_init__(self) -> None:
        if self.adapter_dtype not in ADAPTER_DTYPES:
            raise ConfigError(
                f"adapter_dtype is {self.adapter_dtype!r}; use one of {', '.join(ADAPTER_DTYPES)}."
            )

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
        data = read_config(path) if path else {}
        return settings(cls, data.get("finetune", data), overrides, "tuning")


def read_config(path: str | Path) -> dict[str, Any]:
    """A tuning config's TOML (ConfigError when it cannot be read)."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Can't read the tuning config {str(path)!r}: {exc}.") from exc


def settings(
    cls: type[Settings], table: Mapping[str, Any], overrides: Mapping[str, Any], what: str
) -> Settings:
    """The dataclass ``cls`` from a config ``table`` and the ``overrides`` that are not None; a setting
    ``cls`` lacks is a ConfigError naming the ``what`` settings it knows."""
    values = {**table, **{k: v for k, v in overrides.items() if v is not None}}
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"Unknown {what} setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
        )
    return cls(**values)


def load_base(config: TrainConfig) -> tuple[Any, Any]:
    """The base model and tokenizer: from the SmolLM2 GGUF (dequantised), a folder, a .gguf or a hub id."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, config.dtype)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if config.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True, bnb_4bit_compute_dtype=dtype
        )
    if config.base == "smollm2":  # the embedded planner's own float32 folder, so adapters merge into it
        from reamo.agent.planners.embedded import HF_ASSET
        from reamo.assets import prepare

        source = prepare(HF_ASSET).path
    else:
        source = Path(config.base)
    if source.suffix == ".gguf":
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model: Any = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, **kwargs)
        model.hf_quantizer = None  # a dequantised GGUF saves and trains like any fp32 model
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    else:
        name = str(source) if source.exists() else config.base
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(config.device), tokenizer


def encode(
    tokenizer: Any, messages: Sequence[dict[str, str]], answer: str, max_length: int
) -> dict[str, list[int]] | None:
    """Token ids of prompt + answer + end-of-turn, with labels -100 on the prompt; None when too long."""
    encoded = encode_all(tokenizer, [{"messages": messages, "answer": answer}], max_length)
    return encoded[0] if encoded else None


def end_of_turn(tokenizer: Any) -> list[int]:
    """The tokens the chat template closes an assistant turn with (``<|im_end|>`` for ChatML), which
    the tuned model must learn to emit; the tokenizer's end-of-sequence token where the template says
    nothing (tokenizers converted from a GGUF may name another token as end-of-sequence)."""
    sentinel = "\u2063REAMO\u2063"
    try:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": "x"}, {"role": "assistant", "content": sentinel}], tokenize=False
        )
    except Exception:  # no chat template: the model's own end-of-sequence
        return [tokenizer.eos_token_id]
    suffix = rendered.split(sentinel, 1)[1].rstrip() if sentinel in rendered else ""
    ids = tokenizer(suffix, add_special_tokens=False)["input_ids"] if suffix else []
    return list(ids) or [tokenizer.eos_token_id]


def encode_all(
    tokenizer: Any, examples: Sequence[dict[str, Any]], max_length: int
) -> list[dict[str, list[int]]]:
    """``encode`` for many examples in two batched tokenizer calls (the fast tokenizer runs them in
    parallel); the examples that don't fit ``max_length`` are left out."""
    prompts = [
        tokenizer.apply_chat_template(list(e["messages"]), add_generation_prompt=True, tokenize=False)
        for e in examples
    ]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"] if prompts else []
    answer_ids = (
        tokenizer([e["answer"] for e in examples], add_special_tokens=False)["input_ids"] if prompts else []
    )
    out, close = [], end_of_turn(tokenizer)
    for p, a in zip(prompt_ids, answer_ids, strict=True):
        a = [*a, *close]
        if len(p) + len(a) <= max_length:
            out.append({"input_ids": p + a, "labels": [-100] * len(p) + a})
    return out


def read_examples(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(
            f"No tuning data at {str(path)!r}; build it with `reamo finetune --build-data DATA_DIR`."
        )
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split(
    examples: list[dict[str, Any]], n_eval: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A fixed held-out set (by seed) for the end-of-run evaluation; the rest trains."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    return [e for i, e in enumerate(examples) if i not in held], [examples[i] for i in sorted(held)]


def batches(
    encoded: list[dict[str, list[int]]], batch_size: int, seed: int, start_step: int
) -> Iterator[list[dict[str, list[int]]]]:
    """An endless, seeded stream of batches; resuming at ``start_step`` gives the same batches as before."""
    rng = random.Random(seed)
    order: list[int] = []
    step = 0
    while True:
        if len(order) < batch_size:
            epoch = list(range(len(encoded)))
            rng.shuffle(epoch)
            order += epoch
        chosen, order = order[:batch_size], order[batch_size:]
        if step >= start_step:
            yield [encoded[i] for i in chosen]
        step += 1


def collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(x["input_ids"]) for x in batch)
    ids = [x["input_ids"] + [pad_id] * (width - len(x["input_ids"])) for x in batch]
    labels = [x["labels"] + [-100] * (width - len(x["labels"])) for x in batch]
    mask = [[1] * len(x["input_ids"]) + [0] * (width - len(x["input_ids"])) for x in batch]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def initial_weights(config: TrainConfig) -> dict[str, Any] | None:
    """The weights of ``config.init_adapter`` as float32, once its LoRA shape matches the config; None
    when it names no adapter ("" or "none")."""
    import torch
    from safetensors.torch import load_file

    from reamo.agent.planners.embedded import find_adapter

    if not config.init_adapter:
        return None
    folder = find_adapter(config.init_adapter)  # a folder, the name of a shipped adapter, or "none"
    if folder is None:
        return None
    try:
        shape = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
        weights = load_file(str(folder / "adapter_model.safetensors"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Can't read the adapter to start from (init_adapter = {config.init_adapter!r}): {exc}. "
            "Give a folder with adapter_config.json and adapter_model.safetensors."
        ) from exc
    wanted = {
        "r": config.lora_r,
        "lora_alpha": config.lora_alpha,
        "target_modules": sorted(config.target_modules),
    }
    found = {
        "r": shape.get("r"),
        "lora_alpha": shape.get("lora_alpha"),
        "target_modules": sorted(shape.get("target_modules") or []),
    }
    if wanted != found:
        raise ConfigError(
            f"init_adapter {config.init_adapter!r} has r {found['r']}, alpha {found['lora_alpha']} on "
            f"{', '.join(found['target_modules'])}; set lora_r, lora_alpha and target_modules to match."
        )
    return {name: tensor.to(torch.float32) for name, tensor in weights.items()}


def store_as(path: Path, dtype: str) -> None:
    """Rewrite a safetensors file with its tensors cast to ``dtype``, one of ``ADAPTER_DTYPES``."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    save_file(
        {k: v.to(getattr(torch, dtype)).contiguous() for k, v in tensors.items()}, str(path), {"format": "pt"}
    )


def mixed_precision(device: str, autocast: str) -> Any:
    """The context a step's forward pass runs in: ``autocast`` ("bfloat16", say) matrix products over
    float32 weights on ``device``, or plain float32 where ``autocast`` is empty; TF32 on a GPU."""
    import torch

    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
    return torch.autocast(
        device_type=device.split(":")[0], dtype=getattr(torch, autocast or "bfloat16"), enabled=bool(autocast)
    )


class TimeBudget:
    """A run's steps fitted to ``seconds`` (0: no budget): ``fit`` times the steps 20-60 after ``start``
    (the first ones run slower while each new batch width picks its kernels: on an H100, steps 10-30 gave
    0.75 s a step, where steps 50-474 took 0.47 s) and at step 60 lowers the planned steps once to what the
    time left allows."""

    TIMED_FROM, DECIDED_AT = 20, 60

    def __init__(self, seconds: float, start: int) -> None:
        self.seconds, self.start = seconds, start
        self.started = self.warm = time.perf_counter()

    def fit(self, done: int, planned: int) -> int:
        """The planned steps once ``done`` steps are done."""
        if self.seconds <= 0:
            return planned
        if done - self.start == self.TIMED_FROM:
            self.warm = time.perf_counter()
        if done - self.start == self.DECIDED_AT:
            now = time.perf_counter()
            per_step = (now - self.warm) / (self.DECIDED_AT - self.TIMED_FROM)
            return min(planned, done + max(0, int((self.seconds - (now - self.started)) / per_step)))
        return planned


def latest_checkpoint(output: Path) -> Path | None:
    """The checkpoint folder of ``output`` with the highest step, if any."""
    found = sorted(output.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return found[-1] if found else None


def train(
    config: TrainConfig, *, resume: bool = True, model: Any = None, tokenizer: Any = None
) -> dict[str, Any]:
    """Tune a LoRA adapter; returns a summary (steps, final loss, time, evaluation)."""
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    if model is None or tokenizer is None:
        model, tokenizer = load_base(config)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    initial = initial_weights(config)
    if initial is not None:
        unplaced: list[str] = set_peft_model_state_dict(model, initial).unexpected_keys  # type: ignore[attr-defined]
        if unplaced:
            raise ConfigError(
                f"init_adapter {config.init_adapter!r} does not fit the base model {config.base!r}: "
                f"{len(unplaced)} of its weights have no place in it (first: {unplaced[0]}). "
                "Start from an adapter made for this base."
            )
    examples = read_examples(Path(config.data))
    train_set, held_out = split(examples, config.eval_examples, config.seed)
    encoded = encode_all(tokenizer, train_set, config.max_length)
    if not encoded:
        raise ConfigError(f"No example fits max_length={config.max_length}; raise it or shorten the prompts.")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)

    planned = config.steps  # lowered once by time_budget_s (TimeBudget)

    def lr_at(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, planned - config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    autocast = mixed_precision(config.device, config.autocast)
    start = 0
    checkpoint = latest_checkpoint(output) if resume else None
    if checkpoint is not None:
        set_peft_model_state_dict(model, load_file(str(checkpoint / "adapter_model.safetensors")))
        state = torch.load(checkpoint / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = int(state["step"])
    log = (output / "log.jsonl").open("a", encoding="utf-8")
    model.train()
    started, loss_sum, loss_n, last_loss = time.perf_counter(), 0.0, 0, float("nan")
    budget = TimeBudget(config.time_budget_s, start)
    stream = batches(encoded, config.batch_size * config.grad_accum, config.seed, start)
    step = start
    while step < planned:
        batch = next(stream)
        total = 0.0
        for i in range(config.grad_accum):
            part = collate(batch[i * config.batch_size : (i + 1) * config.batch_size], tokenizer.pad_token_id)
            with autocast:
                loss = model(**{k: v.to(config.device) for k, v in part.items()}).loss / config.grad_accum
            loss.backward()
            total += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        loss_sum, loss_n, last_loss = loss_sum + total, loss_n + 1, total
        planned = budget.fit(step + 1, planned)
        if (step + 1) % config.log_every == 0 or step + 1 == planned:
            log.write(
                json.dumps(
                    {
                        "step": step + 1,
                        "loss": loss_sum / loss_n,
                        "lr": scheduler.get_last_lr()[0],
                        "seconds": time.perf_counter() - started,
                    }
                )
                + "\n"
            )
            log.flush()
            loss_sum, loss_n = 0.0, 0
        if (step + 1) % config.save_every == 0 or step + 1 == planned:
            target = output / f"checkpoint-{step + 1}"
            model.save_pretrained(target)
            torch.save(
                {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step + 1},
                target / "trainer.pt",
            )
        step += 1
    log.close()
    model.save_pretrained(output / "adapter")
    if config.adapter_dtype != "float32":
        store_as(output / "adapter" / "adapter_model.safetensors", config.adapter_dtype)
    evaluation = {}
    if held_out and config.eval_examples:
        from reamo.finetune.evaluate import generate_answers, score_answers

        predicted = generate_answers(
            model, tokenizer, held_out, max_new_tokens=config.eval_max_new_tokens, device=config.device
        )
        evaluation = score_answers([e["answer"] for e in held_out], predicted)
    summary = {
        "steps": planned,
        "resumed_from": start,
        "final_loss": last_loss,
        "train_examples": len(encoded),
        "skipped_too_long": len(train_set) - len(encoded),
        "seconds": time.perf_counter() - started,
        "evaluation": evaluation,
        "config": asdict(config),
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
