#!/usr/bin/env python3
"""Library lines, the measure of issue 29's budget: non-blank, non-comment Rust lines in src/,
outside #[cfg(...test...)] items; src/model/schema/docs.rs (test-only) excluded.
Usage: tools/lib-lines.py [git-rev] [-v]   (default: the work tree; -v: per file)."""
import subprocess, sys
args = [a for a in sys.argv[1:] if a != "-v"]
rev = args[0] if args else None
def files():
    if rev:
        out = subprocess.check_output(["git", "ls-tree", "-r", "--name-only", rev, "src"], text=True)
    else:
        out = subprocess.check_output(["git", "ls-files", "src"], text=True)
    return [f for f in out.split() if f.endswith(".rs") and f != "src/model/schema/docs.rs"]
def read(f):
    if rev:
        return subprocess.check_output(["git", "show", f"{rev}:{f}"], text=True)
    return open(f).read()
def count(text):
    n = 0; in_block = False; skip_depth = None; pending_test = False; depth = 0
    for raw in text.splitlines():
        line = raw.strip()
        if in_block:
            if "*/" in line: in_block = False
            continue
        if not line or line.startswith("//"): continue
        if line.startswith("/*"):
            if "*/" not in line: in_block = True
            continue
        code = line.split("//")[0] if '"' not in line else line
        if skip_depth is not None:
            depth += code.count("{") - code.count("}")
            if depth <= skip_depth: skip_depth = None
            continue
        if line.startswith("#[cfg(") and "test" in line.split("]")[0] and "not(test" not in line.split("]")[0]:
            pending_test = True
            rest = line[line.index("]") + 1:].strip()
            if not rest: continue
            line = rest; code = rest
        if pending_test:
            if line.startswith("#["): continue
            pending_test = False
            opens = code.count("{") - code.count("}")
            if opens > 0:
                skip_depth = depth; depth += opens
            # one-line item (use/const ... ;) skipped entirely
            continue
        depth += code.count("{") - code.count("}")
        n += 1
    return n
tot = 0
per = {}
for f in files():
    c = count(read(f)); per[f] = c; tot += c
if "-v" in sys.argv:
    for f, c in sorted(per.items(), key=lambda x: x[1]): print(c, f)
print(tot)
