#!/usr/bin/env python3
"""The ONNX node conformance table for docs/ONNX.md, from onnx_conformance_tests.

onnx_conformance_tests (tests/onnx/conformance_test.cpp) runs ONNX's own node test cases (Debian's
libonnx-testdata) of the ops CAGR claims; with CAGR_CONFORMANCE_REPORT=path it writes a markdown
report whose "Cases" table has one row per case it ran. This script reads that table (from a report
given with --report, or by running the binary given with --binary) and prints the per-op table,
optionally the failures grouped by message, or puts the table into a document between the lines
<!-- onnx-conformance-table:begin --> and <!-- onnx-conformance-table:end -->.

    python3 tools/onnx_conformance_table.py --binary build/tests/onnx/onnx_conformance_tests
    python3 tools/onnx_conformance_table.py --report report.md --groups
    python3 tools/onnx_conformance_table.py --binary build/tests/onnx/onnx_conformance_tests --update docs/ONNX.md
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

BEGIN = "<!-- onnx-conformance-table:begin -->"
END = "<!-- onnx-conformance-table:end -->"


def cells(line):
    """The cells of a markdown table row (cells escape '|' as '\\|')."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [p.strip().replace("\\|", "|") for p in parts[1:-1]]


def read_cases(text):
    """[(case, op, result, message)] from the report's "Cases" table."""
    rows, in_cases = [], False
    for line in text.splitlines():
        if line.startswith("### "):
            in_cases = line.strip() == "### Cases"
            continue
        if not in_cases or not line.startswith("|"):
            continue
        c = cells(line)
        if len(c) != 4 or c[0] == "case" or set(c[0]) <= set("-:"):
            continue
        rows.append(tuple(c))
    return rows


def read_op_order(text):
    """The ops in the order of the report's per-op table (the order of kClaimedOps)."""
    order = []
    for line in text.splitlines():
        if line.startswith("### "):
            break
        if line.startswith("|"):
            c = cells(line)
            if len(c) == 5 and c[0] not in ("op", "**total**") and not set(c[0]) <= set("-:"):
                order.append(c[0])
    return order


def op_table(rows, order):
    counts = collections.OrderedDict((op, collections.Counter()) for op in order)
    for _, op, result, _ in rows:
        counts.setdefault(op, collections.Counter())[result] += 1
    total = collections.Counter()
    out = ["| op | cases | passed | skipped | failed |", "|---|---:|---:|---:|---:|"]
    for op, c in counts.items():
        n = sum(c.values())
        if not n:
            continue
        total.update(c)
        out.append(f"| {op} | {n} | {c['passed']} | {c['skipped']} | {c['failed']} |")
    out.append(f"| **total** | {sum(total.values())} | {total['passed']} | {total['skipped']} | {total['failed']} |")
    return "\n".join(out)


def groups_table(rows, width):
    groups = collections.OrderedDict()
    for case, op, result, message in rows:
        if result != "failed":
            continue
        g = groups.setdefault(message[:width], [0, set(), []])
        g[0] += 1
        g[1].add(op)
        g[2].append(case)
    out = ["| cases | ops | message |", "|---:|---|---|"]
    for message, (n, ops, _) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        out.append(f"| {n} | {', '.join(sorted(ops))} | `{message.replace('|', chr(92) + '|')}` |")
    return "\n".join(out)


def run_binary(binary, extra):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.md")
        env = dict(os.environ, CAGR_CONFORMANCE_REPORT=report)
        # Failing cases make the binary exit 1: the report is written either way.
        proc = subprocess.run([binary, "--gtest_filter=Onnx/*", "--gtest_brief=1"] + extra, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not os.path.exists(report):
            sys.stderr.write(proc.stdout[-4000:])
            sys.exit(f"{binary} wrote no report (exit status {proc.returncode})")
        with open(report) as f:
            return f.read()


def update(doc, table):
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        sys.exit(f"{doc}: add the lines {BEGIN} and {END} where the table goes")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(doc, "w") as f:
        f.write(head + BEGIN + "\n" + table + "\n" + END + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--report", help="a report written by onnx_conformance_tests (CAGR_CONFORMANCE_REPORT)")
    src.add_argument("--binary", help="the onnx_conformance_tests binary: run it and read its report")
    ap.add_argument("--gtest-arg", action="append", default=[], help="extra argument for the binary (repeatable)")
    ap.add_argument("--groups", action="store_true", help="also print the failures grouped by message")
    ap.add_argument("--width", type=int, default=80, help="characters of a message that make its group (80)")
    ap.add_argument("--update", metavar="DOC", help="put the table into DOC between the marker lines")
    args = ap.parse_args()

    if args.report:
        with open(args.report) as f:
            text = f.read()
    else:
        text = run_binary(args.binary, args.gtest_arg)
    rows = read_cases(text)
    if not rows:
        sys.exit("the report lists no cases")
    table = op_table(rows, read_op_order(text))
    if args.update:
        update(args.update, table)
    print(table)
    if args.groups:
        print()
        print(groups_table(rows, args.width))


if __name__ == "__main__":
    main()
