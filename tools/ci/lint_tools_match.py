"""Exit 0 when every ``name==version`` pin of a requirements file is installed.

``make lint`` runs it to decide whether to ``pip install -r`` the pinned lint
tools: another flake8 / isort / yapf version reports or formats differently,
so "importable" is not enough, and pip itself takes seconds to say "already
satisfied". Prints what is missing or different.

Usage: python tools/ci/lint_tools_match.py requirements/lint.txt
"""
import argparse
import sys
from importlib import metadata
from typing import List, Optional, Sequence


def mismatches(lines: Sequence[str]) -> List[str]:
    """One message per ``name==version`` pin whose installed version differs
    (or that is not installed); other lines and comments are skipped."""
    out = []
    for line in lines:
        pin = line.split('#')[0].strip()
        if '==' not in pin:
            continue
        name, wanted = (part.strip() for part in pin.split('==', 1))
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            out.append(f'{name}: not installed (want {wanted})')
            continue
        if found != wanted:
            out.append(f'{name}: {found} installed, want {wanted}')
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check the pins of the requirements file named in ``argv``.

    Imports nothing from ideal_mm: ``make lint`` runs before ideal_mm is
    installed, so a bad path is reported here, in one line, exit code 2.
    """
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        'requirements', help='a requirements file with name==version pins')
    args = parser.parse_args(argv)
    try:
        with open(args.requirements) as f:
            problems = mismatches(f.readlines())
    except OSError as err:
        print(
            f'error: cannot read {args.requirements}: {err.strerror}; pass '
            'the pinned lint requirements (requirements/lint.txt)',
            file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
