"""LoRA tuning on a tiny random llama and a tiny tokenizer made in the test (offline, seconds):
loss only on the answer, checkpoints that resume, a loss log and an end-of-run evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import load_file  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402

from reamo.errors import ConfigError  # noqa: E402
from reamo.finetune.evaluate import score_answers  # noqa: E402
from reamo.finetune.train import (  # noqa: E402
    TrainConfig,
    encode,
    encode_all,
    end_of_turn,
    store_as,
    train,
)

CHAT = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
ANSWER = (
    '{"entities":[{"text":"Obama","label":"person","concept":false}],"relations":[],"events":[],"calls":[]}'
)


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    words = [
        "<pad>",
        "<unk>",
        "<|im_start|>",
        "<|im_end|>",
        "system",
        "user",
        "assistant",
        "Text",
        "Obama",
        "met",
        "Merkel",
        "person",
        "entities",
        "text",
        "label",
        "concept",
        "false",
        "relations",
        "events",
        "calls",
        "Find",
        "names",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        '"',
        "\n",
        ".",
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<pad>", unk_token="<unk>", chat_template=CHAT
    )


def tiny_llama(vocab: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.5,  # a confident head, as a trained base has: LoRA then moves the loss fast
    )
    return LlamaForCausalLM(config)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Find names ."},
                {"role": "user", "content": f"Text : Obama met Merkel . {i}"},
            ],
            "answer": ANSWER,
        }
        for i in range(12)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def read_log(output: Path) -> list[dict[str, Any]]:
    """The trainer's JSON Lines loss log in ``output``."""
    return [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]


def test_encode_masks_the_prompt() -> None:
    tok = tiny_tokenizer()
    encoded = encode(tok, [{"role": "user", "content": "Obama met Merkel"}], ANSWER, 512)
    assert encoded is not None
    prompt_len = encoded["labels"].count(-100)
    assert prompt_len > 0
    assert encoded["labels"][prompt_len:] == encoded["input_ids"][prompt_len:]
    assert encoded["input_ids"][-1] == tok.eos_token_id
    assert encode(tok, [{"role": "user", "content": "Obama"}], ANSWER, 5) is None  # too long: skipped


def test_train_logs_checkpoints_resumes_and_evaluates(data: Path, tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    config = TrainConfig(
        data=str(data),
        output=str(tmp_path / "out"),
        steps=6,
        batch_size=2,
        save_every=3,
        log_every=2,
        warmup_steps=1,
        eval_examples=2,
        eval_max_new_tokens=8,
        max_length=256,
        learning_rate=5e-3,
    )
    first = train(TrainConfig(**{**config.__dict__, "steps": 3}), model=tiny_llama(len(tok)), tokenizer=tok)
    assert first["resumed_from"] == 0
    assert (tmp_path / "out" / "checkpoint-3" / "adapter_model.safetensors").is_file()
    second = train(config, model=tiny_llama(len(tok)), tokenizer=tok)  # picks up checkpoint-3
    assert second["resumed_from"] == 3
    log = read_log(tmp_path / "out")
    assert [r["step"] for r in log] == [2, 3, 4, 6]
    assert all(r["loss"] > 0 for r in log)
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    assert "parsed" in second["evaluation"]
    assert second["train_examples"] == 10


def test_lora_learns_the_answer(data: Path, tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    config = TrainConfig(
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        data=str(data),
        output=str(tmp_path / "o"),
        steps=60,
        batch_size=4,
        save_every=100,
        log_every=10,
        warmup_steps=2,
        eval_examples=0,
        max_length=256,
        learning_rate=3e-2,
        lora_r=8,
    )
    train(config, model=tiny_llama(len(tok)), tokenizer=tok)
    log = [r["loss"] for r in read_log(tmp_path / "o")]
    assert log[-1] < 0.5 * log[0]


def test_time_budget_shortens_the_run_and_autocast_trains(data: Path, tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    config = TrainConfig(
        data=str(data),
        output=str(tmp_path / "b"),
        steps=80,
        batch_size=2,
        save_every=1000,
        log_every=20,
        warmup_steps=2,
        eval_examples=0,
        max_length=256,
        autocast="bfloat16",  # CPU autocast: the GPU config's setting, exercised here
        time_budget_s=1e-9,  # any budget is spent when it is checked at step 60: the run ends there
    )
    summary = train(config, model=tiny_llama(len(tok)), tokenizer=tok)
    assert summary["steps"] == 60
    assert (tmp_path / "b" / "checkpoint-60" / "adapter_model.safetensors").is_file()
    log = read_log(tmp_path / "b")
    assert [r["step"] for r in log] == [20, 40, 60]
    assert all(math.isfinite(r["loss"]) for r in log)


def test_init_adapter_starts_from_a_trained_adapter_and_reruns_bit_for_bit(
    data: Path, tmp_path: Path
) -> None:
    tok = tiny_tokenizer()
    base = TrainConfig(
        data=str(data),
        output=str(tmp_path / "first"),
        steps=40,
        batch_size=4,
        save_every=100,
        log_every=1,
        warmup_steps=2,
        eval_examples=0,
        max_length=256,
        learning_rate=3e-2,
    )
    train(base, model=tiny_llama(len(tok)), tokenizer=tok)
    first = [r["loss"] for r in read_log(tmp_path / "first")]
    assert first[-1] < 0.5 * first[0]
    first_file = tmp_path / "first" / "adapter" / "adapter_model.safetensors"
    store_as(first_file, "float16")  # as adapters ship
    assert {t.dtype for t in load_file(str(first_file)).values()} == {torch.float16}
    more = {
        "init_adapter": str(tmp_path / "first" / "adapter"),
        "steps": 3,
        "learning_rate": 1e-4,
        "adapter_dtype": "float16",
    }
    outputs = []
    for name in ("second", "again"):
        config = TrainConfig(**{**base.__dict__, **more, "output": str(tmp_path / name)})
        train(config, model=tiny_llama(len(tok)), tokenizer=tok)
        outputs.append(tmp_path / name / "adapter" / "adapter_model.safetensors")
    second = [r["loss"] for r in read_log(tmp_path / "second")]
    assert second[0] < 0.5 * first[0]  # it starts where the first run ended, not from scratch
    assert outputs[0].read_bytes() == outputs[1].read_bytes()  # CPU: the same run gives the same bytes
    assert {t.dtype for t in load_file(str(outputs[0])).values()} == {torch.float16}


def test_init_adapter_must_fit_the_config_and_the_base(data: Path, tmp_path: Path) -> None:
    tok = tiny_tokenizer()
    config = TrainConfig(
        data=str(data), output=str(tmp_path / "a"), steps=1, batch_size=2, eval_examples=0, max_length=256
    )
    train(config, model=tiny_llama(len(tok)), tokenizer=tok)
    adapter = str(tmp_path / "a" / "adapter")

    def tune(model: Any, **changes: Any) -> None:
        changes = {"init_adapter": adapter, "output": str(tmp_path / "b"), **changes}
        train(TrainConfig(**{**config.__dict__, **changes}), model=model, tokenizer=tok)

    with pytest.raises(ConfigError, match="set lora_r, lora_alpha and target_modules"):
        tune(tiny_llama(len(tok)), lora_r=4)
    with pytest.raises(ConfigError, match=r"with adapter_config\.json"):
        tune(tiny_llama(len(tok)), init_adapter=str(tmp_path / "none"))
    one_layer = LlamaConfig(**{**tiny_llama(len(tok)).config.to_dict(), "num_hidden_layers": 1})
    with pytest.raises(ConfigError, match="does not fit the base model"):
        tune(LlamaForCausalLM(one_layer))


def test_the_answer_ends_with_the_templates_end_of_turn_not_the_eos_token() -> None:
    tok = tiny_tokenizer()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert end_of_turn(tok) == [im_end]
    tok.eos_token = "<|im_start|>"  # as a GGUF conversion named it on one machine
    encoded = encode(tok, [{"role": "user", "content": "Obama"}], ANSWER, 512)
    assert encoded is not None
    assert encoded["input_ids"][-1] == im_end


def test_encode_all_matches_encode_one_by_one(data: Path) -> None:
    tok = tiny_tokenizer()
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    rows[0] = {**rows[0], "answer": rows[0]["answer"] * 40}  # too long for 256 tokens: left out
    one_by_one = [encode(tok, r["messages"], r["answer"], 256) for r in rows]
    assert encode_all(tok, rows, 256) == [x for x in one_by_one if x is not None]
    assert one_by_one[0] is None


def test_config_rejects_unknown_settings(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[finetune]\nstep = 3\n")
    with pytest.raises(ConfigError, match="step"):
        TrainConfig.load(path)
    path.write_text("[finetune]\nsteps = 3\nlora_r = 4\n")
    assert TrainConfig.load(path, output="x").lora_r == 4
    path.write_text('[finetune]\nadapter_dtype = "half"\n')
    with pytest.raises(ConfigError, match="float16"):
        TrainConfig.load(path)


def test_score_answers() -> None:
    gold = [ANSWER, '{"entities":[],"relations":[],"events":[],"calls":[]}']
    wrong = '{"entities":[{"text":"Obama","label":"location"}],"calls":[]}'
    assert score_answers(gold, [ANSWER, gold[1]])["entities_f1"] == 100.0
    scores = score_answers(gold, [wrong, "not json"])
    assert scores["entities_f1"] == 0.0
    assert scores["parsed"] == 50.0


def test_shipped_configs_load_and_the_events_config_starts_from_the_shipped_adapter() -> None:
    from reamo.finetune.data import DataPlan
    from reamo.finetune.pairs import ScorerTrainConfig, is_scorer_config
    from reamo.finetune.train import initial_weights
    from reamo.finetune.universal import UniversalTrainConfig, is_universal_config

    folder = Path(__file__).resolve().parents[1] / "finetune" / "configs"
    configs = sorted(folder.glob("*.toml"))
    assert {p.stem for p in configs} >= {"cpu", "cpu-events", "gpu-135m", "gpu-7b"}
    for path in configs:
        if is_scorer_config(path):
            ScorerTrainConfig.load(path)  # a pair scorer's (tests/test_pair_scorers.py)
        elif is_universal_config(path):
            UniversalTrainConfig.load(path)  # the universal scorer's (tests/test_universal.py)
        else:
            DataPlan(**TrainConfig.load(path).data_plan)
    weights = initial_weights(TrainConfig.load(folder / "cpu-events.toml"))
    assert weights is not None  # the shipped first stage, by name, with the config's LoRA shape
    assert len(weights) == 30 * 7 * 2
    assert initial_weights(TrainConfig(init_adapter="none")) is None
    assert {t.dtype for t in weights.values()} == {torch.float32}
