"""Shared fixtures for the Python interop tests: the w2vcache binary and the third-party data in ../shared."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def w2vcache():
    """Path of the built w2vcache executable (W2VCACHE_BIN, else the debug build)."""
    path = pathlib.Path(os.environ.get("W2VCACHE_BIN", REPO / ".build" / "debug" / "w2vcache"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run `swift build` first (scripts/test does)")
    return path


@pytest.fixture(scope="session")
def shared_data():
    """The third-party data directory; tests skip with a clear message where ../shared is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party data not found at {SHARED_DATA} (../shared is absent on this machine)")
    return SHARED_DATA


def run(*args, check=True, **kwargs):
    """Runs a command and returns the completed process, with its output as text."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}): {result.stderr}")
    return result
