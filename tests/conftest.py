"""Test-session settings: which plugins load, and where the released PISA files are."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Only the project's own plugin distributions load in tests, whatever else is installed,
# plus the entry points named in PISA_TEST_PLUGINS (comma-separated): a plugin author runs
# the generated component tests on their own plugin that way.
_extra = [n.strip() for n in os.environ.get("PISA_TEST_PLUGINS", "").split(",") if n.strip()]
os.environ["PISA_PLUGINS"] = ",".join(["torchvision_video", "transformer_aggregator", "usdl", "core",
                                      "transcription"]
                                     + _extra)
os.environ.setdefault("MPLBACKEND", "Agg")
# what 'auto' cache and note-store folders resolve to (a component example's, say): a
# folder of this test run, never the user's ~/.cache
_test_cache = tempfile.mkdtemp(prefix="pisa-test-cache-")
atexit.register(shutil.rmtree, _test_cache, True)
os.environ.setdefault("PISA_CACHE_DIR", _test_cache)


def released_dir() -> Path:
    """Folder with the released PISA annotation files: ``PISA_RELEASED_DIR`` or ``../shared/pisa``."""
    return Path(os.environ.get("PISA_RELEASED_DIR", REPO.parent / "shared" / "pisa"))


@pytest.fixture
def released_pisa_dir() -> Path:
    folder = released_dir()
    names = [f"annotations_{s}_{p}.pkl" for s in ("unidist", "consecutive") for p in ("train", "test")]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        pytest.skip(f"released PISA annotation files not found in {folder} (set PISA_RELEASED_DIR): {missing}")
    return folder


#: the test modules that decode media through the selected backend: ``scripts/test.sh`` runs
#: them again with decord selected (``pytest -m media``; test_media_backends compares every
#: backend itself)
MEDIA_MODULES = ("test_io", "test_cache", "test_cache_fill", "test_bad_inputs",
                 "test_bad_media_training", "test_baselines", "test_mel_release", "test_samplers")


def pytest_configure(config):
    config.addinivalue_line("markers", "media: decodes media files (run again under each backend)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in MEDIA_MODULES:
            item.add_marker(pytest.mark.media)
