"""``RandomIntensity``: cheap photometric augmentation of float MR slices.

mmseg's photometric transforms are written for uint8 RGB images
(``PhotoMetricDistortion`` converts to HSV) or for 4D (N, Z, Y, X) volumes
(``BioMedicalGaussianNoise`` / ``BioMedicalGaussianBlur`` /
``BioMedicalRandomGamma``, float64 noise and scipy filters). ACDC slices are
single-channel float32 (H, W) images in about [0, 1]; this transform applies
gamma, contrast, brightness, Gaussian noise and Gaussian blur to them in
float32 with NumPy and OpenCV.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ideal_mm.errors import ConfigError


def _range(name: str,
           value: Sequence[float],
           low: float = -np.inf,
           high: float = np.inf) -> Tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f'RandomIntensity.{name}={value!r} must be a pair '
                          '(min, max)') from None
    if not (low <= a <= b <= high):
        raise ConfigError(f'RandomIntensity.{name}=({a}, {b}) must satisfy '
                          f'{low} <= min <= max <= {high}')
    return a, b


def _prob(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(
            f'RandomIntensity.{name}={value!r} must be in [0, 1]')
    return float(value)


def _affine(img: np.ndarray, scale: float, offset: float) -> np.ndarray:
    """``scale * img + offset`` in float32 (one OpenCV pass)."""
    return cv2.addWeighted(
        img, float(scale), img, 0.0, float(offset), dtype=cv2.CV_32F)


@TRANSFORMS.register_module()
class RandomIntensity(BaseTransform):
    """Random gamma, contrast, brightness, noise and blur on a float image.

    Each step runs with its own probability, in this order:

    * gamma: ``lo + (hi - lo) * ((x - lo) / (hi - lo)) ** g`` with the
      image's own min ``lo`` / max ``hi``, ``g ~ U(gamma_range)``;
    * contrast: ``mean + c * (x - mean)``, ``c ~ U(contrast_range)``;
    * brightness: ``x + b``, ``b ~ U(brightness_range)``;
    * noise: ``x + N(0, s^2)`` per pixel, ``s ~ U(noise_std_range)``;
    * blur: OpenCV Gaussian blur with ``sigma ~ U(blur_sigma_range)``.

    Random numbers come from ``np.random`` like mmseg's transforms (mmengine
    seeds it per worker); the noise field is drawn by OpenCV's generator,
    seeded from ``np.random``. Every step runs as one OpenCV pass in float32
    (NumPy's float64 Gaussian noise alone cost about 2 ms per 256x256 slice).
    Required/modified key: ``img`` (float32 result, any number of channels).
    """

    def __init__(
        self,
        gamma_prob: float = 0.5,
        gamma_range: Sequence[float] = (0.7, 1.5),
        contrast_prob: float = 0.5,
        contrast_range: Sequence[float] = (0.75, 1.25),
        brightness_prob: float = 0.5,
        brightness_range: Sequence[float] = (-0.1, 0.1),
        noise_prob: float = 0.3,
        noise_std_range: Sequence[float] = (0.0, 0.05),
        blur_prob: float = 0.2,
        blur_sigma_range: Sequence[float] = (0.5, 1.0)
    ) -> None:
        self.gamma_prob = _prob('gamma_prob', gamma_prob)
        self.gamma_range = _range('gamma_range', gamma_range, 1e-3)
        self.contrast_prob = _prob('contrast_prob', contrast_prob)
        self.contrast_range = _range('contrast_range', contrast_range, 0.0)
        self.brightness_prob = _prob('brightness_prob', brightness_prob)
        self.brightness_range = _range('brightness_range', brightness_range)
        self.noise_prob = _prob('noise_prob', noise_prob)
        self.noise_std_range = _range('noise_std_range', noise_std_range, 0.0)
        self.blur_prob = _prob('blur_prob', blur_prob)
        self.blur_sigma_range = _range('blur_sigma_range', blur_sigma_range,
                                       1e-3)

    def transform(self, results: dict) -> dict:
        """Augment ``results['img']``."""
        img = np.ascontiguousarray(results['img'], dtype=np.float32)
        shape = img.shape
        # Element-wise steps on a 2D view: OpenCV's kernels then treat every
        # channel alike and min / max / mean are taken over all channels.
        flat = img.reshape(shape[0], -1)
        if np.random.rand() < self.gamma_prob:
            lo, hi, _, _ = cv2.minMaxLoc(flat)
            if hi > lo:
                g = np.random.uniform(*self.gamma_range)
                unit = _affine(flat, 1.0 / (hi - lo), -lo / (hi - lo))
                np.maximum(unit, 0.0, out=unit)  # rounding: pow(<0) is NaN
                flat = _affine(
                    cv2.pow(unit, float(np.float32(g))), hi - lo, lo)
        if np.random.rand() < self.contrast_prob:
            c = float(np.float32(np.random.uniform(*self.contrast_range)))
            mean = float(np.float32(cv2.mean(flat)[0]))
            flat = _affine(flat, c, mean * (1.0 - c))
        if np.random.rand() < self.brightness_prob:
            b = float(np.float32(np.random.uniform(*self.brightness_range)))
            flat = _affine(flat, 1.0, b)
        if np.random.rand() < self.noise_prob:
            std = np.random.uniform(*self.noise_std_range)
            if std > 0:
                # OpenCV's generator, seeded from np.random (which mmengine
                # seeds per worker), so runs stay reproducible.
                cv2.setRNGSeed(int(np.random.randint(0, 2**31 - 1)))
                noise = np.empty_like(flat)
                cv2.randn(noise, 0.0, float(std))
                flat = cv2.add(flat, noise)
        img = flat.reshape(shape)
        if np.random.rand() < self.blur_prob:
            sigma = np.random.uniform(*self.blur_sigma_range)
            img = cv2.GaussianBlur(
                img, (0, 0),
                sigmaX=sigma,
                sigmaY=sigma,
                borderType=cv2.BORDER_REFLECT_101).reshape(shape)
        results['img'] = np.ascontiguousarray(img, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(gamma={self.gamma_prob}@'
                f'{self.gamma_range}, contrast={self.contrast_prob}@'
                f'{self.contrast_range}, brightness={self.brightness_prob}@'
                f'{self.brightness_range}, noise={self.noise_prob}@'
                f'{self.noise_std_range}, blur={self.blur_prob}@'
                f'{self.blur_sigma_range})')
