"""Denoiser training and checkpoints: round trips, one-line errors for bad checkpoints, a
diverging run that names its epoch, the class-conditional model."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from genlab.common.errors import GenlabError
from genlab.diffusion.config import DenoiserConfig
from genlab.diffusion.model import SIGMA_DATA, Denoiser, ideal_gaussian_eps
from genlab.diffusion.schedules import Schedule
from genlab.diffusion.training import (
    denoising_loss,
    draw_sigmas,
    load_denoiser,
    noised_examples,
    save_denoiser,
    train_denoiser,
)
from genlab.diffusion.truth import region_of

SCHED = Schedule("exp", 0.006737947)

# The schedule of SCHED (sigma_max 1), a constant learning rate and unscaled inputs.
BASE = replace(DenoiserConfig(), sigma_max=1.0, lr_schedule="constant", scale_input=False)


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    model = Denoiser(replace(BASE, width=8, depth=1))
    path = tmp_path / "model.pt"
    save_denoiser(path, model)
    return path


def test_checkpoint_round_trip(checkpoint):
    model, schedule = load_denoiser(checkpoint)
    assert schedule == SCHED and model.cfg.width == 8


def test_truncated_checkpoint(checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    with pytest.raises(GenlabError, match="not a readable denoiser checkpoint"):
        load_denoiser(checkpoint)


def test_not_a_checkpoint(checkpoint):
    checkpoint.write_text("hello, I am a text file\n")
    with pytest.raises(GenlabError, match="not a readable denoiser checkpoint"):
        load_denoiser(checkpoint)


def test_checkpoint_of_another_kind(checkpoint):
    torch.save({"weights": torch.zeros(3)}, checkpoint)
    with pytest.raises(GenlabError, match="expected a denoiser checkpoint"):
        load_denoiser(checkpoint)


def test_checkpoint_whose_weights_do_not_fit(checkpoint):
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["config"]["width"] = 16
    torch.save(ckpt, checkpoint)
    with pytest.raises(GenlabError, match="does not fit the configured model"):
        load_denoiser(checkpoint)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(GenlabError, match="checkpoint not found"):
        load_denoiser(tmp_path / "nope.pt")


def test_diverging_training_names_the_epoch():
    x0 = torch.rand(64, 2) * 2 - 1
    cfg = replace(BASE, width=8, depth=2, epochs=50, lr=1e12, seed=0)
    with pytest.raises(GenlabError, match=r"at epoch \d+"):
        train_denoiser(x0, cfg, torch.device("cpu"))


def test_conditional_training_and_checkpoint_classes(tmp_path):
    x0 = torch.rand(64, 2) * 2 - 1
    labels = region_of(x0, "grid")
    cfg = replace(BASE, width=8, depth=1, epochs=5, lr=1e-3, seed=0)
    model, losses = train_denoiser(
        x0, cfg, torch.device("cpu"), labels=labels, num_classes=9, class_dim=3
    )
    assert len(losses) == 5
    save_denoiser(tmp_path / "c.pt", model)
    loaded, _ = load_denoiser(tmp_path / "c.pt", num_classes=9)
    assert loaded.class_dim == 3 and loaded.num_classes == 9
    with pytest.raises(GenlabError, match="trained for 9 classes, expected 5"):
        load_denoiser(tmp_path / "c.pt", num_classes=5)


def test_edm_denoiser_is_the_gaussian_ideal_plus_a_scaled_correction():
    torch.manual_seed(0)
    cfg = replace(BASE, parameterization="edm", scale_input=True, width=16, depth=2)
    edm = Denoiser(cfg).double()
    raw = Denoiser(replace(cfg, parameterization="eps")).double()
    raw.load_state_dict(edm.state_dict())
    x = torch.randn(64, 2, dtype=torch.float64)
    t = torch.rand(64, dtype=torch.float64) * 0.9 + 0.1
    sigma = SCHED.sigma(t)[:, None]
    # EDM: D = c_skip x + c_out F, and the model's noise is (x - D) / sigma.
    s2 = sigma**2 + SIGMA_DATA**2
    clean = SIGMA_DATA**2 / s2 * x + sigma * SIGMA_DATA / s2.sqrt() * raw(x, t, SCHED)
    torch.testing.assert_close(edm(x, t, SCHED), (x - clean) / sigma)
    # With F = 0 it is the exact denoiser of N(0, SIGMA_DATA^2 I) data.
    torch.nn.init.zeros_(edm.weights[-1])
    torch.nn.init.zeros_(edm.biases[-1])
    torch.testing.assert_close(edm(x, t, SCHED), ideal_gaussian_eps(SIGMA_DATA)(x, sigma))


def test_edm_loss_is_the_weighted_clean_point_error():
    torch.manual_seed(0)
    cfg = replace(BASE, parameterization="edm", sigma_sampling="lognormal", width=16, depth=2)
    model = Denoiser(cfg)
    x0 = torch.rand(256, 2) * 2 - 1
    loss = denoising_loss(model, x0, SCHED, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    sigma = draw_sigmas(cfg, SCHED, 256, g, x0)[:, None]
    eps = torch.randn(x0.shape, generator=g)
    x = x0 + sigma * eps
    clean = x - sigma * model(x, SCHED.t_of_sigma(sigma[:, 0]), SCHED)
    weight = (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2
    expected = (weight * (clean - x0) ** 2).sum(dim=1).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=0)
    assert bool((sigma >= SCHED.sigma_min).all() and (sigma <= SCHED.sigma_max).all())


@pytest.mark.parametrize("parameterization", ["edm", "eps"])
def test_head_regression_is_the_denoising_loss(parameterization):
    # Training fits the MLP head to a precomputed target; with the same draws that loss
    # must equal the weighted noise-prediction loss of the whole model.
    torch.manual_seed(0)
    cfg = replace(BASE, parameterization=parameterization, scale_input=True, width=16, depth=2)
    model = Denoiser(cfg, num_classes=3, class_dim=4).double()
    x0 = torch.rand(256, 2, dtype=torch.float64) * 2 - 1
    labels = torch.randint(0, 3, (256,))
    expected = denoising_loss(model, x0, SCHED, torch.Generator().manual_seed(5), labels)
    features, target = noised_examples(model, x0, SCHED, torch.Generator().manual_seed(5), cfg)
    loss = ((model.head(features, labels).mean(dim=0) - target) ** 2).sum(dim=1).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-9, atol=0)


def _member(model: Denoiser, k: int) -> Denoiser:
    """Member k of a model as a one-member model with the same weights."""
    one = Denoiser(replace(model.cfg, members=1), model.num_classes, model.class_dim).double()
    with torch.no_grad():
        for mine, theirs in zip(one.parameters(), model.parameters(), strict=True):
            mine.copy_(theirs[k : k + 1])
    return one


def test_a_model_of_several_members_predicts_their_mean():
    torch.manual_seed(0)
    cfg = replace(BASE, members=3, width=8, depth=2, x_fourier=1)
    model = Denoiser(cfg, num_classes=4, class_dim=3).double()
    x = torch.randn(32, 2, dtype=torch.float64)
    t, labels = torch.rand(32, dtype=torch.float64), torch.randint(0, 4, (32,))
    members = [_member(model, k)(x, t, SCHED, labels) for k in range(3)]
    torch.testing.assert_close(model(x, t, SCHED, labels), sum(members) / 3)
    assert (members[0] - members[1]).abs().max() > 1e-3  # independently initialised


def test_the_class_embedding_is_joined_to_the_input_of_each_member():
    # The head adds the embedding's share of the first layer as a per-class row; it must be
    # the MLP written out on [features, embedding of the label], member by member.
    torch.manual_seed(0)
    cfg = replace(BASE, members=2, width=8, depth=3, x_fourier=1)
    model = Denoiser(cfg, num_classes=5, class_dim=3).double()
    features = torch.randn(2, 40, model.weights[0].shape[1] - 3, dtype=torch.float64)
    labels = torch.randint(0, 5, (2, 40))
    for k in range(2):
        h = torch.cat([features[k], model.embed[k, labels[k]]], dim=1)
        for i, (weight, bias) in enumerate(zip(model.weights, model.biases, strict=True)):
            h = h @ weight[k] + bias[k]
            h = torch.nn.functional.leaky_relu(h, 0.2) if i < cfg.depth else h
        torch.testing.assert_close(model.head(features, labels)[k], h)
    assert labels[0].unique().numel() > 1


@pytest.mark.parametrize(("scale_input", "blur"), [(False, 1.0), (True, 1.0), (True, 2.0)])
def test_blurred_fourier_features_are_the_plain_ones_averaged_over_the_noise(scale_input, blur):
    # With x_fourier_blur c each wave is its mean over noise of c times the level sigma: at
    # input x it is E sin(w (x + c sigma e)) (in the units the network sees), closed form
    # exp(-(w tau)^2 / 2) sin(w x); the other features are the plain model's.
    cfg = replace(BASE, x_fourier=3, scale_input=scale_input, x_fourier_blur=0.0)
    plain, blurred = Denoiser(cfg), Denoiser(replace(cfg, x_fourier_blur=blur))
    x = torch.tensor([[0.3, -0.7], [1.1, 0.05]], dtype=torch.float64)
    sigma = torch.tensor([0.02, 0.15], dtype=torch.float64)
    t = SCHED.t_of_sigma(sigma)
    e = torch.randn(400_000, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # the plain features of x + c sigma e, with xs scaled as the network scales x at sigma
    noisy = (x + blur * sigma[:, None] * e).reshape(-1, 2)
    mean = plain.features(noisy, t.repeat(400_000), SCHED).reshape(400_000, 2, -1).mean(0)
    got, unblurred = blurred.features(x, t, SCHED), plain.features(x, t, SCHED)
    waves = slice(-2 * 2 * cfg.x_fourier, None)  # sin and cos per coordinate and octave, last
    torch.testing.assert_close(got[:, : waves.start], unblurred[:, : waves.start])
    torch.testing.assert_close(got[:, waves], mean[:, waves], atol=5e-3, rtol=0)
    assert (mean[:, waves] - unblurred[:, waves]).abs().max() > 0.1  # the noise does blur them


@pytest.mark.parametrize(("members", "depth", "classes"), [(1, 2, 0), (2, 3, 4)])
def test_fit_gradients_are_autograds_to_the_bit(members, depth, classes):
    # The written-out backward pass must give the loss and every parameter's gradient that
    # autograd gives through `head`, bit for bit (float32, as training runs).
    torch.manual_seed(0)
    cfg = replace(BASE, members=members, width=16, depth=depth, x_fourier=1)
    model = Denoiser(cfg, num_classes=classes, class_dim=3 if classes else 0)
    n = model.weights[0].shape[1] - (3 if classes else 0)
    features, target = torch.randn(members, 50, n), torch.randn(members, 50, 2)
    labels = torch.randint(0, classes, (members, 50)) if classes else None
    losses = ((model.head(features, labels) - target) ** 2).sum(dim=2).mean(dim=1)
    losses.sum().backward()
    expected = {name: p.grad for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    fitted = model.fit_gradients(features, target, model.one_hot(labels))
    assert torch.equal(fitted, losses.detach())
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, expected[name]), name


def test_a_conditional_denoiser_without_labels_says_so():
    model = Denoiser(replace(BASE, width=8, depth=1), num_classes=3, class_dim=2)
    n = model.weights[0].shape[1] - 2
    with pytest.raises(ValueError, match="class-conditional"):
        model.head(torch.randn(10, n))
    with pytest.raises(ValueError, match="class-conditional"):
        model.fit_gradients(torch.randn(1, 10, n), torch.randn(1, 10, 2))


def test_each_member_trains_on_its_own_rows_as_a_model_of_its_own():
    # One epoch of a 2-member conditional model: every member must take the Adam step that
    # a one-member model takes on that member's rows, labels and noise (the hook sees them),
    # with the configured epsilon (large enough here to change the first step).
    x0 = torch.rand(48, 2) * 2 - 1
    labels = torch.arange(48) % 3
    cfg = replace(
        BASE, members=2, width=8, depth=2, epochs=1, batch_size=16, lr=0.01, adam_eps=0.05
    )
    seen = {}

    def keep(rows, labs, x, eps, sigma):
        seen.update(labels=labs, x=x.double(), eps=eps.double(), sigma=sigma.double())
        return eps

    torch.manual_seed(cfg.seed)
    start = Denoiser(cfg, 3, 2).double()
    trained, _ = train_denoiser(
        x0, cfg, torch.device("cpu"), labels=labels, num_classes=3, class_dim=2, target=keep
    )
    for k in range(2):
        one = _member(start, k)
        rows = slice(16 * k, 16 * (k + 1))
        x, eps, sigma = seen["x"][rows], seen["eps"][rows], seen["sigma"][rows]
        features = one.features(x, SCHED.t_of_sigma(sigma[:, 0]), SCHED)
        out = one.head(features, seen["labels"][rows])[0]
        ((out - one.head_target(x, eps, sigma)) ** 2).sum(dim=1).mean().backward()
        torch.optim.Adam(one.parameters(), lr=cfg.lr, eps=cfg.adam_eps).step()
        for mine, theirs in zip(one.parameters(), _member(trained, k).parameters(), strict=True):
            torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-6)


def test_a_target_hook_replaces_the_drawn_noise_with_its_rows_and_labels():
    torch.manual_seed(0)
    cfg = replace(BASE, parameterization="edm", width=8, depth=1)
    model = Denoiser(cfg, num_classes=3, class_dim=2).double()
    x0 = torch.rand(64, 2, dtype=torch.float64) * 2 - 1
    labels = torch.randint(0, 3, (64,))
    seen = {}

    def zero(rows, labs, x, eps, sigma):
        seen.update(rows=rows, labels=labs, x=x, eps=eps, sigma=sigma)
        return torch.zeros_like(eps)

    gen = torch.Generator().manual_seed(5)
    _, target = noised_examples(model, x0, SCHED, gen, cfg, labels, zero)
    assert torch.equal(seen["rows"], x0) and torch.equal(seen["labels"], labels)
    x, sigma = seen["x"], seen["sigma"]
    torch.testing.assert_close(x, x0 + sigma * seen["eps"])  # the hook sees the drawn noise
    torch.testing.assert_close(target, model.head_target(x, torch.zeros_like(x), sigma))
    assert (target - model.head_target(x, seen["eps"], sigma)).abs().max() > 0.1


def test_ema_returns_the_moving_average_of_the_weights():
    x0 = torch.rand(64, 2) * 2 - 1
    cfg = replace(BASE, width=8, depth=1, epochs=1)
    torch.manual_seed(cfg.seed)
    start = Denoiser(cfg).state_dict()
    plain, _ = train_denoiser(x0, cfg, torch.device("cpu"))
    averaged, _ = train_denoiser(x0, replace(cfg, ema=0.25), torch.device("cpu"))
    for name, value in averaged.state_dict().items():
        torch.testing.assert_close(value, 0.25 * start[name] + 0.75 * plain.state_dict()[name])


def test_random_batches_train_and_a_batch_as_large_as_the_data_is_full_batch():
    x0 = torch.rand(64, 2) * 2 - 1
    cfg = replace(BASE, width=8, depth=1, epochs=20)
    full, full_losses = train_denoiser(x0, cfg, torch.device("cpu"))
    same, same_losses = train_denoiser(x0, replace(cfg, batch_size=64), torch.device("cpu"))
    assert full_losses == same_losses
    _, losses = train_denoiser(x0, replace(cfg, batch_size=16), torch.device("cpu"))
    assert len(losses) == 20 and all(map(math.isfinite, losses)) and losses != full_losses
