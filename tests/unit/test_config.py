"""params.yaml validation: a bad value stops with one line naming key, value and what is allowed."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
import yaml
from conftest import assert_one_line

from genlab.common.errors import GenlabError, bad_param
from genlab.config import load_config, parse_config
from genlab.diffusion.config import ConditionalConfig, DenoiserConfig


def test_repository_params_are_valid(root):
    cfg = load_config(root / "params.yaml")
    assert cfg.sampler.steps >= 1
    assert cfg.denoiser.schedule == "exp"


@pytest.mark.parametrize(
    ("raw", "must_mention"),
    [
        ({"sampler": {"steps": 0}}, ["sampler.steps", "0", ">= 1"]),
        ({"sampler": {"steps": -3}}, ["sampler.steps", "-3", ">= 1"]),
        ({"sampler": {"steps": "abc"}}, ["sampler.steps", "'abc'", "integer"]),
        ({"sampler": {"steps": 2.5}}, ["sampler.steps", "2.5", "integer"]),
        ({"sampler": {"stepz": 5}}, ["sampler.stepz", "allowed keys", "steps"]),
        ({"sampler": {"kind": "rk4"}}, ["sampler.kind", "rk4", "euler", "heun", "stochastic"]),
        ({"sampler": {"grid": "log"}}, ["sampler.grid", "karras", "uniform", "quadratic"]),
        ({"sampler": {"eta": 1.5}}, ["sampler.eta", "1.5", "<= 1"]),
        ({"sampler": {"eta": -0.1}}, ["sampler.eta", "-0.1", ">= 0"]),
        ({"denoiser": {"schedule": "cosine"}}, ["denoiser.schedule", "cosine", "exp", "linear"]),
        ({"denoiser": {"width": 0}}, ["denoiser.width", "0"]),
        ({"denoiser": {"epochs": True}}, ["denoiser.epochs", "True", "integer"]),
        ({"denoiser": {"lr": 0}}, ["denoiser.lr", "> 0"]),
        ({"denoiser": {"lr": "nan"}}, ["denoiser.lr", "finite"]),
        ({"data": {"n": 0}}, ["data.n", "0"]),
        ({"denoiser": {"epochs": -5}}, ["denoiser.epochs", "-5", ">= 1"]),
        ({"denoiser": {"width": 8.0}}, ["denoiser.width", "8.0", "integer"]),
        ({"denoiser": {"sigma_max": 0.001}}, ["denoiser.sigma_min", "< sigma_max = 0.001"]),
        ({"denoiser": {"sigma_max": "big"}}, ["denoiser.sigma_max", "'big'", "number"]),
        ({"conditional": {"epochs": 0}}, ["conditional.epochs", "0", ">= 1"]),
        ({"likelihood": {"ode_steps": 0}}, ["likelihood.ode_steps", "0", ">= 1"]),
        ({"classes": {"layout": "hex"}}, ["classes.layout", "hex", "grid", "rings"]),
        ({"gpt": {"n_layer": 0}}, ["gpt.n_layer", "0", ">= 1"]),
        ({"figures": {"step_counts": [1, 0]}}, ["figures.step_counts[1]", "0", ">= 1"]),
        ({"figures": {"forward_start": [1.0]}}, ["figures.forward_start", "2 values"]),
        ({"samplr": {"steps": 5}}, ["samplr", "allowed sections"]),
        ({"sampler": 5}, ["sampler", "mapping"]),
    ],
)
def test_bad_params_give_one_line_error(raw, must_mention):
    with pytest.raises(GenlabError) as info:
        parse_config(raw)
    assert_one_line(str(info.value), *must_mention)


def test_numbers_in_the_forms_dvc_writes_are_accepted():
    # `dvc exp run -S denoiser.lr=0.000001` writes 1e-06, a string to YAML 1.1 loaders.
    raw = yaml.safe_load("denoiser: {lr: 1e-06, epochs: '200'}\nsampler: {steps: '5', eta: '0.5'}")
    assert isinstance(raw["denoiser"]["lr"], str)
    cfg = parse_config(raw)
    assert cfg.denoiser.lr == pytest.approx(1e-6)
    assert cfg.denoiser.epochs == 200
    assert cfg.sampler.steps == 5
    assert cfg.sampler.eta == 0.5


@pytest.mark.parametrize(
    ("raw", "must_mention"),
    [
        ({"tokenizer": {"kind": "word"}}, ["tokenizer.kind", "'word'", "char, bpe"]),
        ({"tokenizer": {"vocab_size": 100}}, ["tokenizer.vocab_size", "100", ">= 257"]),
        ({"gpt": {"n_embd": 100, "n_head": 3}}, ["gpt.n_embd", "100", "multiple of n_head = 3"]),
        ({"gpt": {"min_lr": 0.1, "lr": 0.01}}, ["gpt.min_lr", "<= lr = 0.01"]),
        ({"gpt": {"precision": "fp8"}}, ["gpt.precision", "float32, bfloat16"]),
        ({"corpus": {"val_fraction": 1.0}}, ["corpus.val_fraction", "< 1.0"]),
        ({"corpus": {"sources": []}}, ["corpus.sources", "non-empty list"]),
        ({"gpt_analysis": {"attention_prompt": "too short"}}, ["attention_prompt", ">= 12 words"]),
    ],
)
def test_bad_gpt_params_give_one_line_errors(raw, must_mention):
    with pytest.raises(GenlabError) as info:
        parse_config(raw)
    assert_one_line(str(info.value), *must_mention)


def test_bad_param_names_key_value_and_what_is_allowed():
    error = bad_param("sampler.steps", 0, "expected an integer >= 1")
    assert isinstance(error, GenlabError)
    assert str(error) == "params: sampler.steps = 0 is invalid: expected an integer >= 1"


def test_conditional_section_overrides_the_denoiser_fields_it_shares():
    cfg = parse_config(
        {
            "denoiser": {"x_fourier": 1, "members": 3, "epochs": 10, "lr": 0.5, "width": 16},
            "conditional": {"x_fourier": 4, "x_fourier_blur": 1.5, "members": 5, "epochs": 7,
                            "batch_size": 30, "adam_eps": 0.25, "class_dim": 3, "n": 11},
        }
    )  # fmt: skip
    d = cfg.conditional.denoiser(cfg.denoiser)
    taken = {"x_fourier": 4, "x_fourier_blur": 1.5, "members": 5, "epochs": 7,
             "batch_size": 30, "adam_eps": 0.25}  # fmt: skip
    assert {name: getattr(d, name) for name in taken} == taken
    # no other field of `conditional` (n, class_dim) is taken for a denoiser field
    shared = {f.name for f in fields(DenoiserConfig)} & {f.name for f in fields(ConditionalConfig)}
    assert shared == set(taken)
    # the rest stays the unconditional model's
    assert (d.lr, d.width, d.seed) == (0.5, 16, cfg.denoiser.seed)
    assert replace(d, **{name: getattr(cfg.denoiser, name) for name in taken}) == cfg.denoiser
