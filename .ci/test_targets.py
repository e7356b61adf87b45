#!/usr/bin/env python3
"""Prints the ninja targets the named tests of a meson build directory need: each test's own
program and every target it declares it depends on (test(..., depends: [...])).

  test_targets.py BUILDDIR TEST...
"""
import json
import os
import subprocess
import sys

build, wanted = sys.argv[1], set(sys.argv[2:])


def introspect(what):
    return json.loads(subprocess.run(["meson", "introspect", build, what], check=True,
                                     capture_output=True, text=True).stdout)


files_of = {t["id"]: t["filename"] for t in introspect("--targets")}
by_path = {path: path for paths in files_of.values() for path in paths}
build_dir = os.path.abspath(build)
targets = set()
found = set()
for test in introspect("--tests"):
    if test["name"] not in wanted:
        continue
    found.add(test["name"])
    paths = [p for dep in test["depends"] for p in files_of.get(dep, [])]
    paths += [p for p in test["cmd"] if p in by_path]  # the test's own program
    targets.update(os.path.relpath(p, build_dir) for p in paths)
missing = wanted - found
if missing:
    sys.exit(f"test_targets.py: no such tests in {build}: {', '.join(sorted(missing))}")
print("\n".join(sorted(targets)))
