"""The records a volume data set's ``scan()`` returns: a patient and its
frames' files."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

#: Voxel spacing ``(sz, sx, sy)`` in mm, in ideal_mm's (D, H, W) order.
Spacing = Tuple[float, float, float]


@dataclass
class FrameFiles:
    """The source files of one frame (one 3D volume) of a patient.

    ``gt_file`` is None when no label file exists; that is only an error
    when the frame's labels are needed. For ``kind='h5'`` image and labels
    live in the same file. ``kind='case'`` is a generic NIfTI case
    (nnU-Net, MSD): ``img_files`` lists its channel files in channel order
    (``img_file`` is the first), or holds one 4D file whose last axis is
    the channels; ``num_channels`` is the count the data set declares.
    ``frame`` / ``frame_number`` are ACDC's ED/ES (None elsewhere).
    """

    volume_id: str
    patient_id: str
    frame: Optional[str]  # 'ED' or 'ES' (ACDC); None for other data sets
    frame_number: Optional[int]
    img_file: str
    gt_file: Optional[str]
    kind: str  # 'nifti' or 'h5' (ACDC), 'case' (generic NIfTI)
    img_files: Tuple[str, ...] = ()
    num_channels: int = 1


@dataclass
class PatientRecord:
    """A patient (the unit of splits and budgets): its group and volumes.

    ACDC: the ED and ES frames. ``labelled=False`` marks a patient whose
    volumes have no label file by construction (nnU-Net ``imagesTs``, MSD
    ``test``): it is kept out of the split and joins the unlabelled train
    pool (:class:`~ideal_mm.datasets.volume_dataset.VolumeSegDataset`).
    """

    patient_id: str
    folder: str
    group: Optional[str]
    frames: List[FrameFiles] = field(default_factory=list)
    info: Dict[str, str] = field(default_factory=dict)
    labelled: bool = True
