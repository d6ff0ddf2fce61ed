"""A small U-Net that predicts the noise in a 28 x 28 image, and its eps-model wrapper
(docs/images.md).

The U-Net has residual blocks with group norm, two down/up samplings (28 -> 14 -> 7) with
skip connections, and self-attention at 7 x 7. It is conditioned on a sinusoidal
embedding of ln(sigma) and, optionally, a class embedding whose extra index `num_classes`
is the "no label" of classifier-free guidance.

`ImageDenoiser` makes it a model of the 2-D library's kind: it takes flattened images
(N, 784) in VE coordinates, x = x0 + sigma eps, with the training time t of a schedule, so
the library's denoising loss, `eps_fn` and samplers (which work on (N, D) tensors) apply
unchanged. A VP (DDPM) model is the same network fed x / sqrt(1 + sigma^2), which is the
VP state sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.diffusion.model import edm_eps
from genlab.images.config import UNetConfig

SIDE = 28
PIXELS = SIDE * SIDE
NUM_CLASSES = 10
# VE models see x / sqrt(sigma^2 + SIGMA_DATA^2) (Karras et al.'s c_in), about unit scale at
# every sigma; the digits scaled to [-1, 1] have a pixel std of about 0.6. VP models use 1.
SIGMA_DATA = 0.5


def sinusoidal_embedding(u: torch.Tensor, dim: int, max_period: float = 1e4) -> torch.Tensor:
    """Transformer-style embedding of a scalar per row: [cos(u w_k), sin(u w_k)], dim values.

    Frequencies w_k = max_period^(-k / half) for k < half = dim // 2 (Vaswani et al. 2017;
    Ho et al. 2020 embed the step index the same way). `u` is scaled so that the noise
    levels of interest span about [-60, 60] (see `noise_input`).
    """
    half = dim // 2
    k = torch.arange(half, device=u.device, dtype=torch.float32)
    freqs = torch.exp(-math.log(max_period) * k / half)
    angles = u.reshape(-1, 1).float() * freqs
    emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return F.pad(emb, (0, dim - 2 * half))


def noise_input(sigma: torch.Tensor) -> torch.Tensor:
    """The scalar the embedding sees: 10 ln(sigma), about -62 at sigma 0.002 to 44 at 80."""
    return 10.0 * torch.log(sigma)


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, plus the embedding as a per-channel bias, twice; a skip."""

    def __init__(self, cin: int, cout: int, emb: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a residual."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w)
        q, k, v = (qkv[:, i].transpose(-1, -2) for i in range(3))  # (n, heads, hw, c/heads)
        out = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(out.transpose(-1, -2).reshape(n, c, h, w))


class UNet(nn.Module):
    """eps(x, ln sigma [, label]) for (N, 1, 28, 28) images; channels per resolution 28/14/7."""

    def __init__(self, cfg: UNetConfig, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_classes = num_classes if cfg.conditional else 0
        c0, c1, c2 = cfg.channels
        e, g, p = cfg.emb_dim, cfg.groups, cfg.dropout
        self.time = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        # index num_classes is the null label that classifier-free guidance samples with
        self.label = nn.Embedding(self.num_classes + 1, e) if self.num_classes else None
        self.conv_in = nn.Conv2d(1, c0, 3, padding=1)
        self.down0 = ResBlock(c0, c0, e, g, p)
        self.pool0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)  # 28 -> 14
        self.down1 = ResBlock(c0, c1, e, g, p)
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # 14 -> 7
        self.down2 = ResBlock(c1, c2, e, g, p)
        self.mid = ResBlock(c2, c2, e, g, p)
        self.attn = Attention(c2, cfg.heads, g) if cfg.attention else nn.Identity()
        self.up2 = ResBlock(c2 + c2, c2, e, g, p)
        self.unpool1 = nn.Conv2d(c2, c1, 3, padding=1)  # after nearest 7 -> 14
        self.up1 = ResBlock(c1 + c1, c1, e, g, p)
        self.unpool0 = nn.Conv2d(c1, c0, 3, padding=1)  # after nearest 14 -> 28
        self.up0 = ResBlock(c0 + c0, c0, e, g, p)
        # Group norm before the output (Ho et al.) divides out each image's scale, which the
        # ODE samplers need; without it the residual stream keeps it (docs/images.md).
        self.norm_out = nn.GroupNorm(g, c0) if cfg.output_norm else nn.Identity()
        self.conv_out = nn.Conv2d(c0, 1, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def embedding(self, log_sigma: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        emb = self.time(sinusoidal_embedding(log_sigma, self.cfg.emb_dim))
        if self.label is not None:
            if labels is None:  # unconditional: the null label
                labels = torch.full(
                    (emb.shape[0],), self.num_classes, dtype=torch.long, device=emb.device
                )
            emb = emb + self.label(labels)
        return emb

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x (N, 1, 28, 28) already scaled; `noise` (N,) is `noise_input(sigma)`."""
        emb = self.embedding(noise, labels).to(x.dtype)
        h0 = self.down0(self.conv_in(x), emb)
        h1 = self.down1(self.pool0(h0), emb)
        h2 = self.down2(self.pool1(h1), emb)
        h = self.attn(self.mid(h2, emb))
        h = self.up2(torch.cat([h, h2], dim=1), emb)
        h = self.unpool1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.up1(torch.cat([h, h1], dim=1), emb)
        h = self.unpool0(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.up0(torch.cat([h, h0], dim=1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))


class ImageDenoiser(nn.Module):
    """The U-Net as the library's eps model: flattened VE states in, flattened noise out.

    `forward(x, t, schedule, labels)` has the 2-D `Denoiser`'s signature: x is (N, 784) in
    VE coordinates, t the training time of `schedule` (a scalar or one per row). The input
    is scaled by 1 / sqrt(sigma^2 + s^2) with s = 1 for a VP model (its exact state) and
    SIGMA_DATA for a VE one. With `parameterization: edm` the U-Net's output F enters as in
    the 2-D model's EDM form, with this s in place of its sigma_data.
    """

    def __init__(self, cfg: UNetConfig, vp: bool) -> None:
        super().__init__()
        self.unet = UNet(cfg)
        self.vp = vp
        self.parameterization = cfg.parameterization
        self.sigma_data = 1.0 if vp else SIGMA_DATA  # s below; also the loss weight's
        self.num_classes = self.unet.num_classes
        self.dim = PIXELS

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, schedule, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        n = x.shape[0]
        t = t.to(torch.float64).reshape(-1).expand(n) if t.numel() == 1 else t.to(torch.float64)
        sigma = schedule.sigma(t).to(x.device)
        s = self.sigma_data
        scale = (1.0 / torch.sqrt(sigma**2 + s**2)).to(x.dtype)
        img = (x * scale[:, None]).reshape(n, 1, SIDE, SIDE)
        out = self.unet(img, noise_input(sigma).to(x.dtype), labels).reshape(n, PIXELS)
        if self.parameterization == "edm":
            # At high noise eps ~ x / sigma then comes from the input itself, each image's own
            # scale included. With s = 1 (VP) F is minus the v-prediction of Salimans & Ho
            # 2022 (docs/images.md).
            return edm_eps(x, sigma.to(x.dtype)[:, None], out, s)
        return out
