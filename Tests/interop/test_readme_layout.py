"""The README's layout table is the module graph: every target of Package.swift has a row, and each row's imports
are exactly the target's dependencies (SwiftPM's own reading of the manifest, `swift package dump-package`)."""
import json
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def package_graph():
    """{target: (internal dependencies, external packages)} for the targets under Sources/."""
    dump = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=REPO, check=True,
                                     capture_output=True, text=True).stdout)
    graph = {}
    for target in dump["targets"]:
        if target["type"] not in ("regular", "executable", "system") or target.get("path", "").startswith("Tests"):
            continue
        internal, external = set(), set()
        for dependency in target["dependencies"]:
            (kind, value), = dependency.items()
            if kind == "product":
                external.add(value[1].lower())
            else:
                internal.add(value[0])
        graph[target["name"]] = (internal, external)
    return graph


def readme_table():
    """{module: (modules named as imports, other words of the imports cell)} from the README's module table."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("| module (`Sources/…`) | owns | imports |"):]
    rows = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        imports = cells[-1]
        named = set(re.findall(r"`([^`]+)`", imports))
        plain = {word.lower() for word in re.sub(r"`[^`]+`", "", imports).replace(",", " ").split()} - {"–"}
        for module in re.findall(r"`([^`]+)`", cells[0]):
            rows[module] = (named, plain)
    return rows


def test_every_target_has_a_row_and_the_rows_name_no_other_module():
    graph, table = package_graph(), readme_table()
    assert "TestSupport" not in graph
    assert set(table) == set(graph), f"README only: {set(table) - set(graph)}; Package.swift only: {set(graph) - set(table)}"


def test_each_rows_imports_are_the_targets_dependencies():
    graph, table = package_graph(), readme_table()
    for module, (internal, external) in graph.items():
        named, plain = table[module]
        assert named == internal, f"{module}: README names {sorted(named)}, Package.swift has {sorted(internal)}"
        assert plain == external, f"{module}: README names packages {sorted(plain)}, Package.swift has {sorted(external)}"
