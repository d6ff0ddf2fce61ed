"""Diffusion on images: MNIST digits, a small U-Net trained on the library's VE schedules or
DDPM's VP ones, the library's samplers and DDPM's, and a classifier that scores samples
(maths in docs/images.md)."""
