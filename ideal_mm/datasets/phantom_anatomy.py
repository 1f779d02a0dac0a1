"""The anatomy of one phantom ACDC patient, rendered at any cardiac phase.

What is drawn (LV, myocardium, RV, fat, lungs, body; bias, noise) is described
in :mod:`ideal_mm.datasets.phantom`, which writes the files.
"""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from .phantom_variability import _HighVariability, draw_look_alikes

GROUPS = ('DCM', 'HCM', 'MINF', 'NOR', 'RV')

# Shape parameters per group: LV cavity scale, ED wall thickness (fraction of
# the cavity radius), ES/ED cavity radius ratio, RV scale.
_GROUP_SHAPE = {
    'NOR': dict(lv=1.0, wall=0.38, es=0.66, rv=1.0),
    'DCM': dict(lv=1.3, wall=0.26, es=0.88, rv=1.0),
    'HCM': dict(lv=0.85, wall=0.65, es=0.55, rv=0.9),
    'MINF': dict(lv=1.15, wall=0.32, es=0.82, rv=1.0),
    'RV': dict(lv=0.95, wall=0.38, es=0.7, rv=1.5),
}


def _smooth_noise(rng: np.random.Generator, shape: Tuple[int, int],
                  sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise rescaled to zero mean, unit std."""
    field = rng.standard_normal(shape).astype(np.float32)
    field = cv2.GaussianBlur(
        field, (0, 0),
        sigmaX=sigma,
        sigmaY=sigma,
        borderType=cv2.BORDER_REFLECT_101)
    std = float(field.std())
    return (field - field.mean()) / (std if std > 0 else 1.0)


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


class _Patient:
    """The fixed anatomy of one phantom patient; renders any cardiac phase."""

    def __init__(self,
                 seed: int,
                 number: int,
                 group: str,
                 size: Tuple[Tuple[int, int], Tuple[int, int]],
                 num_slices: Tuple[int, int],
                 variability: str = 'standard') -> None:
        rng = np.random.default_rng([seed, number, 0])
        self.seed, self.number, self.group = seed, number, group
        shape = _GROUP_SHAPE[group]
        self.H = int(rng.integers(size[0][0], size[0][1] + 1))
        self.W = int(rng.integers(size[1][0], size[1][1] + 1))
        self.D = int(rng.integers(num_slices[0], num_slices[1] + 1))
        sx = float(rng.uniform(1.3, 1.8))
        self.spacing = (float(rng.uniform(5.0, 10.0)), sx, sx)  # (sz, sx, sy)
        m = min(self.H, self.W)
        self.r0 = 0.085 * np.sqrt(220.0 * m) * shape['lv'] * rng.uniform(
            0.9, 1.1)
        self.wall = shape['wall'] * rng.uniform(0.85, 1.15)
        self.es_ratio = float(
            np.clip(shape['es'] + rng.uniform(-0.05, 0.05), 0.45, 0.93))
        self.rv_scale = shape['rv'] * rng.uniform(0.9, 1.1)
        self.center = (self.H * rng.uniform(0.42, 0.58),
                       self.W * rng.uniform(0.42, 0.58))
        self.tilt = rng.uniform(-0.08, 0.08, size=2) * m
        self.theta = rng.uniform(0, np.pi)  # LV ellipse orientation
        self.ecc = rng.uniform(0.0, 0.15)
        self.harm = [(rng.uniform(0.0, 0.05), rng.uniform(0, 2 * np.pi), k)
                     for k in (2, 3)]
        self.rv_angle = rng.uniform(0, 2 * np.pi)
        self.rv_extent = rng.uniform(0.7, 0.9)
        self.infarct_angle = rng.uniform(-np.pi, np.pi)
        self.fat_angle = self.rv_angle + np.pi + rng.uniform(-1.0, 1.0)
        self.papillary = [(rng.uniform(-np.pi, np.pi), rng.uniform(0.55, 0.75))
                          for _ in range(2)]
        self.blood = float(rng.uniform(300, 900))
        self.myo_level = rng.uniform(0.22, 0.34)
        self.noise_frac = rng.uniform(0.03, 0.07)
        self.bias = rng.uniform(-0.25, 0.25, size=5)
        self.body_axes = (self.H * rng.uniform(0.40, 0.47),
                          self.W * rng.uniform(0.40, 0.47))
        self.lungs = [(rng.uniform(0.13, 0.19), rng.uniform(0.09, 0.13), side)
                      for side in (-1, 1)]
        self.tissue = [
            _smooth_noise(rng, (self.H, self.W), 0.02 * m + 1.0)
            for _ in range(self.D)
        ]
        self.fine = [
            _smooth_noise(rng, (self.H, self.W), 1.0) for _ in range(self.D)
        ]
        self.hv: Optional[_HighVariability] = None
        if variability == 'high':
            hv = self.hv = _HighVariability(seed, number, self.D)
            self.spacing = (self.spacing[0], hv.spacing_xy, hv.spacing_xy)
            # heart size in pixels follows the pixel spacing (1.55 mm is the
            # standard phantom's mean) and a zoom
            self.r0 *= 1.55 / hv.spacing_xy * hv.zoom
            self.center = (self.H * hv.center[0], self.W * hv.center[1])
            self.myo_level = hv.myo
            self.noise_frac = hv.noise
            self.bias = self.bias * hv.bias_scale

    def _slice(self, z: int, c: float) -> Tuple[np.ndarray, np.ndarray]:
        """Intensity (before noise) and labels of slice z at contraction c."""
        H, W = self.H, self.W
        t = z / max(self.D - 1, 1)  # 0 base .. 1 apex
        cy = self.center[0] + self.tilt[0] * (t - 0.5)
        cx = self.center[1] + self.tilt[1] * (t - 0.5)
        hv = self.hv
        if hv is not None:
            cy += hv.slice_shift[z][0]
            cx += hv.slice_shift[z][1]
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        dy, dx = yy - cy, xx - cx
        # Rotated, elliptic coordinates of the LV.
        ct, st = np.cos(self.theta), np.sin(self.theta)
        u = (ct * dx + st * dy) / (1 + self.ecc)
        v = (-st * dx + ct * dy) / (1 - self.ecc)
        rho = np.sqrt(u * u + v * v)
        phi = np.arctan2(dy, dx)
        outline = 1.0 + sum(a * np.cos(k * (phi - p)) for a, p, k in self.harm)

        axial = np.sqrt(max(1.0 - 0.88 * t * t, 0.05))
        r_ed = self.r0 * axial
        t_ed = self.wall * self.r0 * (0.8 + 0.2 * axial)
        r_c = r_ed * (1.0 - c * (1.0 - self.es_ratio))
        # Myocardial area is conserved: (r + t)^2 - r^2 stays constant.
        t_c = np.sqrt(r_c**2 + (r_ed + t_ed)**2 - r_ed**2) - r_c
        thickness = t_c * np.ones_like(phi)
        if self.group == 'MINF':
            d = _wrap(phi - self.infarct_angle)
            thickness = thickness * (1.0 - 0.55 * np.exp(-(d / 0.6)**2))
        lv = rho < r_c * outline
        heart = rho < (r_c + thickness) * outline
        myo = heart & ~lv

        # RV crescent beside the septum, ending before the apex.
        rv = np.zeros_like(lv)
        rv_wall = np.zeros_like(lv)
        if t < self.rv_extent:
            rv_s = self.rv_scale * np.sqrt(1.0 - t / self.rv_extent) * (
                1.0 - 0.3 * c)
            r_out = r_ed + t_ed
            ca, sa = np.cos(self.rv_angle), np.sin(self.rv_angle)
            ry, rx = cy + sa * r_out * 0.9, cx + ca * r_out * 0.9
            a_u = max(r_out * 0.85 * rv_s, 1.5)
            a_p = max(r_out * 1.5 * rv_s, 2.0)
            pu = (ca * (xx - rx) + sa * (yy - ry)) / a_u
            pp = (-sa * (xx - rx) + ca * (yy - ry)) / a_p
            q = np.sqrt(pu * pu + pp * pp)
            rv = (q < 1.0) & ~heart
            rv_wall = (q < 1.0 + 1.6 / a_u) & ~rv & ~heart

        # Tissue intensities relative to blood = 1.
        tissue = self.tissue[z]
        img = np.zeros((H, W), np.float32)
        body_q = np.sqrt(((yy - H / 2) / self.body_axes[0])**2 +
                         ((xx - W / 2) / self.body_axes[1])**2)
        body = body_q < 1.0
        tis, tis_tex = (0.38, 0.14) if hv is None else (hv.tissue,
                                                        hv.tissue_texture)
        fat_level = 0.85 if hv is None else hv.fat
        img[body] = np.clip(tis + tis_tex * tissue[body], 0.08, 0.9)
        sub_fat = body & (body_q > 0.9)
        img[sub_fat] = fat_level - 0.05 + 0.05 * tissue[sub_fat]
        if hv is not None:
            draw_look_alikes(hv, img, yy, xx, cy, cx, r_c, t, tissue,
                             heart | rv, body)
        for ay, ax, side in self.lungs:
            lq = np.sqrt(((yy - H * 0.45) / (H * ay))**2 +
                         ((xx - W / 2 - side * W * 0.26) / (W * ax))**2)
            lung = (lq < 1.0) & ~heart & ~rv & ~rv_wall
            img[lung] = (0.04 if hv is None else hv.lung) + \
                0.02 * tissue[lung]
        # Epicardial fat: a partial bright band outside the myocardium.
        fat_band = (rho < (r_c + thickness) * outline + 2.5) & ~heart & ~rv
        fat = fat_band & (np.abs(_wrap(phi - self.fat_angle)) < 1.2)
        img[fat] = fat_level
        img[rv_wall] = self.myo_level + 0.03
        img[myo] = self.myo_level + 0.04 * self.fine[z][myo]
        blood_tex = 0.04 if hv is None else hv.blood_texture
        img[lv | rv] = 1.0 + blood_tex * self.fine[z][lv | rv]
        # Papillary muscles: dark dots inside the cavity, labelled LV.
        for angle, frac in self.papillary:
            py = cy + np.sin(angle) * r_c * frac
            px = cx + np.cos(angle) * r_c * frac
            pap = ((yy - py)**2 + (xx - px)**2 < (0.16 * r_c)**2) & lv
            img[pap] = self.myo_level + 0.1
        if hv is not None:  # trabeculae: small dark spots at the wall, LV
            for angle, frac, size in hv.trabeculae:
                py = cy + np.sin(angle) * r_c * frac
                px = cx + np.cos(angle) * r_c * frac
                tra = ((yy - py)**2 + (xx - px)**2 < (size * r_c)**2) & lv
                img[tra] = self.myo_level + 0.15
        sigma = 0.7 if hv is None else hv.blur
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)

        labels = np.zeros((H, W), np.uint8)
        labels[rv] = 1
        labels[myo] = 2
        labels[lv] = 3
        if hv is not None and hv.rotation:
            rot = cv2.getRotationMatrix2D((W / 2 - 0.5, H / 2 - 0.5),
                                          hv.rotation, 1.0)
            img = cv2.warpAffine(
                img,
                rot, (W, H),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT)
            labels = cv2.warpAffine(
                labels,
                rot, (W, H),
                flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_CONSTANT)
        return img, labels

    def _bias(self) -> np.ndarray:
        yy, xx = np.mgrid[-1:1:complex(0, self.H), -1:1:complex(0, self.W)]
        b = self.bias
        field = b[0] * xx + b[1] * yy + b[2] * xx * yy + b[3] * xx**2 + \
            b[4] * yy**2
        return np.exp(field).astype(np.float32)

    def render(self, c: float, frame: int) -> Tuple[np.ndarray, np.ndarray]:
        """(D, H, W) int16 image and uint8 labels at contraction ``c`` (0 ED, 1
        ES)."""
        rng = np.random.default_rng([self.seed, self.number, 1000 + frame])
        bias = self._bias()
        imgs, labs = [], []
        for z in range(self.D):
            img, lab = self._slice(z, c)
            img = img * bias * self.blood
            hv = self.hv
            if hv is not None and hv.ghost > 0:  # motion ghost, phase axis
                shift = int(round(hv.ghost_shift * img.shape[hv.ghost_axis]))
                img = img + hv.ghost * np.roll(img, shift, axis=hv.ghost_axis)
            sigma = self.noise_frac * self.blood
            n1 = rng.standard_normal(img.shape).astype(np.float32) * sigma
            n2 = rng.standard_normal(img.shape).astype(np.float32) * sigma
            img = np.sqrt((img + n1)**2 + n2**2)  # Rician magnitude noise
            imgs.append(np.clip(np.rint(img), 0, 32767).astype(np.int16))
            labs.append(lab)
        return np.stack(imgs), np.stack(labs)


def contraction(frame: int, es: int, num_frames: int) -> float:
    """Contraction in [0, 1] of cine frame ``frame`` (1-based): 0 at ED (1), 1
    at ES."""
    if frame <= es:
        return float(0.5 * (1 - np.cos(np.pi * (frame - 1) / max(es - 1, 1))))
    return float(
        0.5 * (1 + np.cos(np.pi * (frame - es) / max(num_frames + 1 - es, 1))))
