#!/usr/bin/env python3
"""Fails the build when a source folder includes a folder it does not depend on.

Run by the build (CMakeLists.txt, target nidan_layers) before anything is compiled, with the
project's root and the layers file CMake writes: one line per folder,
"dir|allowed dir,allowed dir,...|source,source,..." from each nidan_module() call. Checks:
  - every #include "core/...", "server/..." or "storage/..." of a file in a folder names an
    existing file in that folder or in one of its DEPENDS;
  - every .cpp file of a folder is in that folder's SOURCES (a file left out is never built);
  - no file outside storage/lmdb includes <lmdb.h>, none outside storage/postgres <libpq-fe.h>,
    none in core/ includes Asio or Beast (core/ never sees a socket).
Prints one line per problem ("file:line: ...") and exits 1 when there is any.
"""
import os
import re
import sys

INCLUDE = re.compile(r'\s*#\s*include\s*([<"])([^>"]+)[>"]')
PROJECT_DIRS = ("core/", "server/", "storage/")
# Outside headers only some folders may use.
RESTRICTED = [
    ("lmdb.h", lambda d: d == "storage/lmdb", "only storage/lmdb talks to LMDB"),
    ("libpq-fe.h", lambda d: d == "storage/postgres", "only storage/postgres talks to libpq"),
    ("boost/asio", lambda d: not d.startswith("core"), "core/ never sees sockets or Asio"),
    ("boost/beast", lambda d: not d.startswith("core"), "core/ never sees HTTP transport"),
]
# Files of a folder that belong to an executable rather than to the folder's library.
EXECUTABLE_SOURCES = {"server/cli/main.cpp"}


def read_layers(path):
    layers = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            folder, deps, sources = line.split("|")
            layers[folder] = (set(filter(None, deps.split(","))), set(filter(None, sources.split(","))))
    return layers


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_layers.py PROJECT_ROOT LAYERS_FILE")
    root, layers_file = sys.argv[1], sys.argv[2]
    layers = read_layers(layers_file)
    problems = []
    for folder, (deps, sources) in sorted(layers.items()):
        path = os.path.join(root, folder)
        for name in sorted(os.listdir(path)):
            if not name.endswith((".cpp", ".hpp")):
                continue
            rel = f"{folder}/{name}"
            if name.endswith(".cpp") and rel not in sources and rel not in EXECUTABLE_SOURCES:
                problems.append(f"{rel}: not in the SOURCES of {folder} (CMakeLists.txt), so never built")
            with open(os.path.join(path, name), encoding="utf-8") as f:
                for number, text in enumerate(f, 1):
                    m = INCLUDE.match(text)
                    if not m:
                        continue
                    included = m.group(2)
                    where = f"{rel}:{number}"
                    for prefix, allowed, why in RESTRICTED:
                        if included.startswith(prefix) and not allowed(folder):
                            problems.append(f"{where}: includes <{included}>: {why}")
                    if m.group(1) != '"' or not included.startswith(PROJECT_DIRS):
                        continue
                    if not os.path.isfile(os.path.join(root, included)):
                        problems.append(f"{where}: includes {included}, which does not exist")
                        continue
                    target = os.path.dirname(included)
                    if target != folder and target not in deps:
                        allowed = ", ".join(sorted(deps)) or "nothing else"
                        problems.append(f"{where}: includes {included}, but {folder} depends only on "
                                        f"{allowed} (DEPENDS of its nidan_module in CMakeLists.txt)")
    for source in sorted(s for _, (_, srcs) in layers.items() for s in srcs):
        if not os.path.isfile(os.path.join(root, source)):
            problems.append(f"{source}: listed in SOURCES but missing")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check_layers: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
