"""nnU-Net v2 raw folders and Medical Segmentation Decathlon folders as data
sets.

Layouts (``docs/datasets.md``)::

    nnU-Net v2 raw                               Decathlon (MSD)
    <root>/dataset.json                          <root>/dataset.json
    <root>/imagesTr/<case>_0000.nii.gz           <root>/imagesTr/<case>.nii.gz
                                                 (3D or 4D)
    <root>/imagesTr/<case>_0001.nii.gz (ch. 1)   <root>/labelsTr/<case>.nii.gz
    <root>/labelsTr/<case>.nii.gz                <root>/imagesTs/<case>.nii.gz
    <root>/imagesTs/<case>_0000.nii.gz

nnU-Net's ``dataset.json`` holds ``channel_names`` (``{"0": "CT"}``),
``labels`` (``{"background": 0, "LV": 1, ...}``, consecutive from 0) and
``file_ending``; MSD's holds ``modality``, ``labels`` (``{"0":
"background", ...}``) and the ``training`` / ``test`` lists. Class names and
their count come from ``labels``; channels are stacked in ``channel_names``
/ ``modality`` order. Images without labels (``imagesTs``, MSD ``test``)
are unlabelled patients: they join the semi-supervised and pre-training
stages and never a val/test split.

Neither mmseg nor mmengine reads these layouts (mmseg's ``BaseSegDataset``
lists 2D image/label file pairs), hence this module.

Reading ``dataset.json`` and the image names is in :mod:`.nnunet_files`.
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from mmseg.registry import DATASETS

from ideal_mm.errors import ConfigError, DataError
from .io import FrameFiles, PatientRecord
# yapf: disable
from .nnunet_files import (CHANNEL_RE, NIFTI_ENDINGS,  # noqa: F401
                           DatasetDescription, _dataset_json_path,
                           _strip_ending, read_dataset_json,
                           scan_nnunet_images)
from .volume_dataset import VolumeSegDataset, default_palette

# yapf: enable

#: layout -> (its name in a message, its channels key, the class that reads it)
_LAYOUT_NAMES = {
    'nnunet': ('an nnU-Net', 'channel_names', 'NnUNetDataset'),
    'msd': ('a Decathlon', 'modality', 'MSDDataset')
}


class _NiftiFolderDataset(VolumeSegDataset):
    """What nnU-Net and MSD folders share: dataset.json, classes, patients.

    Args:
        patient_regex: a regular expression whose first group is the patient
            id of a case id (default: every case is its own patient). Cases
            of one patient always share a split and a budget decision, e.g.
            ``r'^(patient\\d{3})_'`` for ACDC converted to nnU-Net.
        use_test_images: add the test images (``imagesTs`` / ``test``) as
            unlabelled patients of the train split (semi-supervised and
            pre-training stages).
        **kwargs: see
        :class:`~ideal_mm.datasets.volume_dataset.VolumeSegDataset`.
    """

    def __init__(self,
                 data_root: str,
                 patient_regex: Optional[str] = None,
                 use_test_images: bool = True,
                 **kwargs) -> None:
        if data_root is None:
            raise ConfigError(f'data_root is required (the {self.DATASET_NAME}'
                              ' folder with dataset.json)')
        if not os.path.isdir(data_root):
            raise DataError(
                f'data_root {data_root!r} does not exist or is not a folder; '
                f'set data_root to the {self.DATASET_NAME} folder (the one '
                'holding dataset.json and imagesTr/)')
        self.description = read_dataset_json(data_root)
        self._check_layout()
        try:
            self.patient_regex = (
                re.compile(patient_regex) if patient_regex else None)
        except re.error as err:
            raise ConfigError(f'patient_regex={patient_regex!r} is not a '
                              f'regular expression ({err})') from None
        self.use_test_images = bool(use_test_images)
        user_meta = dict(kwargs.pop('metainfo', None) or {})
        classes = self.description.classes
        meta = dict(classes=classes, palette=default_palette(len(classes)))
        meta.update(user_meta)
        super().__init__(data_root=data_root, metainfo=meta, **kwargs)

    #: ``description.layout`` this class reads: 'nnunet' or 'msd'.
    LAYOUT = ''

    def _check_layout(self) -> None:
        """Raise when dataset.json is of the other layout, naming the class to
        use."""
        if self.description.layout != self.LAYOUT:
            name, key, cls = _LAYOUT_NAMES[self.description.layout]
            own_key = _LAYOUT_NAMES[self.LAYOUT][1]
            raise DataError(
                f'{self.description.path}: {name} dataset.json (it has '
                f'"{key}", not "{own_key}"); use type=\'{cls}\'')

    @property
    def num_channels(self) -> int:
        """Image channels (``channel_names`` / ``modality`` entries)."""
        return len(self.description.channel_names)

    @classmethod
    def channels_of(cls, data_root: str) -> int:
        """Channel count that ``<data_root>/dataset.json`` declares."""
        return len(read_dataset_json(data_root).channel_names)

    def _patient_of(self, case: str, where: str) -> str:
        if self.patient_regex is None:
            return case
        match = self.patient_regex.search(case)
        if match is None or not match.groups():
            raise ConfigError(
                f'patient_regex={self.patient_regex.pattern!r} does not match '
                f'case {case!r} ({where}) or has no group; its first group '
                'must be the patient id')
        return match.group(1)

    def _records(
        self, cases: Sequence[Tuple[str, Tuple[str, ...], Optional[str], str]]
    ) -> Dict[str, PatientRecord]:
        """Patients from ``(case, image files, label file, where)`` tuples."""
        if not cases:
            raise DataError(
                f'{self.data_root}: no cases found (imagesTr/ is empty); put '
                'the images there (see docs/datasets.md)')
        seen: Dict[str, str] = {}
        patients: Dict[str, PatientRecord] = {}
        for case, files, label, where in cases:
            if case in seen:
                raise DataError(
                    f'{files[0]}: case id {case!r} is also {seen[case]}; case '
                    'ids must be unique - rename or remove one')
            seen[case] = files[0]
            pid = self._patient_of(case, files[0])
            labelled = label is not None
            rec = patients.get(pid)
            if rec is None:
                rec = patients[pid] = PatientRecord(
                    patient_id=pid,
                    folder=os.path.dirname(files[0]),
                    group=None,
                    labelled=labelled)
            elif rec.labelled != labelled:
                raise DataError(
                    f'{files[0]}: patient {pid} has cases with and without '
                    'labels (training and test images); keep a patient in '
                    'one of them or change patient_regex')
            rec.frames.append(
                FrameFiles(
                    volume_id=case,
                    patient_id=pid,
                    frame=None,
                    frame_number=None,
                    img_file=files[0],
                    gt_file=label,
                    kind='case',
                    img_files=tuple(files),
                    num_channels=self.num_channels))
        return dict(sorted(patients.items()))


@DATASETS.register_module()
class NnUNetDataset(_NiftiFolderDataset):
    """An nnU-Net v2 raw data set (``dataset.json``, ``imagesTr``,
    ``labelsTr``, optional ``imagesTs``) as slices.

    Every ``imagesTr`` case needs ``labelsTr/<case><file_ending>`` on the
    same grid (shape and affine) as its channels; ``imagesTs`` cases are
    unlabelled. Default split: seeded (10 % val, 20 % test of the labelled
    patients). See :class:`_NiftiFolderDataset` for ``patient_regex`` and
    ``use_test_images``, :class:`VolumeSegDataset` for the rest.
    """

    DATASET_NAME = 'nnU-Net'
    LAYOUT = 'nnunet'

    def scan(self) -> Dict[str, PatientRecord]:
        """Cases of ``imagesTr`` (labelled) and ``imagesTs`` (unlabelled)."""
        ending = self.description.file_ending
        images = os.path.join(self.data_root, 'imagesTr')
        labels = os.path.join(self.data_root, 'labelsTr')
        if not os.path.isdir(images):
            raise DataError(f'{images}: folder not found; nnU-Net data sets '
                            f'keep training images in imagesTr/<case>_0000'
                            f'{ending}')
        train = scan_nnunet_images(images, ending, self.num_channels)
        cases = []
        for case, files in train.items():
            label = os.path.join(labels, case + ending)
            if not os.path.isfile(label):
                raise DataError(
                    f'{label}: label file of training case {case} is missing; '
                    'add it, or move the case images to imagesTs/ (unlabelled)'
                )
            cases.append((case, files, label, 'imagesTr'))
        if os.path.isdir(labels):
            for name in sorted(os.listdir(labels)):
                stem = _strip_ending(name, ending)
                if stem is not None and not name.startswith('.') and \
                        stem not in train:
                    raise DataError(
                        f'{os.path.join(labels, name)}: label without images '
                        f'(no imagesTr/{stem}_0000{ending}); add the images '
                        'or remove the label file')
        test = os.path.join(self.data_root, 'imagesTs')
        if self.use_test_images and os.path.isdir(test):
            for case, files in scan_nnunet_images(test, ending,
                                                  self.num_channels).items():
                cases.append((case, files, None, 'imagesTs'))
        return self._records(cases)


@DATASETS.register_module()
class MSDDataset(_NiftiFolderDataset):
    """A Medical Segmentation Decathlon data set (``dataset.json`` with
    ``labels``, ``modality``, ``training`` and ``test`` lists) as slices.

    Images are 3D (one modality) or 4D with the modalities on the last axis
    (e.g. BraTS: FLAIR, T1w, T1gd, T2w). Paths in the lists are relative to
    ``data_root`` (``./imagesTr/x.nii.gz``). ``test`` images are unlabelled.
    """

    DATASET_NAME = 'Decathlon'
    LAYOUT = 'msd'

    def _path(self, rel: str, key: str) -> str:
        path = os.path.normpath(os.path.join(self.data_root, rel))
        if not os.path.isfile(path):
            raise DataError(f'{path}: file named by {self.description.path} '
                            f'({key}) not found; restore it or fix the list')
        return path

    @staticmethod
    def _case_id(path: str) -> str:
        name = os.path.basename(path)
        for ending in NIFTI_ENDINGS:
            if name.endswith(ending):
                return name[:-len(ending)]
        return name

    def scan(self) -> Dict[str, PatientRecord]:
        """Cases of the ``training`` (labelled) and ``test`` lists."""
        cases = []
        for i, entry in enumerate(self.description.training):
            key = f'"training"[{i}]'
            img = self._path(entry['image'], key + '.image')
            if not isinstance(entry.get('label'), str):
                raise DataError(f'{self.description.path}: {key} has no '
                                '"label"; training entries need one')
            label = self._path(entry['label'], key + '.label')
            cases.append((self._case_id(img), (img, ), label, key))
        if self.use_test_images:
            for i, rel in enumerate(self.description.test):
                img = self._path(rel, f'"test"[{i}]')
                cases.append((self._case_id(img), (img, ), None, 'test'))
        if not self.description.training:
            raise DataError(f'{self.description.path}: "training" is empty; '
                            'list the labelled cases there')
        return self._records(cases)


def dataset_channels(dataset_cfg: Mapping[str, Any]) -> Optional[int]:
    """Image channels a dataset config yields (None when unknown)."""
    kind = dataset_cfg.get('type')
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    if not isinstance(cls, type) or not issubclass(cls, VolumeSegDataset):
        return None
    if issubclass(cls, _NiftiFolderDataset):
        root = dataset_cfg.get('data_root')
        if not root or not os.path.isfile(_dataset_json_path(root)):
            return None
        return cls.channels_of(root)
    return 1


def dataset_metainfo(dataset_cfg: Mapping[str, Any]) -> Optional[dict]:
    """``classes`` and ``palette`` of an nnU-Net / MSD dataset config, read
    from its dataset.json (None for other data sets or when the file is not
    on this machine)."""
    kind = dataset_cfg.get('type')
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    if not isinstance(cls, type) or not issubclass(cls, _NiftiFolderDataset):
        return None
    root = dataset_cfg.get('data_root')
    if not root or not os.path.isfile(_dataset_json_path(root)):
        return None
    classes = read_dataset_json(root).classes
    meta = dict(classes=classes, palette=default_palette(len(classes)))
    meta.update(dataset_cfg.get('metainfo') or {})
    return meta
