"""A small GPT in the style of minGPT/nanoGPT (docs/gpt.md).

Token + position embeddings, pre-norm blocks of causal self-attention and an
MLP, a final LayerNorm and a linear head (tied to the token embedding by
default). Training uses PyTorch's fused scaled-dot-product attention; asked
with `return_attn=True`, the same module computes softmax(QK^T / sqrt(d))
explicitly and returns it, for analysis. Dropout acts on the embeddings and
the residual branches only, never on the attention probabilities: on CPU,
attention dropout forces the unfused kernel and costs about a third of the
step time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.gpt.config import ModelConfig

BIAS = False  # no biases in the linear layers and LayerNorms, as in nanoGPT's default


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=BIAS)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=BIAS)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(
        self, x: torch.Tensor, return_attn: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if return_attn:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            att = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
            y = att @ v
        else:
            att = None
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.proj(y)), att


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=BIAS)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=BIAS)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd, bias=BIAS)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd, bias=BIAS)
        self.mlp = MLP(cfg)

    def forward(
        self, x: torch.Tensor, return_attn: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, att = self.attn(self.ln1(x), return_attn)
        x = x + a
        return x + self.mlp(self.ln2(x)), att


class GPT(nn.Module):
    """Token and position embeddings, `n_layer` blocks, a final LayerNorm and a head tied to
    the token embedding."""

    def __init__(self, cfg: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.cfg, self.vocab_size = cfg, vocab_size
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=BIAS)
        self.head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        self.head.weight = self.wte.weight
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 n_layer).
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def n_params(self) -> int:
        """Parameter count, the tied head counted once."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        idx: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        *,
        embeds: torch.Tensor | None = None,
        return_attn: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor]]:
        """Logits (B, T, vocab), the mean cross-entropy when `targets` are given, attention maps.

        `embeds` (B, T, n_embd) replaces the token embeddings (embedding inversion);
        positions are added either way. The attention list holds one (B, n_head, T, T)
        tensor per block when `return_attn` is set, else it is empty.
        """
        x = self.wte(idx) if embeds is None else embeds
        T = x.shape[1]
        if T > self.cfg.block_size:
            raise ValueError(f"sequence of {T} tokens exceeds block_size {self.cfg.block_size}")
        x = self.drop(x + self.wpe(torch.arange(T, device=x.device)))
        maps = []
        for block in self.blocks:
            x, att = block(x, return_attn)
            if att is not None:
                maps.append(att)
        logits = self.head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss, maps
