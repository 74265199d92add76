"""What the benchmarks share about the w2vcache they measure and running `w2vcache serve`."""
import os
import pathlib
import re
import subprocess

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


def start_server(binary, db, *options):
    """A new `w2vcache serve` of `db` on a free port (with `options`, e.g. "--config", path), and its URL once it
    prints it. Its stderr stays a pipe that nobody reads after that line: at its default level the server logs only
    failed requests there."""
    server = subprocess.Popen([binary, "serve", "--db", str(db), "--port", "0", *map(str, options)],
                              stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        match = re.search(r"on (http://\S+)", line)
        if match:
            return server, match.group(1)
    raise SystemExit(f"w2vcache serve exited with status {server.wait()} before it printed its address")
