"""The image pipeline's params schema: every section of images/params.yaml as one typed,
validated `ImagesConfig`, checked the same way as params.yaml (`genlab.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.common.errors import GenlabError
from genlab.config import parse_sections, read_params
from genlab.images.config import (
    ClassifierConfig,
    ImgDataConfig,
    ImgDiffusionConfig,
    ImgFiguresConfig,
    ImgSamplerConfig,
    ImgTrainConfig,
    UNetConfig,
)

IMAGES_PARAMS_FILE = Path("images/params.yaml")


@dataclass(frozen=True)
class ImagesConfig:
    """All of images/params.yaml, one field per section."""

    img_data: ImgDataConfig = field(default_factory=ImgDataConfig)
    img_diffusion: ImgDiffusionConfig = field(default_factory=ImgDiffusionConfig)
    img_unet: UNetConfig = field(default_factory=UNetConfig)
    img_train: ImgTrainConfig = field(default_factory=ImgTrainConfig)
    img_classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    img_sampler: ImgSamplerConfig = field(default_factory=ImgSamplerConfig)
    img_figures: ImgFiguresConfig = field(default_factory=ImgFiguresConfig)

    def check(self) -> None:
        """Checks across sections."""
        vp = self.img_diffusion.process == "vp"
        if self.img_sampler.kind == "ddpm" and not vp:
            raise GenlabError(
                "params: img_sampler.kind = 'ddpm' is invalid: the DDPM sampler needs "
                "img_diffusion.process = vp; use euler, stochastic or heun"
            )
        if "ddpm" in self.img_figures.samplers and not vp:
            raise GenlabError(
                f"params: img_figures.samplers = {list(self.img_figures.samplers)} is invalid: "
                "ddpm needs img_diffusion.process = vp"
            )


def parse_images_config(raw: Any) -> ImagesConfig:
    """Validate a params mapping (as read from images/params.yaml) into an ImagesConfig."""
    return parse_sections(ImagesConfig, raw, "images/params.yaml")


def load_images_config(path: Path | str = IMAGES_PARAMS_FILE) -> ImagesConfig:
    """Read and validate images/params.yaml; a one-line GenlabError if anything is wrong."""
    return parse_images_config(read_params(path))
