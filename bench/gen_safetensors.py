#!/usr/bin/env python3
"""bench/gen_safetensors.py: one version of a synthetic safetensors series
(issue 19, bench/dedup.sh).

    python3 bench/gen_safetensors.py --size BYTES --seed S --version N OUT

writes version N (1..6) to OUT (through OUT.tmp, renamed) and prints one
JSON line: {"version","size","header","changed","what"}.

The file is a real safetensors file: u64 little-endian header length, the
JSON header ("__metadata__" first, then each tensor's dtype, shape and
data_offsets relative to the data start, padded with spaces to 8 bytes as
the safetensors writer pads it), then the tensors back to back. 24 "layers"
of 8 F16 tensors each (q/k/v/o projections d x d, MLP up 4d x d and down
d x 4d, two norms of d), d chosen so the file is about BYTES.

Every tensor's bytes are SHAKE-128 of "p4reg-bench SEED GEN NAME" (GEN is
the generation the tensor was last rewritten in): random to any chunker or
compressor, never repeated between tensors, and the same on every machine
and Python version (SHAKE is a standard; random.Random's byte stream is not
promised across versions). A version is generated from the seed alone:
nothing is read back, each byte is written once.

  v1  the base
  v2  v1 with every tensor of 3 layers (5, 11, 17) rewritten
  v3  v1 with about 100 bytes more "__metadata__" (every data offset shifts)
  v4  v1 with one tensor appended (the header grows too)
  v5  v1 again, byte for byte
  v6  a full fine-tune: every tensor rewritten, v1's header

"changed" counts the bytes of the version that are in no earlier version
of the series at any offset: the rewritten tensors, and the whole header
when the header differs from v1's (v3, v4). It is what a perfect dedup
would have to store on top of v1 (v6 is information: nothing is shared).
"""
import argparse
import hashlib
import json
import os
import struct
import sys

LAYERS = 24
CHANGED_LAYERS = (5, 11, 17)
DTYPE_BYTES = 2  # F16


def dims(size):
    """d, a multiple of 8, so that 24 layers of 24 d^2 bytes are about SIZE."""
    d = int((size / (LAYERS * 12 * DTYPE_BYTES)) ** 0.5) // 8 * 8
    return max(d, 8)


def tensors(d):
    """(name, shape) of v1's tensors, in data order."""
    out = []
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", [d]),
            (p + "self_attn.q_proj.weight", [d, d]),
            (p + "self_attn.k_proj.weight", [d, d]),
            (p + "self_attn.v_proj.weight", [d, d]),
            (p + "self_attn.o_proj.weight", [d, d]),
            (p + "post_attention_layernorm.weight", [d]),
            (p + "mlp.up_proj.weight", [4 * d, d]),
            (p + "mlp.down_proj.weight", [d, 4 * d]),
        ]
    return out


def nbytes(shape):
    n = DTYPE_BYTES
    for s in shape:
        n *= s
    return n


def layer_of(name):
    parts = name.split(".")
    return int(parts[2]) if len(parts) > 2 and parts[1] == "layers" else -1


def plan(d, version):
    """metadata dict and [(name, shape, generation)] of VERSION."""
    meta = {"format": "pt", "producer": "p4reg bench/gen_safetensors.py"}
    ts = [(n, s, 1) for n, s in tensors(d)]
    if version == 2:
        ts = [(n, s, 2 if layer_of(n) in CHANGED_LAYERS else 1) for n, s, _ in ts]
    elif version == 3:
        # ,"note":"..." is 100 bytes
        meta["note"] = "header metadata edited, weights unchanged".ljust(90, ".")
    elif version == 4:
        ts.append(("lm_head.weight", [4 * d, d], 4))
    elif version == 6:
        ts = [(n, s, 6) for n, s, _ in ts]
    elif version not in (1, 5):
        raise SystemExit(f"gen_safetensors: no version {version} (1..6)")
    return meta, ts


def header(meta, ts):
    h = {"__metadata__": meta}
    off = 0
    for name, shape, _ in ts:
        n = nbytes(shape)
        h[name] = {"dtype": "F16", "shape": shape, "data_offsets": [off, off + n]}
        off += n
    text = json.dumps(h, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def main():
    ap = argparse.ArgumentParser(description="one version of a synthetic safetensors series")
    ap.add_argument("--size", type=int, required=True, help="about how many bytes v1 has")
    ap.add_argument("--seed", default="19")
    ap.add_argument("--version", type=int, required=True)
    ap.add_argument("out")
    a = ap.parse_args()

    d = dims(a.size)
    meta, ts = plan(d, a.version)
    head = header(meta, ts)
    head1 = header(*plan(d, 1))
    changed = 0 if head == head1 else len(head)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        for name, shape, gen in ts:
            if gen != 1:
                changed += nbytes(shape)
            f.write(hashlib.shake_128(f"p4reg-bench {a.seed} {gen} {name}".encode()).digest(nbytes(shape)))
        size = f.tell()
    os.replace(tmp, a.out)
    if a.version == 1:
        changed = size
    what = {1: "base", 2: "3 of 24 layers rewritten", 3: "+%d bytes of header metadata" % (len(head) - len(head1)),
            4: "one tensor appended", 5: "v1 again", 6: "full fine-tune: every weight"}[a.version]
    json.dump({"version": a.version, "size": size, "header": len(head), "changed": changed, "what": what}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
