"""RandomIntensity (OpenCV kernels) against the formulas written in NumPy."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

import ideal_mm  # noqa: F401
from ideal_mm.datasets.transforms.intensity import RandomIntensity


def numpy_reference(t: RandomIntensity, img: np.ndarray) -> np.ndarray:
    """The documented steps in plain NumPy, same draws from np.random."""
    img = img.astype(np.float32)
    if np.random.rand() < t.gamma_prob:
        lo, hi = float(img.min()), float(img.max())
        if hi > lo:
            g = np.random.uniform(*t.gamma_range)
            img = lo + (hi - lo) * np.power(
                (img - lo) / (hi - lo), np.float32(g))
    if np.random.rand() < t.contrast_prob:
        c = np.float32(np.random.uniform(*t.contrast_range))
        mean = np.float32(img.mean())
        img = mean + c * (img - mean)
    if np.random.rand() < t.brightness_prob:
        img = img + np.float32(np.random.uniform(*t.brightness_range))
    assert not np.random.rand() < t.noise_prob  # noise is tested separately
    if np.random.rand() < t.blur_prob:
        sigma = np.random.uniform(*t.blur_sigma_range)
        img = cv2.GaussianBlur(
            np.ascontiguousarray(img, np.float32), (0, 0),
            sigmaX=sigma,
            sigmaY=sigma,
            borderType=cv2.BORDER_REFLECT_101)
    return img


@pytest.mark.parametrize('probs', [
    dict(noise_prob=0.0),
    dict(
        gamma_prob=1.0,
        contrast_prob=1.0,
        brightness_prob=1.0,
        noise_prob=0.0,
        blur_prob=1.0),
])
@pytest.mark.parametrize('shape', [(24, 20), (24, 20, 3)])
def test_equals_numpy_formulas_without_noise(probs, shape):
    img = np.random.default_rng(0).random(shape, dtype=np.float32)
    t = RandomIntensity(**probs)
    for seed in range(20):
        np.random.seed(seed)
        ref = numpy_reference(t, img.copy())
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        assert out.dtype == np.float32 and out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=2e-6)


def test_noise_has_the_drawn_std_and_is_seeded():
    t = RandomIntensity(
        gamma_prob=0,
        contrast_prob=0,
        brightness_prob=0,
        blur_prob=0,
        noise_prob=1.0,
        noise_std_range=(0.05, 0.05))
    zeros = np.zeros((128, 128, 2), np.float32)
    np.random.seed(0)
    a = t(dict(img=zeros.copy()))['img']
    assert a.shape == zeros.shape
    assert abs(a.mean()) < 2e-3
    np.testing.assert_allclose(a.std(axis=(0, 1)), [0.05, 0.05], rtol=0.03)
    np.random.seed(0)
    b = t(dict(img=zeros.copy()))['img']
    np.testing.assert_array_equal(a, b)
    c = t(dict(img=zeros.copy()))['img']
    assert not np.array_equal(a, c)


def test_registered():
    assert TRANSFORMS.get('RandomIntensity') is RandomIntensity
