"""The per-patient draws of the ``variability='high'`` phantom ACDC, and the
unlabelled look-alike structures it adds (see
:mod:`ideal_mm.datasets.phantom`)."""
from __future__ import annotations

import numpy as np


class _HighVariability:
    """Per-patient draws of the ``variability='high'`` phantom.

    Drawn from their own stream (``default_rng([seed, number, 7])``) so the
    standard phantom's draws stay as they were. Intensities are relative to
    blood = 1 before bias, noise and the patient's gain. Ranges follow what
    differs between 1.5 T / 3 T bSSFP cine scans of different vendors: the
    myocardium-to-blood ratio (0.15-0.45), fat (0.5-1.1), lung (0.02-0.15),
    other tissue (0.25-0.6); the heart's centre anywhere in the middle 40 % of
    the field of view, its long axis rotated by up to 45 degrees, its size
    from the pixel spacing (1.0-2.2 mm) and a zoom of 0.7-1.25.
    """

    def __init__(self, seed: int, number: int, num_slices: int) -> None:
        rng = np.random.default_rng([seed, number, 7])
        # one draw a line in a fixed order (reordering changes every phantom);
        # the lines look alike because they are draws, not shared logic
        self.myo = float(rng.uniform(0.15, 0.45))
        self.fat = float(rng.uniform(0.5, 1.1))
        self.lung = float(rng.uniform(0.02, 0.15))
        self.tissue = float(rng.uniform(0.25, 0.6))
        self.tissue_texture = float(rng.uniform(0.05, 0.2))
        self.blood_texture = float(rng.uniform(0.02, 0.1))
        self.spacing_xy = float(rng.uniform(1.2, 2.0))
        self.zoom = float(rng.uniform(0.75, 1.15))
        self.center = (float(rng.uniform(0.35, 0.65)),
                       float(rng.uniform(0.35, 0.65)))
        self.rotation = float(rng.uniform(-45.0, 45.0))
        self.blur = float(rng.uniform(0.5, 1.4))
        self.bias_scale = float(rng.uniform(0.5, 2.5))
        self.noise = float(rng.uniform(0.02, 0.12))
        self.ghost = float(rng.uniform(0.0, 0.25))
        self.ghost_axis = int(rng.integers(0, 2))
        self.ghost_shift = float(rng.uniform(0.15, 0.4))
        # breath-hold misregistration of each slice, in pixels
        self.slice_shift = rng.normal(0.0, 2.0, size=(num_slices, 2))
        self.trabeculae = [(float(rng.uniform(-np.pi, np.pi)),
                            float(rng.uniform(0.7, 0.95)),
                            float(rng.uniform(0.06, 0.12)))
                           for _ in range(int(rng.integers(3, 9)))]
        self.aorta_angle = float(rng.uniform(-np.pi, np.pi))
        self.aorta_extent = float(rng.uniform(0.2, 0.45))
        self.desc_aorta = (float(rng.uniform(0.6, 0.75)),
                           float(rng.uniform(-0.15, 0.15)))
        self.liver_angle = float(rng.uniform(0.5, 2.5))
        self.liver_level = float(rng.uniform(0.3, 0.65))


def draw_look_alikes(hv: _HighVariability, img: np.ndarray, yy: np.ndarray,
                     xx: np.ndarray, cy: float, cx: float, r: float, t: float,
                     tissue: np.ndarray, heart: np.ndarray,
                     body: np.ndarray) -> None:
    """Unlabelled structures that look like the labelled ones (in place).

    The ascending aorta (a bright disc next to the LV in basal slices),
    the descending aorta (a small bright disc near the spine in every
    slice) and the liver (a large mid-grey region in apical slices).
    """
    H, W = img.shape
    if t < hv.aorta_extent:
        d = 2.1 * r
        ay = cy + np.sin(hv.aorta_angle) * d
        ax = cx + np.cos(hv.aorta_angle) * d
        aorta = ((yy - ay)**2 + (xx - ax)**2 < (0.7 * r)**2) & ~heart & body
        img[aorta] = 0.95 + 0.03 * tissue[aorta]
    dy, dx = hv.desc_aorta
    desc = ((yy - H * dy)**2 + (xx - W *
                                (0.5 + dx))**2 < (0.35 * r)**2) & ~heart & body
    img[desc] = 0.9 + 0.03 * tissue[desc]
    if t > 0.45:
        ly = cy + np.sin(hv.liver_angle) * 2.6 * r
        lx = cx + np.cos(hv.liver_angle) * 2.6 * r
        liver = (((yy - ly) / (2.2 * r))**2 +
                 ((xx - lx) / (3.0 * r))**2 < 1.0) & ~heart & body
        img[liver] = hv.liver_level + 0.05 * tissue[liver]
