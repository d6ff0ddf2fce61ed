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
LEAKY_SLOPE = 0.2  # of the hidden layers' LeakyReLU
NARROW = 4  # a layer with at most this many outputs gets its weight gradient as (grad^T act)^T

# With scale_input the network sees x_t / sqrt(sigma^2 + SIGMA_DATA^2), of about unit scale
# at every noise level (Karras et al. 2022's c_in); SIGMA_DATA is about the square's std.
SIGMA_DATA = 0.5


class Denoiser(nn.Module):
    """`members` MLPs with LeakyReLU that predict eps from (x_t, time features [, class
    embedding]); the model's prediction is their mean (a deep ensemble, docs/denoiser.md).

    The members are independently initialised and run as one batched network: layer i of
    every member is a slice of `weights[i]` (members, fan_in, fan_out), so K members cost one
    call per layer, not K.
    """

    sigma_data = SIGMA_DATA

    def __init__(
        self, cfg: DenoiserConfig, num_classes: int = 0, class_dim: int = 0, dim: int = 2
    ) -> None:
        super().__init__()
        self.cfg, self.num_classes, self.class_dim, self.dim = cfg, num_classes, class_dim, dim
        k = cfg.members
        n_time = {"t": 1, "log_sigma": 1, "fourier": 1 + 2 * len(FOURIER_FREQS)}[cfg.time_input]
        # one class table per member, drawn as nn.Embedding draws its table
        self.embed = nn.Parameter(torch.randn(k, num_classes, class_dim)) if num_classes else None
        fan_in = dim * (1 + 2 * cfg.x_fourier) + n_time + (class_dim if num_classes else 0)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for fan_out in [cfg.width] * cfg.depth + [dim]:
            # nn.Linear's default initialisation, for each member
            bound = 1.0 / math.sqrt(fan_in)
            for shapes, size in ((self.weights, fan_in), (self.biases, 1)):
                shapes.append(nn.Parameter(torch.empty(k, size, fan_out).uniform_(-bound, bound)))
            fan_in = fan_out
        self.register_buffer("freqs", torch.tensor(FOURIER_FREQS) * math.pi, persistent=False)
        self.register_buffer("class_rows", torch.eye(num_classes), persistent=False)
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
        features, and sin/cos of the scaled x_t at octave frequencies (damped by the noise
        level with `x_fourier_blur` > 0)."""
        t = _per_row(t, x)
        sigma = schedule.sigma(t.reshape(-1, 1))
        scale = torch.sqrt(sigma**2 + SIGMA_DATA**2) if self.cfg.scale_input else 1.0
        xs = x / scale
        parts = [xs, self.time_features(t, schedule)]
        if self.cfg.x_fourier:
            # sin and cos of the input at octave frequencies: lets the MLP draw sharp edges
            freqs = self.x_freqs.to(x.dtype)
            angles = xs[:, :, None] * freqs
            waves = [torch.sin(angles), torch.cos(angles)]
            if blur := self.cfg.x_fourier_blur:
                # each wave as noise of `blur` times the level blurs it: E sin(w (u + tau e)) =
                # exp(-(w tau)^2 / 2) sin(w u), tau that noise in the units of xs (docs/denoiser.md)
                tau = blur * (sigma / scale)
                damp = torch.exp(-0.5 * (tau * freqs) ** 2)[:, None, :]
                waves = [wave * damp for wave in waves]
            parts += [wave.flatten(1) for wave in waves]
        return torch.cat(parts, dim=1)

    def head(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """F of every member, (members, rows, dim): the learned part, the MLP on the features
        joined to the class embedding. `features` (rows, n) and `labels` (rows,) are shared
        by the members; with a leading members axis each member has its own rows."""
        features = features.expand(self.cfg.members, -1, -1)  # adds a missing members axis
        return self._layers(features, self.one_hot(labels), *self._params())[0]

    def one_hot(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """The labels' one-hot rows (None without a class embedding), what `fit_gradients`
        takes in their place: (members, rows, classes) for labels (rows,) shared by the
        members, else the labels' shape plus classes. Training builds them once for many
        epochs; indexing them out at each step costs about 90 us."""
        if self.embed is None:
            return None
        if labels is None:
            raise ValueError("this denoiser is class-conditional: pass labels")
        # row c is class c's one-hot vector (indexing it skips one_hot's range check)
        rows = self.class_rows[labels]
        return rows.expand(self.cfg.members, -1, -1) if labels.dim() == 1 else rows

    def _params(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """The layers' weights and biases as plain lists: slicing a ParameterList builds a new
        module, 30 us a step."""
        return list(self.weights), list(self.biases)

    def _layers(
        self,
        features: torch.Tensor,
        rows: torch.Tensor | None,
        weights: list[nn.Parameter],
        biases: list[nn.Parameter],
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """`head` on features with their members axis and the labels' one-hot `rows`: its
        output and its hidden activations."""
        n = features.shape[-1]
        h = torch.baddbmm(biases[0], features, weights[0][:, :n])
        if self.embed is not None:
            # The embedding joined to the input adds embed[c] @ W_class to the first layer: a
            # row per class, picked by a one-hot product. Same model as concatenating it to
            # the features, without copying them every step (docs/denoiser.md).
            h = torch.baddbmm(h, rows, torch.bmm(self.embed, weights[0][:, n:]))
        activations = []
        for weight, bias in zip(weights[1:], biases[1:], strict=True):
            # in place: h is this call's own fresh product (saves an allocation per layer)
            activations.append(nn.functional.leaky_relu_(h, LEAKY_SLOPE))
            h = torch.baddbmm(bias, activations[-1], weight)
        return h, activations

    @torch.no_grad()
    def fit_gradients(
        self, features: torch.Tensor, target: torch.Tensor, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Set each parameter's .grad to the gradient of the sum over members of their mean
        ||F - target||^2, and return those losses (members,).

        This is `head`'s backward pass written out, with the products and the rounding of
        autograd's own (a unit test checks the gradients to the bit), but no graph to build
        at each step: an epoch of the conditional training takes about 13 % less
        (docs/denoiser.md). `features` are as in `head`, `rows` are the labels' `one_hot`
        rows and `target` is (members, rows, dim)."""
        if self.embed is not None and rows is None:
            raise ValueError("this denoiser is class-conditional: pass the labels' one_hot rows")
        features = features.expand(self.cfg.members, -1, -1)
        n = features.shape[-1]
        weights, biases = self._params()
        out, activations = self._layers(features, rows, weights, biases)
        diff = out - target
        losses = (diff**2).sum(dim=2).mean(dim=1)
        grad = diff * 2 * (1 / diff.shape[1])  # d(losses.sum()) / dF, as autograd rounds it
        layers = zip(weights[1:], biases[1:], activations, strict=True)
        for weight, bias, act in reversed(list(layers)):
            bias.grad = grad.sum(dim=1, keepdim=True)
            weight.grad = _weight_grad(act, grad)
            # the activation ran in place, so its backward reads the sign from its output
            grad = torch.ops.aten.leaky_relu_backward(
                grad.bmm(weight.transpose(1, 2)), act, LEAKY_SLOPE, True
            )
        biases[0].grad = grad.sum(dim=1, keepdim=True)
        first = features.transpose(1, 2).bmm(grad)
        if self.embed is not None:
            table_grad = rows.transpose(1, 2).bmm(grad)
            self.embed.grad = table_grad.bmm(weights[0][:, n:].transpose(1, 2))
            first = torch.cat([first, self.embed.transpose(1, 2).bmm(table_grad)], dim=1)
        weights[0].grad = first
        return losses

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
        out = self.head(self.features(x, t, schedule), labels).mean(dim=0)
        if self.cfg.parameterization == "edm":
            return edm_eps(x, schedule.sigma(t.reshape(-1, 1)), out, SIGMA_DATA)
        return out


def _weight_grad(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """act^T grad, a layer's weight gradient. With the output layer's narrow grad it is
    computed as (grad^T act)^T: the same sums in the same order, so the same bits (a unit
    test checks them), but MKL's wide-by-narrow product takes about 5x longer on its own."""
    if grad.shape[-1] <= NARROW:
        return grad.transpose(1, 2).bmm(act).transpose(1, 2).contiguous()
    return act.transpose(1, 2).bmm(grad)


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
