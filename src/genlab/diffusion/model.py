"""The denoiser MLP D(x_t, t [, c]) (docs/schedules.md, docs/denoiser.md).

The model predicts the noise eps that was added to a clean point, either directly (`eps`)
or through EDM's preconditioning (`edm`, Karras et al. 2022), whose clean-point estimate
c_skip x + c_out F is returned as the equivalent noise. The samplers and the likelihoods
call it as eps(x, sigma) through `eps_fn`, at the training time t = sigma^-1(sigma) of the
schedule it was trained with.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.schedules import Schedule

# eps_fn(x, sigma) -> predicted noise; sigma is a scalar tensor (one noise level for the batch)
# or a column (n, 1) with one noise level per row.
EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


FOURIER_FREQS = (1.0, 2.0, 4.0, 8.0, 16.0)

# With scale_input the network sees x_t / sqrt(sigma^2 + SIGMA_DATA^2), of about unit scale
# at every noise level (Karras et al. 2022's c_in); SIGMA_DATA is about the square's std.
SIGMA_DATA = 0.5


class Denoiser(nn.Module):
    """An MLP with LeakyReLU that predicts eps from (x_t, time features [, class embedding])."""

    sigma_data = SIGMA_DATA

    def __init__(
        self, cfg: DenoiserConfig, num_classes: int = 0, class_dim: int = 0, dim: int = 2
    ) -> None:
        super().__init__()
        self.cfg, self.num_classes, self.class_dim, self.dim = cfg, num_classes, class_dim, dim
        n_time = {"t": 1, "log_sigma": 1, "fourier": 1 + 2 * len(FOURIER_FREQS)}[cfg.time_input]
        self.embed = nn.Embedding(num_classes, class_dim) if num_classes else None
        layers: list[nn.Module] = []
        fan_in = dim * (1 + 2 * cfg.x_fourier) + n_time + (class_dim if num_classes else 0)
        for _ in range(cfg.depth):
            layers += [nn.Linear(fan_in, cfg.width), nn.LeakyReLU(0.2)]
            fan_in = cfg.width
        layers.append(nn.Linear(fan_in, dim))
        self.net = nn.Sequential(*layers)
        self.register_buffer("freqs", torch.tensor(FOURIER_FREQS) * math.pi, persistent=False)
        octaves = 2.0 ** torch.arange(cfg.x_fourier, dtype=torch.float32)
        self.register_buffer("x_freqs", octaves * math.pi, persistent=False)

    def time_features(self, t: torch.Tensor, schedule: Schedule) -> torch.Tensor:
        t = t.reshape(-1, 1)
        if self.cfg.time_input == "t":
            return t
        if self.cfg.time_input == "log_sigma":
            # ln sigma mapped onto [0, 1] over [sigma_min, sigma_max]
            return 1.0 + torch.log(schedule.sigma(t) / schedule.sigma_max) / schedule.log_range
        angles = t * self.freqs.to(t.dtype)
        return torch.cat([t, torch.sin(angles), torch.cos(angles)], dim=1)

    def features(self, x: torch.Tensor, t: torch.Tensor, schedule: Schedule) -> torch.Tensor:
        """The network's fixed (unlearned) inputs: x_t, scaled when `scale_input`, the time
        features, and sin/cos of the scaled x_t at octave frequencies."""
        t = _per_row(t, x)
        sigma = schedule.sigma(t.reshape(-1, 1))
        xs = x / torch.sqrt(sigma**2 + SIGMA_DATA**2) if self.cfg.scale_input else x
        parts = [xs, self.time_features(t, schedule)]
        if self.cfg.x_fourier:
            # sin and cos of the input at octave frequencies: lets the MLP draw sharp edges
            angles = (xs[:, :, None] * self.x_freqs.to(x.dtype)).flatten(1)
            parts += [torch.sin(angles), torch.cos(angles)]
        return torch.cat(parts, dim=1)

    def head(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """F, the learned part: the MLP on the features joined to the class embedding."""
        if self.embed is not None:
            if labels is None:
                raise ValueError("this denoiser is class-conditional: pass labels")
            features = torch.cat([features, self.embed(labels)], dim=1)
        return self.net(features)

    def head_target(self, x: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The head output F for which the model's noise prediction at x = x0 + sigma eps is
        exactly eps (sigma a column). With the training loss's weight, ||eps_pred - eps||^2 w
        equals ||F - target||^2 for both parameterisations (docs/denoiser.md)."""
        if self.cfg.parameterization == "edm":
            scale = torch.sqrt(sigma**2 + SIGMA_DATA**2)
            return (sigma * x / scale**2 - eps) * (scale / SIGMA_DATA)
        return eps

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        schedule: Schedule,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        t = _per_row(t, x)
        out = self.head(self.features(x, t, schedule), labels)
        if self.cfg.parameterization == "edm":
            return edm_eps(x, schedule.sigma(t.reshape(-1, 1)), out, SIGMA_DATA)
        return out


def _per_row(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """t as one time per row of x, in x's dtype."""
    return t.to(x.dtype).expand(x.shape[0]) if t.dim() == 0 else t.to(x.dtype)


def edm_eps(x: torch.Tensor, sigma: torch.Tensor, out: torch.Tensor, s: float) -> torch.Tensor:
    """EDM's clean-point estimate D = c_skip x + c_out F written as the noise prediction
    (x - D) / sigma = sigma x / (sigma^2 + s^2) - (s / sqrt(sigma^2 + s^2)) F, for data of
    scale s (sigma a column): the exact eps of N(0, s^2 I) data plus the network's
    correction, which fades as s / sigma at high noise (docs/denoiser.md)."""
    scale = torch.sqrt(sigma**2 + s**2)
    return sigma * x / scale**2 - (s / scale) * out


def noise_schedule(cfg: DenoiserConfig) -> Schedule:
    """The schedule of params section `denoiser`."""
    return Schedule(cfg.schedule, cfg.sigma_min, cfg.sigma_max)


def eps_fn(model: Denoiser, schedule: Schedule, labels: torch.Tensor | None = None) -> EpsFn:
    """Wrap a denoiser as eps(x, sigma): the time fed to it is t = sigma^-1(sigma)."""

    def fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        t = schedule.t_of_sigma(torch.as_tensor(sigma, dtype=torch.float64))
        return model(x, t.to(x.dtype), schedule, labels)

    return fn


def ideal_gaussian_eps(s: float) -> EpsFn:
    """The exact eps-prediction for data N(0, s^2 I): E[eps | x_t] = sigma x_t / (s^2 + sigma^2)."""

    def fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype)
        return sigma * x / (s**2 + sigma**2)

    return fn
