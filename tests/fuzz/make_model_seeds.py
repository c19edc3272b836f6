#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_model_files (tests/fuzz/corpus/model_files): small model.xml +
model.bin pairs as save_model writes them (CRC-32 per constant, weights_bytes), each packed as the
target reads its input: the xml's length in 4 little-endian bytes, the xml, then the bin."""
import os
import random
import struct
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "model_files")


class Model:
    def __init__(self, name):
        self.name, self.lines, self.bin = name, [], bytearray()

    def constant(self, name, shape, rng):
        self.bin += bytes(-len(self.bin) % 64)  # 64-byte aligned, as the writer does
        count = 1
        for d in shape:
            count *= d
        data = struct.pack("<%df" % count, *[rng.uniform(-1, 1) for _ in range(count)])
        self.lines.append('  <constant name="%s" dtype="f32" shape="%s" offset="%d" checksum="crc32:%08x"/>'
                          % (name, ",".join(map(str, shape)), len(self.bin), zlib.crc32(data)))
        self.bin += data
        return name

    def packed(self):
        xml = ('<model name="%s" format_version="1" weights="model.bin" weights_bytes="%d">\n%s\n</model>\n'
               % (self.name, len(self.bin), "\n".join(self.lines))).encode()
        return struct.pack("<I", len(xml)) + xml + bytes(self.bin)


def mlp(rng):
    m = Model("mlp")
    m.lines.append('  <input name="x" dtype="f32" shape="?,4"/>')
    m.constant("w0", [3, 4], rng), m.constant("b0", [3], rng), m.constant("w1", [1, 3], rng)
    m.lines.append('  <node name="fc0" op="linear" inputs="x,w0,b0" outputs="h">\n    <attr name="activation" string="relu"/>\n  </node>')
    m.lines.append('  <node name="fc1" op="linear" inputs="h,w1" outputs="y">\n    <attr name="activation" string="sigmoid"/>\n  </node>')
    m.lines.append('  <output name="y"/>')
    return m


def dlrm(rng):
    m = Model("dlrm")
    m.lines.append('  <input name="dense" dtype="f32" shape="?,2"/>')
    m.lines.append('  <input name="indices" dtype="i64" shape="?"/>')
    m.lines.append('  <input name="offsets" dtype="i64" shape="?"/>')
    m.constant("w", [4, 2], rng), m.constant("t0", [5, 4], rng), m.constant("t1", [3, 4], rng), m.constant("top", [1, 7], rng)
    m.lines.append('  <node name="bottom" op="linear" inputs="dense,w" outputs="d">\n    <attr name="activation" string="relu"/>\n  </node>')
    m.lines.append('  <node name="bags" op="embedding_bag" inputs="indices,offsets,t0,t1" outputs="e">\n    <attr name="mode" string="sum"/>\n  </node>')
    m.lines.append('  <node name="inter" op="dlrm_interaction" inputs="d,e" outputs="z">\n    <attr name="pad_to" int="1"/>\n  </node>')
    m.lines.append('  <node name="head" op="linear" inputs="z,top" outputs="p">\n    <attr name="activation" string="sigmoid"/>\n  </node>')
    m.lines.append('  <output name="p"/>')
    return m


def tensor_ops(rng):
    m = Model("tensor_ops")
    m.lines.append('  <input name="x" dtype="f32" shape="?,3,4"/>')
    m.lines.append('  <node name="t" op="transpose" inputs="x" outputs="xt">\n    <attr name="perm" ints="0,2,1"/>\n  </node>')
    m.lines.append('  <node name="r" op="reshape" inputs="xt" outputs="xr">\n    <attr name="shape" ints="0,-1"/>\n  </node>')
    m.lines.append('  <node name="s" op="softmax" inputs="xr" outputs="y">\n    <attr name="axis" int="-1"/>\n  </node>')
    m.lines.append('  <node name="sum" op="reduce" inputs="y" outputs="z">\n    <attr name="fn" string="sum"/>\n    <attr name="axes" ints="1"/>\n  </node>')
    m.lines.append('  <output name="z"/>')
    return m


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    rng = random.Random(2026)
    for make in (mlp, dlrm, tensor_ops):
        with open(os.path.join(HERE, make.__name__), "wb") as f:
            f.write(make(rng).packed())
