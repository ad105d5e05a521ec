"""The HW3 report: the seed homework's questions answered with glassgrad, written as files.

The seed's own code and data live in ``report/seed/`` (``examples/`` links to them), so an
installed glassgrad can run the homework; ``seed_path`` finds them.
"""

from pathlib import Path


def seed_path(name):
    """The path of one of the seed's files, e.g. ``seed_path("q4.toml")``."""
    path = Path(__file__).resolve().parent / "seed" / name
    if not path.is_file():
        raise FileNotFoundError(f"no seed file {name!r}")
    return path
