"""What the benchmarks share about running `w2vcache serve`."""
import re
import subprocess


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
