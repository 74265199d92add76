"""What the benchmarks share about the w2vcache they measure and running `w2vcache serve`."""
import os
import pathlib
import re
import subprocess
import threading

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY_HELP = ("the w2vcache to measure (default: the dynamically linked release build, built first); "
               ".build/static/w2vcache (scripts/build-static) is the one the wheel, the container and scripts/demo "
               "install")


def w2vcache_binary(path=None):
    """The w2vcache to measure: `path` if given, else the dynamically linked release build, built first. Says which."""
    if path:
        binary = pathlib.Path(path).resolve()
        if not binary.is_file() or not os.access(binary, os.X_OK):
            raise SystemExit(f"{binary}: not an executable file")
    else:
        subprocess.run(["swift", "build", "-c", "release", "--product", "w2vcache"], cwd=REPO, check=True)
        binary = REPO / ".build" / "release" / "w2vcache"
    print(f"measuring {binary}", flush=True)
    return binary


def build_benchmarks(product=None):
    """Builds the `Benchmarks` package (its `product` only, if given) in release mode and returns its build folder.
    SwiftPM 6.3 keeps that package's build plan when a file is added to the root package, whose modules then miss it
    ("has no member"), so a failed build is planned again and retried once, as `scripts/fuzz` does."""
    command = ["swift", "build", "-c", "release", "--package-path", "Benchmarks"]
    command += ["--product", product] if product else []
    print(f"building {product or 'the Benchmarks package'} (release)", flush=True)
    if subprocess.run(command, cwd=REPO, capture_output=True).returncode != 0:
        print("the Benchmarks package did not build; planning it again", flush=True)
        for stale in ["Benchmarks/.build/release.yaml", "Benchmarks/.build/release/description.json"]:
            (REPO / stale).unlink(missing_ok=True)
        subprocess.run(command, cwd=REPO, check=True)
    return REPO / "Benchmarks" / ".build" / "release"


def start_server(binary, db, *options):
    """A new `w2vcache serve` of `db` on a free port (with `options`, e.g. "--config", path), and its URL once it
    prints it. Its stderr is then read to the end on a thread of its own and dropped (at its default level the server
    logs only failed requests there), so that a load of failing requests never fills the pipe and stalls the server."""
    server = subprocess.Popen([binary, "serve", "--db", str(db), "--port", "0", *map(str, options)],
                              stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        match = re.search(r"on (http://\S+)", line)
        if match:
            threading.Thread(target=_drain, args=(server.stderr,), daemon=True).start()
            return server, match.group(1)
    raise SystemExit(f"w2vcache serve exited with status {server.wait()} before it printed its address")


def _drain(lines):
    """Reads `lines` to the end, keeping none."""
    for _ in lines:
        pass
