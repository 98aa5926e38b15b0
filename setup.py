"""Install mmdet_dynmoe.

Most users run ``make test`` / ``make demo`` (see README), which build the
whole stack into .venv. In an existing MMDetection 3.x environment
(mmcv 2.0-2.1, mmengine, mmdet 3.x already installed) use::

    pip install --no-build-isolation -e .

Configs and tools are also placed in ``mmdet_dynmoe/.mim/`` (symlinks for an
editable install, copies for a wheel/sdist) so ``mim train mmdet_dynmoe`` finds
them, the way mmdet ships its own.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools')


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mmdet_dynmoe', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def add_mim_extension() -> None:
    """Link (editable) or copy (build) configs/ and tools/ into the package."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(
            cmd in sys.argv
            for cmd in ('sdist', 'bdist_wheel', 'build', 'install')):
        mode = 'copy'
    else:
        return
    mim_dir = osp.join(HERE, 'mmdet_dynmoe', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_dir, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        else:
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns('__pycache__'))


def read_requirements(name: str) -> list:
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith('#')
        ]


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmdet_dynmoe',
        version=read_version(),
        description='Dynamic object detection for MMDetection 3.x: MoE '
        'engine, Dynamic-DINO, HI-MoE, DynamicDet and DAMEX',
        long_description=open(osp.join(HERE, 'README.md')).read(),
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        packages=find_packages(
            exclude=('tests', 'tests.*', 'configs', 'tools')),
        include_package_data=True,
        package_data={'mmdet_dynmoe': ['.mim/**/*']},
        # torch and mmcv are not listed: an unpinned torch pulls a CUDA build
        # and mmcv must be built against the torch already installed (see
        # tools/install.sh).
        install_requires=[
            'mmengine>=0.10.0,<1.0.0', 'mmdet>=3.3.0,<3.4.0', 'pycocotools',
            'numpy', 'pillow'
        ],
        extras_require=dict(
            tests=read_requirements('tests.txt'),
            lvis=['lvis'],
            multimodal=['transformers>=4.30,<5']),
        zip_safe=False)
