"""The params sections of the GPT, each with its defaults (equal to params.yaml) and the
ranges `genlab.config` enforces.

Kept apart from the code that uses them, with no dependency but the standard library, so
that every stage can validate the whole params file without importing the other stages'
code (and DVC re-runs a stage only when code it actually runs changes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from genlab.common.errors import bad_param
from genlab.common.params import Device, items, number

TokenizerKind = Literal["char", "bpe"]
Precision = Literal["auto", "float32", "bfloat16"]


@dataclass(frozen=True)
class CorpusConfig:
    """Params section `corpus`: sources tried in order (paths from the repository root, or
    URLs), the validation split and the download timeout."""

    sources: tuple[str, ...] = items(
        (
            "../shared/data/alice_in_wonderland.txt",
            "https://www.gutenberg.org/cache/epub/11/pg11.txt",
        )
    )
    val_fraction: float = number(0.1, gt=0.0, lt=1.0)
    timeout: float = number(30.0, gt=0.0, hi=600.0)


@dataclass(frozen=True)
class TokenizerConfig:
    """Params section `tokenizer`: characters, or a byte-level BPE trained on the training split."""

    kind: TokenizerKind = "char"
    vocab_size: int = number(512, lo=257, hi=65536)  # bpe only


@dataclass(frozen=True)
class ModelConfig:
    """The GPT's shape: the model fields of params section `gpt`."""

    n_layer: int = number(4, lo=1, hi=64)
    n_head: int = number(4, lo=1, hi=64)
    n_embd: int = number(128, lo=1, hi=4096)
    block_size: int = number(128, lo=2, hi=4096)
    dropout: float = number(0.1, lo=0.0, lt=1.0)

    def check(self, prefix: str) -> None:
        if self.n_embd % self.n_head:
            raise bad_param(
                f"{prefix}.n_embd", self.n_embd, f"expected a multiple of n_head = {self.n_head}"
            )


@dataclass(frozen=True)
class TrainConfig:
    """AdamW with warm-up and cosine decay: the training fields of params section `gpt`."""

    batch_size: int = number(16, lo=1)
    iters: int = number(1600, lo=1)
    lr: float = number(0.006, gt=0.0, hi=1.0)
    min_lr: float = number(0.0006, lo=0.0, hi=1.0)
    warmup_iters: int = number(100, lo=0)
    weight_decay: float = number(0.1, lo=0.0, hi=10.0)
    grad_clip: float = number(1.0, lo=0.0)
    eval_interval: int = number(200, lo=1)
    precision: Precision = "auto"  # autocast of the training steps; evaluation is float32
    nproc: int = number(1, lo=1, hi=64)  # processes (torchrun, DistributedDataParallel)
    seed: int = number(0, lo=0)
    device: Device = "auto"

    def check(self, prefix: str) -> None:
        if self.min_lr > self.lr:
            raise bad_param(f"{prefix}.min_lr", self.min_lr, f"expected <= lr = {self.lr}")


@dataclass(frozen=True)
class GptConfig(ModelConfig, TrainConfig):
    """Params section `gpt`: the model's shape and its training, in one section."""

    def check(self, prefix: str) -> None:
        ModelConfig.check(self, prefix)
        TrainConfig.check(self, prefix)

    def model(self) -> ModelConfig:
        """The model fields alone, as saved in the checkpoint."""
        return ModelConfig(**{f.name: getattr(self, f.name) for f in fields(ModelConfig)})


@dataclass(frozen=True)
class GptAnalysisConfig:
    """Params section `gpt_analysis`: sampling, token probabilities, attention, inversion."""

    prompts: tuple[str, ...] = items(("Alice was beginning", "The Queen said", "Down the"))
    max_new_tokens: int = number(200, lo=1, hi=100000)
    temperature: float = number(0.8, gt=0.0, hi=100.0)
    top_k: int = number(0, lo=0)  # 0: sample from every token
    seed: int = number(0, lo=0)
    prob_prompt: str = "Alice had learnt several things"
    prob_tokens: int = number(40, lo=1, hi=100000)
    attention_prompt: str = "The little squirrel was around Alice but she kept saying to herself"
    inversion_target: str = "I am a little squirrel holding a walnut"
    inversion_steps: int = number(300, lo=1, hi=100000)
    inversion_lr: float = number(0.05, gt=0.0, hi=100.0)
    inversion_seed: int = number(0, lo=0)

    def check(self, prefix: str) -> None:
        words = len(self.attention_prompt.split())
        if words < 12:
            raise bad_param(
                f"{prefix}.attention_prompt",
                self.attention_prompt,
                f"expected >= 12 words, got {words}",
            )
