"""Binary output and a terminal: `lookup --format npy` and `batches --format raw|npz` refuse to write to one (as gzip
refuses to write compressed data to one), since the bytes would reach it as control sequences; to a pipe they write."""
import os
import pty
import select
import subprocess

import pytest

from conftest import REPO, run

TRAIN = "".join(f"w{i} NN\n" for i in range(40))


@pytest.fixture(scope="module")
def workspace(w2vcache, tmp_path_factory):
    directory = tmp_path_factory.mktemp("terminal")
    run(w2vcache, "build", "--vectors", REPO / "data" / "sample-vectors.bin.gz", "--db", directory / "db")
    (directory / "train.txt").write_text(TRAIN)
    run(w2vcache, "prepare", "pos", "--train", directory / "train.txt", "--test", directory / "train.txt",
        "--db", directory / "db", "--out", directory)
    return directory


@pytest.mark.parametrize("arguments, output", [
    (["lookup", "king", "--format", "npy"], "a .npy file"),
    (["batches", "pos", "--format", "raw"], "framed raw batches"),
    (["batches", "pos", "--format", "npz"], "framed npz batches"),
])
def test_binary_output_is_refused_on_a_terminal_and_written_to_a_pipe(w2vcache, workspace, arguments, output):
    command = [str(w2vcache), *arguments, "--db", str(workspace / "db")]
    terminal, stdout = pty.openpty()
    try:
        # Nothing reads the terminal: a command that writes more than it holds would wait for ever, hence the timeout.
        result = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=workspace, timeout=60)
        assert result.returncode == 1, result.stderr
        assert f"not writing {output} to a terminal" in result.stderr
        # (While the terminal's other end is open: once it closes, the terminal reads as hung up.)
        assert select.select([terminal], [], [], 0)[0] == [], "something was written to the terminal"
    finally:
        os.close(stdout)
        os.close(terminal)
    piped = subprocess.run(command, capture_output=True, cwd=workspace)
    assert piped.returncode == 0 and len(piped.stdout) > 100, piped.stderr
