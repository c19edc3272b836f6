#!/usr/bin/env python3
"""doc_examples.py DOC.md: runs every ```sh block of a document, in order, in one scratch folder (so
a later example may use what an earlier one wrote), with cagr-run, cagr-zoo and cagr-gen of this
build first on PATH. Each block runs under `bash -e -o pipefail`; the test fails on the first
block that fails, printing it and its output.

Environment: CAGR_RUN, CAGR_ZOO, CAGR_GEN (the programs).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def blocks(text):
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def main():
    doc = sys.argv[1]
    with open(doc) as f:
        found = blocks(f.read())
    if not found:
        sys.exit(f"{doc}: no ```sh blocks")
    tools = {os.path.dirname(os.path.abspath(os.environ[v])) for v in ("CAGR_RUN", "CAGR_ZOO", "CAGR_GEN")}
    env = dict(os.environ, PATH=os.pathsep.join(sorted(tools)) + os.pathsep + os.environ["PATH"])
    env.pop("CAGR_PLUGIN_PATH", None)
    work = tempfile.mkdtemp(prefix="cagr_doc_examples_")
    try:
        for i, block in enumerate(found, 1):
            p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=work, env=env, capture_output=True,
                               text=True, timeout=600)
            print(f"== example {i}/{len(found)}: exit {p.returncode}\n{block}", flush=True)
            if p.returncode != 0:
                print(f"-- stdout:\n{p.stdout}\n-- stderr:\n{p.stderr}")
                sys.exit(f"{doc}: example {i} failed")
        print(f"{doc}: all {len(found)} examples ran")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
