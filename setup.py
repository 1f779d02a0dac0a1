"""Install ideal_mm (``pip install -e .``; ``make install`` does it in .venv).

mmcv is not listed: full mmcv and mmcv-lite both install the ``mmcv`` package
and overwrite each other, so the Makefile installs mmcv-lite 2.1.0 unless an
mmcv is already importable (``make install-mmcv-full`` builds the compiled
one). torch is required but not pinned: users bring their own CUDA build.
"""
import os
from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """The requirement lines of ``requirements/<name>.txt`` (no comments)."""
    path = os.path.join(os.path.dirname(__file__), 'requirements', name)
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version() -> str:
    scope: dict = {}
    path = os.path.join(os.path.dirname(__file__), 'ideal_mm', 'version.py')
    with open(path) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='ideal_mm',
    version=read_version(),
    description=('IDEAL dense local contrastive pre-training and '
                 'bi-consistency semi-supervised segmentation for '
                 'mmsegmentation'),
    long_description=open('README.md').read()
    if os.path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['ideal_mm', 'ideal_mm.*']),
    package_data={'ideal_mm': ['datasets/splits/*.json']},
    python_requires='>=3.8',
    install_requires=[
        'torch>=2.1',
        'mmengine>=0.10.7,<1.0',
        'mmsegmentation>=1.2.0,<1.3',
        'nibabel>=4',
        'numpy>=1.22',
        'scipy>=1.8',
        'opencv-python>=4',
        'h5py>=3',
        'tqdm>=4',
        'matplotlib>=3.5',
        # imported by mmseg.utils at module level (CLIP tokenizer)
        'ftfy',
        'regex',
    ],
    extras_require={
        'tests': ['pytest>=7', 'medpy>=0.5'],
        # `make lint` installs these itself (requirements/lint.txt)
        'lint': read_requirements('lint.txt'),
    },
    license='Apache-2.0',
)
