"""The reference trainers in examples/ against a real server: the tagger trains and says its rate and accuracy;
examples/ddp_tagger.py under torchrun has two gloo ranks read disjoint, equal shares of the served epochs, each epoch
in its own order through persistent workers."""
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def test_the_tagger_trains_and_reports_its_rate_and_accuracy(server):
    pytest.importorskip("torch", reason="torch is not installed (optional; pip install torch to run the examples)")
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "pos_tagger.py"), "--url", server.url, "--steps", "7",
         "--batch-size", "4", "--device", "cpu"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # 10 windows in batches of 4: the 7 steps cross into a third epoch.
    assert re.search(r"^7 steps in [0-9.]+ s: [1-9][0-9,]* windows/s on cpu$", result.stdout, re.M), result.stdout
    assert re.search(r"^test accuracy: [01]\.[0-9]{4} over [1-9][0-9]* windows$", result.stdout, re.M), result.stdout


def test_ddp_tagger_runs_on_two_ranks(server):
    pytest.importorskip("torch", reason="torch is not installed (optional; pip install torch to run the DDP example)")
    torchrun = shutil.which("torchrun") or pytest.skip("torchrun is not on PATH")
    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", str(REPO / "examples" / "ddp_tagger.py"), "--url", server.url,
         "--batch-size", "2", "--epochs", "2", "--workers", "2"],
        capture_output=True, text=True, timeout=300)
    # What a rank printed before it failed comes before torchrun's summary: show both.
    assert result.returncode == 0, result.stderr[:3000] + "\n...\n" + result.stderr[-1500:]
    # 10 windows in batches of 2: 5 batches, 2 per rank, 1 left out (the last of each epoch's order).
    assert "epoch 0: batches per rank [2, 2]" in result.stdout
    assert "epoch 1: batches per rank [2, 2]" in result.stdout
    assert result.stdout.count("distinct shares True") == 2
    # The loader's persistent workers followed set_epoch: epoch 1 is not epoch 0 again.
    assert result.stdout.count("a new order True") == 2
    assert "test accuracy" in result.stdout
