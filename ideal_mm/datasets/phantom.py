"""Synthetic ACDC-like cardiac MRI ("phantom ACDC") in the raw ACDC layout.

Tests, the demo and users without the real data need data that goes through
exactly the code paths of the real ACDC download. :func:`make_phantom_acdc`
writes ``<out_dir>/training/patientXXX/`` folders with ``Info.cfg``,
``patientXXX_frameYY.nii.gz`` and ``patientXXX_frameYY_gt.nii.gz`` for the ED
and ES frames (optionally the ``_4d`` cine), NIfTI with the voxel spacing in
the affine, zooms, qform and sform.

The anatomy of one short-axis slice: an elliptic LV blood pool with a
perturbed outline and papillary muscles, a myocardium ring around it
(thickness varying per group, thinned locally for MINF), an RV crescent
hugging the septum with a thin unlabelled free wall, epicardial fat, lungs,
a body ellipse filled with smoothed tissue texture and subcutaneous fat. Over
the slices the heart shrinks from base to apex (the RV ends before the apex);
at ES the LV cavity is smaller and the myocardium thicker (its area is kept).
Images get partial-volume blur, a smooth multiplicative bias field and
Rician noise, and are stored as int16 MRI-like intensities. Groups cycle
DCM, HCM, MINF, NOR, RV and change the shape parameters accordingly.

``variability='high'`` (``--variability high``) draws, per patient, what
makes few-label training hard on real cine MRI (see :class:`_HighVariability`):
scanner contrast profiles (blood, myocardium, fat, lung and tissue levels, not
only gain), heart position, orientation and size within a larger field of
view, in-plane resolution, partial-volume blur, bias-field strength, noise
level, ghosting, breath-hold slice misregistration, trabeculation and
papillary muscles, and unlabelled bright look-alikes (ascending and
descending aorta, liver). The default (``'standard'``) is unchanged, byte for
byte.

Everything is drawn from ``np.random.default_rng([seed, patient_number,
...])``: a patient's arrays depend only on the seed, its number and the size
options, never on how many patients are generated; files are gzip-compressed
with a zero timestamp, so equal inputs give byte-identical files.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ideal_mm.errors import ConfigError, DataError
from .volume_cache import atomic_file

GROUPS = ('DCM', 'HCM', 'MINF', 'NOR', 'RV')
DEFAULT_SIZE = ((200, 260), (180, 240))
MARKER = 'PHANTOM_ACDC.json'

# Shape parameters per group: LV cavity scale, ED wall thickness (fraction of
# the cavity radius), ES/ED cavity radius ratio, RV scale.
_GROUP_SHAPE = {
    'NOR': dict(lv=1.0, wall=0.38, es=0.66, rv=1.0),
    'DCM': dict(lv=1.3, wall=0.26, es=0.88, rv=1.0),
    'HCM': dict(lv=0.85, wall=0.65, es=0.55, rv=0.9),
    'MINF': dict(lv=1.15, wall=0.32, es=0.82, rv=1.0),
    'RV': dict(lv=0.95, wall=0.38, es=0.7, rv=1.5),
}

VARIABILITY = ('standard', 'high')

SizeArg = Union[Tuple[int, int], Tuple[Tuple[int, int], Tuple[int, int]]]


def _size_range(size: SizeArg) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    try:
        h, w = size
        h = (int(h), int(h)) if np.isscalar(h) else tuple(int(v) for v in h)
        w = (int(w), int(w)) if np.isscalar(w) else tuple(int(v) for v in w)
        if len(h) != 2 or len(w) != 2:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f'size={size!r} must be (H, W) or ((H_min, H_max), '
                          '(W_min, W_max))') from None
    if min(h + w) < 32 or h[0] > h[1] or w[0] > w[1]:
        raise ConfigError(f'size={size!r}: sizes must be >= 32 px and ranges '
                          'ordered (min, max)')
    return h, w


def _smooth_noise(rng: np.random.Generator, shape: Tuple[int, int],
                  sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise rescaled to zero mean, unit std."""
    field = rng.standard_normal(shape).astype(np.float32)
    field = cv2.GaussianBlur(field, (0, 0), sigmaX=sigma, sigmaY=sigma,
                             borderType=cv2.BORDER_REFLECT_101)
    std = float(field.std())
    return (field - field.mean()) / (std if std > 0 else 1.0)


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


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


class _Patient:
    """The fixed anatomy of one phantom patient; renders any cardiac phase."""

    def __init__(self, seed: int, number: int, group: str,
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
        self.es_ratio = float(np.clip(shape['es'] + rng.uniform(-0.05, 0.05),
                                      0.45, 0.93))
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
        self.tissue = [_smooth_noise(rng, (self.H, self.W), 0.02 * m + 1.0)
                       for _ in range(self.D)]
        self.fine = [_smooth_noise(rng, (self.H, self.W), 1.0)
                     for _ in range(self.D)]
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
            self._look_alikes(img, yy, xx, cy, cx, r_c, t, tissue, heart | rv,
                              body)
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
            img = cv2.warpAffine(img, rot, (W, H), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)
            labels = cv2.warpAffine(labels, rot, (W, H),
                                    flags=cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT)
        return img, labels

    def _look_alikes(self, img: np.ndarray, yy: np.ndarray, xx: np.ndarray,
                     cy: float, cx: float, r: float, t: float,
                     tissue: np.ndarray, heart: np.ndarray,
                     body: np.ndarray) -> None:
        """Unlabelled structures that look like the labelled ones (in place).

        The ascending aorta (a bright disc next to the LV in basal slices),
        the descending aorta (a small bright disc near the spine in every
        slice) and the liver (a large mid-grey region in apical slices).
        """
        hv = self.hv
        H, W = self.H, self.W
        if t < hv.aorta_extent:
            d = 2.1 * r
            ay = cy + np.sin(hv.aorta_angle) * d
            ax = cx + np.cos(hv.aorta_angle) * d
            aorta = ((yy - ay)**2 + (xx - ax)**2 < (0.7 * r)**2) & ~heart & body
            img[aorta] = 0.95 + 0.03 * tissue[aorta]
        dy, dx = hv.desc_aorta
        desc = ((yy - H * dy)**2 + (xx - W * (0.5 + dx))**2 <
                (0.35 * r)**2) & ~heart & body
        img[desc] = 0.9 + 0.03 * tissue[desc]
        if t > 0.45:
            ly = cy + np.sin(hv.liver_angle) * 2.6 * r
            lx = cx + np.cos(hv.liver_angle) * 2.6 * r
            liver = (((yy - ly) / (2.2 * r))**2 + ((xx - lx) / (3.0 * r))**2
                     < 1.0) & ~heart & body
            img[liver] = hv.liver_level + 0.05 * tissue[liver]

    def _bias(self) -> np.ndarray:
        yy, xx = np.mgrid[-1:1:complex(0, self.H), -1:1:complex(0, self.W)]
        b = self.bias
        field = b[0] * xx + b[1] * yy + b[2] * xx * yy + b[3] * xx**2 + \
            b[4] * yy**2
        return np.exp(field).astype(np.float32)

    def render(self, c: float, frame: int) -> Tuple[np.ndarray, np.ndarray]:
        """(D, H, W) int16 image and uint8 labels at contraction ``c`` (0 ED, 1 ES)."""
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
    """Contraction in [0, 1] of cine frame ``frame`` (1-based): 0 at ED (1), 1 at ES."""
    if frame <= es:
        return float(0.5 * (1 - np.cos(np.pi * (frame - 1) / max(es - 1, 1))))
    return float(0.5 * (1 + np.cos(np.pi * (frame - es) /
                                   max(num_frames + 1 - es, 1))))


def nifti_bytes(arr_dhw: np.ndarray, spacing: Sequence[float],
                time_step: Optional[float] = None) -> bytes:
    """Gzip-compressed NIfTI-1 bytes of a (D, H, W) or (T, D, H, W) array.

    Written as (X, Y, Z[, T]) with ``affine = diag(sx, sy, sz, 1)``, header
    zooms, qform and sform (code 1, scanner), units mm / s; the gzip
    timestamp is 0 so equal arrays give equal bytes.
    """
    import nibabel as nib
    sz, sx, sy = (float(s) for s in spacing)
    if arr_dhw.ndim == 4:
        data = np.transpose(arr_dhw, (2, 3, 1, 0))
        zooms = (sx, sy, sz, float(time_step or 1.0))
    else:
        data = np.transpose(arr_dhw, (1, 2, 0))
        zooms = (sx, sy, sz)
    affine = np.diag([sx, sy, sz, 1.0])
    image = nib.Nifti1Image(np.ascontiguousarray(data), affine)
    image.header.set_zooms(zooms)
    image.header.set_xyzt_units('mm', 'sec')
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def _write_bytes(path: str, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise DataError(f'--out {out_dir}: exists and is not a folder; choose '
                        'a new or empty folder')
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        marker = os.path.join(out_dir, MARKER)
        if not overwrite:
            raise DataError(
                f'--out {out_dir}: folder is not empty; pass --overwrite '
                '(overwrite=True) to replace a phantom dataset, or choose a new '
                'folder')
        if not os.path.isfile(marker):
            raise DataError(
                f'--out {out_dir}: not empty and not a phantom dataset (no '
                f'{MARKER}); overwrite only replaces generated phantom data - '
                'choose a new or empty folder')
        for sub in ('training', 'testing'):
            shutil.rmtree(os.path.join(out_dir, sub), ignore_errors=True)
        os.remove(marker)
    try:
        os.makedirs(os.path.join(out_dir, 'training'), exist_ok=True)
    except OSError as err:
        raise DataError(f'--out {out_dir}: cannot create the folder ({err}); '
                        'choose a writable path') from err


def make_phantom_acdc(out_dir: str,
                      num_patients: int = 12,
                      seed: int = 0,
                      size: SizeArg = DEFAULT_SIZE,
                      num_slices: Tuple[int, int] = (6, 12),
                      with_4d: bool = False,
                      start_id: int = 1,
                      overwrite: bool = False,
                      progress: bool = False,
                      variability: str = 'standard') -> List[str]:
    """Write a phantom ACDC dataset into ``out_dir/training``.

    Args:
        out_dir: dataset root; must be new or empty, unless ``overwrite`` and
            it holds an earlier phantom dataset (which is then replaced).
        num_patients: patients ``patient{start_id:03d}`` onwards.
        seed: all randomness derives from it.
        size: in-plane size (H, W), fixed or ((H_min, H_max), (W_min, W_max)).
        num_slices: (min, max) slices per volume.
        with_4d: also write the ``_4d`` cine (NbFrame frames).
        start_id: number of the first patient.
        overwrite: replace an earlier phantom dataset in ``out_dir``.
        progress: show a tqdm bar.
        variability: ``'standard'`` or ``'high'`` (inter-patient
            variability of real cine MRI: contrast, pose, size, artefacts,
            look-alikes; see :class:`_HighVariability`).

    Returns:
        The patient folders written.
    """
    if not isinstance(num_patients, int) or num_patients < 1:
        raise ConfigError(f'num_patients={num_patients!r} must be an int >= 1')
    if not isinstance(start_id, int) or start_id < 1 or \
            start_id + num_patients - 1 > 999:
        raise ConfigError(f'start_id={start_id!r}: patient numbers must stay '
                          'within 1..999')
    if len(num_slices) != 2 or not 2 <= num_slices[0] <= num_slices[1]:
        raise ConfigError(f'num_slices={num_slices!r} must be (min, max) with '
                          '2 <= min <= max')
    if variability not in VARIABILITY:
        raise ConfigError(f'variability={variability!r} must be one of '
                          f'{VARIABILITY}')
    size_rng = _size_range(size)
    _prepare_out_dir(out_dir, overwrite)
    from tqdm import tqdm
    folders = []
    for number in tqdm(range(start_id, start_id + num_patients),
                       desc='phantom ACDC', unit='patient',
                       disable=not progress):
        folders.append(
            _write_patient(out_dir, seed, number, size_rng,
                           tuple(int(n) for n in num_slices), with_4d,
                           variability))
    marker: Dict[str, object] = dict(
        generator='ideal_mm.datasets.phantom.make_phantom_acdc',
        num_patients=num_patients, seed=seed, size=[list(s) for s in size_rng],
        num_slices=list(num_slices), with_4d=with_4d, start_id=start_id)
    if variability != 'standard':  # the standard marker stays as it was
        marker['variability'] = variability
    _write_bytes(os.path.join(out_dir, MARKER),
                 json.dumps(marker, indent=1).encode('utf-8'))
    return folders


def _write_patient(out_dir: str, seed: int, number: int,
                   size: Tuple[Tuple[int, int], Tuple[int, int]],
                   num_slices: Tuple[int, int], with_4d: bool,
                   variability: str = 'standard') -> str:
    pid = f'patient{number:03d}'
    group = GROUPS[(number - 1) % len(GROUPS)]
    patient = _Patient(seed, number, group, size, num_slices, variability)
    rng = np.random.default_rng([seed, number, 1])
    num_frames = int(rng.integers(20, 31))
    es = int(rng.integers(8, 15))
    height = round(float(rng.uniform(150, 195)), 1)
    weight = round(float(rng.uniform(50, 110)), 1)
    folder = os.path.join(out_dir, 'training', pid)
    os.makedirs(folder, exist_ok=True)
    for frame, c in ((1, 0.0), (es, 1.0)):
        img, gt = patient.render(c, frame)
        stem = os.path.join(folder, f'{pid}_frame{frame:02d}')
        _write_bytes(stem + '.nii.gz', nifti_bytes(img, patient.spacing))
        _write_bytes(stem + '_gt.nii.gz', nifti_bytes(gt, patient.spacing))
    if with_4d:
        cine = np.stack([
            patient.render(contraction(f, es, num_frames), f)[0]
            for f in range(1, num_frames + 1)
        ])
        _write_bytes(
            os.path.join(folder, f'{pid}_4d.nii.gz'),
            nifti_bytes(cine, patient.spacing, time_step=0.03))
    info = (f'ED: 1\nES: {es}\nGroup: {group}\nHeight: {height}\n'
            f'NbFrame: {num_frames}\nWeight: {weight}\n')
    _write_bytes(os.path.join(folder, 'Info.cfg'), info.encode('utf-8'))
    return folder


# --------------------------------------------------------------------------
# a second phantom: whole heart, 7 structures, CT- or MR-like (MMWHS-like)
# --------------------------------------------------------------------------
WHS_MARKER = 'PHANTOM_WHS.json'
WHS_LAYOUTS = ('nnunet', 'msd', 'mmwhs')
#: HU of each structure (CT, contrast-enhanced blood pool) and MR levels.
_WHS_CT = dict(air=-1000., lung=-820., tissue=40., fat=-90., myo=110.,
               blood=330.)
_WHS_MR = dict(air=0., lung=40., tissue=350., fat=900., myo=250., blood=800.)


def _whs_case(seed: int, number: int, size: Tuple[int, int],
              num_slices: Tuple[int, int], modality: str, num_channels: int
              ) -> Tuple[np.ndarray, np.ndarray, Tuple[float, float, float]]:
    """One whole-heart phantom case: (C, D, H, W) image, (D, H, W) MMWHS
    label values (205, 420, 500, 550, 600, 820, 850), spacing (sz, sx, sy).

    Ellipsoids in a normalised box [-1, 1]^3: ventricles low, atria high,
    the LV myocardium a shell around the LV cavity, aorta and pulmonary
    artery as tilted cylinders; every centre and radius jittered per case.
    """
    from .convert import MMWHS_LABELS  # noqa: F401  (values documented there)
    rng = np.random.default_rng([seed, number, 11])
    D = int(rng.integers(num_slices[0], num_slices[1] + 1))
    H, W = size
    sz, sxy = float(rng.uniform(1.5, 2.5)), float(rng.uniform(0.8, 1.2))
    z, y, x = np.meshgrid(np.linspace(-1, 1, D), np.linspace(-1, 1, H),
                          np.linspace(-1, 1, W), indexing='ij')

    def jit(v: float, s: float = 0.05) -> float:
        return float(v + rng.uniform(-s, s))

    def ell(c, r) -> np.ndarray:
        return (((z - c[0]) / r[0])**2 + ((y - c[1]) / r[1])**2 +
                ((x - c[2]) / r[2])**2) <= 1.0

    scale = float(rng.uniform(0.9, 1.1))
    body = (y / 0.85)**2 + (x / 0.95)**2 <= 1.0
    lungs = ell((0, jit(0.0), jit(-0.6)), (1.4, 0.45, 0.28)) | ell(
        (0, jit(0.0), jit(0.62)), (1.4, 0.45, 0.26))
    lv_c = (jit(-0.25), jit(0.1), jit(0.15))
    lv_r = tuple(r * scale for r in (0.55, 0.22, 0.2))
    lv = ell(lv_c, lv_r)
    myo = ell(lv_c, tuple(r + 0.09 for r in lv_r)) & ~lv
    rv = ell((jit(-0.3), jit(-0.15), jit(-0.2)),
             tuple(r * scale for r in (0.5, 0.22, 0.17))) & ~myo & ~lv
    la = ell((jit(0.45), jit(0.3), jit(0.12)), (0.35, 0.17, 0.17))
    ra = ell((jit(0.45), jit(-0.05), jit(-0.3)), (0.35, 0.17, 0.15))
    ao = ((y - jit(0.05) - 0.1 * z)**2 + (x - jit(0.0))**2 <= 0.09**2) & \
        (z > 0.1)
    pa = ((y - jit(-0.3) + 0.1 * z)**2 + (x - jit(-0.05))**2 <= 0.08**2) & \
        (z > 0.2)
    labels = np.zeros((D, H, W), dtype=np.int16)
    for mask, value in ((myo, 205), (lv, 500), (rv, 600), (la, 420),
                        (ra, 550), (ao, 820), (pa, 850)):
        labels[mask & body] = value
    levels = _WHS_CT if modality == 'ct' else _WHS_MR
    channels = []
    for c in range(num_channels):
        lv_ = dict(levels)
        if c == 1:  # a second phase / contrast: blood darker, myo brighter
            lv_['blood'], lv_['myo'] = lv_['blood'] * 0.6, lv_['myo'] * 1.3
        img = np.full((D, H, W), lv_['air'], dtype=np.float32)
        img[body] = lv_['tissue']
        img[body & lungs] = lv_['lung']
        img[labels == 205] = lv_['myo']
        img[(labels > 0) & (labels != 205)] = lv_['blood']
        gain = float(rng.uniform(0.8, 1.25)) if modality == 'mr' else 1.0
        noise = 25.0 if modality == 'ct' else 30.0
        img = img * gain + rng.normal(0, noise, img.shape).astype(np.float32)
        channels.append(np.round(img).astype(np.int16))
    return np.stack(channels), labels, (sz, sxy, sxy)


def make_phantom_whs(out_dir: str,
                     num_cases: int = 8,
                     num_test: int = 2,
                     seed: int = 0,
                     size: Tuple[int, int] = (48, 48),
                     num_slices: Tuple[int, int] = (8, 10),
                     layout: str = 'nnunet',
                     modality: str = 'ct',
                     num_channels: int = 1,
                     overwrite: bool = False) -> List[str]:
    """Write a whole-heart phantom (7 structures + background = 8 classes).

    Layouts: ``'nnunet'`` (``dataset.json``, ``imagesTr/whs_001_0000.nii.gz``, ...
    (+ ``_0001`` for 2 channels), ``labelsTr`` with classes 1..7,
    ``imagesTs``), ``'msd'`` (Decathlon: one 3D/4D image per case, the
    ``training`` / ``test`` lists) or ``'mmwhs'`` (the challenge download:
    ``<mod>_train/<mod>_train_1001_image.nii.gz``, ... and ``_label.nii.gz`` with
    the raw values 205..850, ``<mod>_test/``), for
    ``tools/data/convert_mmwhs.py``. CT-like intensities in HU (contrast
    blood pool 330, myocardium 110, lungs -820) or MR-like ones with a
    per-case gain. A case's arrays depend only on the seed and its number.

    Returns the image files written (first channel).
    """
    from .convert import MMWHS_CLASSES, MMWHS_LABEL_MAP, dataset_json_nnunet
    if layout not in WHS_LAYOUTS:
        raise ConfigError(f'layout={layout!r} must be one of {WHS_LAYOUTS}')
    if modality not in ('ct', 'mr'):
        raise ConfigError(f"modality={modality!r} must be 'ct' or 'mr'")
    if num_channels not in (1, 2) or (layout == 'mmwhs' and num_channels != 1):
        raise ConfigError(f'num_channels={num_channels!r} must be 1 or 2 (1 '
                          "for layout='mmwhs')")
    if not isinstance(num_cases, int) or num_cases < 1 or num_test < 0:
        raise ConfigError('num_cases must be >= 1 and num_test >= 0')
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite or not os.path.isfile(os.path.join(out_dir,
                                                            WHS_MARKER)):
            raise DataError(f'{out_dir}: folder is not empty; choose a new '
                            'folder (overwrite only replaces a whole-heart '
                            'phantom)')
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    lut = np.zeros(1024, dtype=np.uint8)
    for raw, idx in MMWHS_LABEL_MAP.items():
        lut[raw] = idx
    written: List[str] = []
    training, test = [], []
    for i in range(num_cases + num_test):
        number = i + 1
        is_test = i >= num_cases
        img, raw, spacing = _whs_case(seed, number, size, num_slices,
                                      modality, num_channels)
        if layout == 'mmwhs':
            part = 'test' if is_test else 'train'
            folder = os.path.join(out_dir, f'{modality}_{part}')
            os.makedirs(folder, exist_ok=True)
            num = (2000 if is_test else 1000) + number
            stem = os.path.join(folder, f'{modality}_{part}_{num}')
            _write_bytes(stem + '_image.nii.gz', nifti_bytes(img[0], spacing))
            if not is_test:
                _write_bytes(stem + '_label.nii.gz', nifti_bytes(raw, spacing))
            written.append(stem + '_image.nii.gz')
            continue
        case = f'whs_{number:03d}'
        sub = 'imagesTs' if is_test else 'imagesTr'
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
        os.makedirs(os.path.join(out_dir, 'labelsTr'), exist_ok=True)
        labels = lut[raw]
        if layout == 'nnunet':
            for c in range(num_channels):
                path = os.path.join(out_dir, sub, f'{case}_{c:04d}.nii.gz')
                _write_bytes(path, nifti_bytes(img[c], spacing))
                if c == 0:
                    written.append(path)
        else:
            path = os.path.join(out_dir, sub, f'{case}.nii.gz')
            data = img if num_channels > 1 else img[0]
            _write_bytes(path, nifti_bytes(data, spacing))
            written.append(path)
        if is_test:
            test.append(f'./{sub}/{case}.nii.gz')
        else:
            lab = os.path.join(out_dir, 'labelsTr', f'{case}.nii.gz')
            _write_bytes(lab, nifti_bytes(labels, spacing))
            training.append(dict(image=f'./imagesTr/{case}.nii.gz',
                                 label=f'./labelsTr/{case}.nii.gz'))
    names = ['CT' if modality == 'ct' else 'MRI', 'late'][:num_channels]
    if layout == 'nnunet':
        meta = dataset_json_nnunet(MMWHS_CLASSES, names, num_cases,
                                   name='PhantomWHS')
    elif layout == 'msd':
        meta = dict(name='PhantomWHS',
                    modality={str(i): n for i, n in enumerate(names)},
                    labels={str(i): c for i, c in enumerate(MMWHS_CLASSES)},
                    numTraining=num_cases, numTest=num_test,
                    training=training, test=test)
    else:
        meta = None
    if meta is not None:
        _write_bytes(os.path.join(out_dir, 'dataset.json'),
                     json.dumps(meta, indent=1).encode('utf-8'))
    _write_bytes(os.path.join(out_dir, WHS_MARKER), json.dumps(dict(
        generator='ideal_mm.datasets.phantom.make_phantom_whs', seed=seed,
        num_cases=num_cases, num_test=num_test, size=list(size),
        num_slices=list(num_slices), layout=layout, modality=modality,
        num_channels=num_channels), indent=1).encode('utf-8'))
    return written
