"""Reading and validating volume files: ACDC ``Info.cfg`` / frames / SSL4MIS
h5, NIfTI cases.

Everything a user's data can get wrong is reported as a
:class:`~ideal_mm.errors.DataError` that names the file and says how to fix
it. Arrays come back in ideal_mm's (D, H, W) = (Z, X, Y) order (see
``docs/data_contract.md``).

Two layouts are understood:

* ``raw`` - the ACDC challenge download::

      <root>/training/patient001/Info.cfg
      <root>/training/patient001/patient001_frame01.nii.gz     (ED image)
      <root>/training/patient001/patient001_frame01_gt.nii.gz  (ED labels)
      <root>/training/patient001/patient001_frame12.nii.gz     (ES ...)
      <root>/testing/patient101/...

  ``patient<NNN>_4d.nii.gz`` (the whole cine) is ignored.
* ``ssl4mis_h5`` - the copy used by SSL4MIS::

      <root>/ACDC_training_volumes/patient001_frame01.h5
      (h5 datasets image, label)

  Only the volumes are read: ``ACDC_training_slices/*.h5`` hold the same
  slices again, and ideal_mm slices the volumes itself. The h5 files store no
  voxel spacing, so spacing is (1, 1, 1) and distances are in voxels.

Any other NIfTI data set (nnU-Net, Medical Segmentation Decathlon, ...) is
read through :func:`read_case` (``FrameFiles.kind == 'case'``): one file per
channel or one 4D multi-channel file, strictly checked (3D volumes only,
positive finite spacing, equal shapes and affines of channels and labels,
label values in the data set's classes after an optional ``label_map``).

The parts live by job: the records (:mod:`.records`), value checks
(:mod:`.checks`), NIfTI reading (:mod:`.nifti_read`) and ACDC patient scanning
(:mod:`.acdc_scan`); this module reads SSL4MIS h5 volumes, dispatches a frame
to its reader (:func:`read_frame`) and re-exports every name it had.
"""
from __future__ import annotations

import os
import warnings
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

from ideal_mm.errors import DataError
# yapf: disable
from .acdc_scan import (H5_RE, H5_VOLUME_DIR, PATIENT_RE,  # noqa: F401
                        RAW_SUBSETS, parse_info_cfg, read_raw_patient,
                        scan_data_root, scan_raw, scan_ssl4mis_h5)
from .checks import (ACDC_CLASSES, apply_label_map, check_image,  # noqa: F401
                     check_label)
from .nifti_read import (AFFINE_ATOL, nifti_spacing, read_case,  # noqa: F401
                         read_nifti_frame, read_nifti_raw_label)
from .records import FrameFiles, PatientRecord, Spacing  # noqa: F401

# yapf: enable

_H5_SPACING_WARNED = False


def read_h5_volume(
    path: str,
    with_label: bool = True
) -> Tuple[np.ndarray, Optional[np.ndarray], Spacing]:
    """Read an SSL4MIS ``patient<NNN>_frame<NN>.h5`` volume.

    SSL4MIS stores ``image`` and ``label`` as (D, H, W) arrays (SimpleITK
    order: in-plane axes transposed with respect to nibabel's, which does
    not matter for slice-wise training). No spacing is stored: (1, 1, 1) is
    returned and a warning says once that distances are in voxels.
    """
    import h5py
    global _H5_SPACING_WARNED
    try:
        with h5py.File(path, 'r') as f:
            for key in ('image', 'label') if with_label else ('image', ):
                if key not in f:
                    raise DataError(f'{path}: no dataset {key!r} (found '
                                    f'{list(f.keys())}); '
                                    'SSL4MIS volumes hold "image" and "label"')
            img = np.asarray(f['image'][()])
            gt = np.asarray(f['label'][()]) if with_label else None
    except DataError:
        raise
    except (OSError, EOFError, KeyError, ValueError) as err:
        raise DataError(f'{path}: cannot read h5 file ({err}); the file is '
                        'truncated or corrupt - copy it again') from err
    if img.ndim != 3:
        raise DataError(f'{path}: image has shape {img.shape}, expected a 3D '
                        '(D, H, W) volume')
    img = check_image(np.ascontiguousarray(img), path)
    if gt is not None:
        gt = check_label(np.ascontiguousarray(gt), path)
    if not _H5_SPACING_WARNED:
        _H5_SPACING_WARNED = True
        warnings.warn(
            'SSL4MIS h5 volumes store no voxel spacing: using (1, 1, 1), so '
            'HD95/ASD are in voxels, not mm (use the raw NIfTI ACDC data '
            "with source='raw' for distances in mm)")
    return img, gt, (1.0, 1.0, 1.0)


def read_frame(
    frame: FrameFiles,
    with_label: bool,
    classes: Sequence[str] = ACDC_CLASSES,
    label_map: Optional[Mapping[int, int]] = None
) -> Tuple[np.ndarray, Optional[np.ndarray], Spacing]:
    """Read a frame's image (and labels when ``with_label``) and validate them.

    ``classes`` (names by label value) and ``label_map`` (raw value ->
    class index) define the valid label values; the defaults are ACDC's.
    Raises DataError when the labels are needed but missing, or when the
    image and label shapes differ. ``kind='case'`` goes to :func:`read_case`.
    """
    if frame.kind == 'case':
        return read_case(frame, with_label, classes, label_map)
    if frame.kind == 'h5':
        img, gt, spacing = read_h5_volume(frame.img_file, with_label)
        gt_path = frame.img_file
        if gt is not None and (label_map or tuple(classes) != ACDC_CLASSES):
            gt = check_label(gt, gt_path, classes, label_map)
    else:
        img, spacing, _ = read_nifti_frame(frame.img_file)
        gt = None
        gt_path = frame.gt_file
        if with_label:
            if frame.gt_file is None:
                expected = os.path.join(
                    os.path.dirname(frame.img_file),
                    os.path.basename(frame.img_file).replace(
                        '.nii', '_gt.nii'))
                raise DataError(
                    f'{expected}: label file missing for labelled volume '
                    f'{frame.volume_id}; restore it, or use the patient as '
                    "unlabelled (subset='unlabelled' / a smaller label_budget)"
                )
            if label_map or tuple(classes) != ACDC_CLASSES:
                gt = read_nifti_raw_label(frame.gt_file, classes, label_map)
            else:
                gt, _, _ = read_nifti_frame(frame.gt_file, is_label=True)
    if gt is not None and gt.shape != img.shape:
        raise DataError(
            f'{gt_path}: label shape {gt.shape} differs from image shape '
            f'{img.shape} of {frame.img_file} (both (D, H, W)); the label '
            'file must belong to this image')
    return img, gt, spacing
