"""Variance-exploding diffusion in 2-D: truth, data, schedules, model, training, samplers,
quality, experiments, likelihoods and figures (maths in docs/)."""
