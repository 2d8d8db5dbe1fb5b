"""Package data: facts the framework ships (the PISA performance table)."""
from importlib import resources
from pathlib import Path


def resource_path(name: str) -> Path:
    """Path of a file shipped in ``pisa/resources``."""
    return Path(str(resources.files(__name__).joinpath(name)))
