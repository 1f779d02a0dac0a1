"""FastRandomIntensity: RandomIntensity's augmentation with OpenCV kernels."""
from __future__ import annotations

import numpy as np
import pytest

import ideal_mm  # noqa: F401
from ideal_mm.datasets.transforms.fast_intensity import FastRandomIntensity
from ideal_mm.datasets.transforms.intensity import RandomIntensity
from mmseg.registry import TRANSFORMS


@pytest.mark.parametrize('probs', [
    dict(noise_prob=0.0),
    dict(gamma_prob=1.0, contrast_prob=1.0, brightness_prob=1.0,
         noise_prob=0.0, blur_prob=1.0),
])
@pytest.mark.parametrize('shape', [(24, 20), (24, 20, 3)])
def test_equals_random_intensity_without_noise(probs, shape):
    img = np.random.default_rng(0).random(shape, dtype=np.float32)
    slow, fast = RandomIntensity(**probs), FastRandomIntensity(**probs)
    for seed in range(20):
        np.random.seed(seed)
        ref = slow(dict(img=img.copy()))['img']
        np.random.seed(seed)
        out = fast(dict(img=img.copy()))['img']
        assert out.dtype == np.float32 and out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=2e-6)


def test_noise_has_the_drawn_std_and_is_seeded():
    t = FastRandomIntensity(gamma_prob=0, contrast_prob=0, brightness_prob=0,
                            blur_prob=0, noise_prob=1.0,
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
    assert TRANSFORMS.get('FastRandomIntensity') is FastRandomIntensity
