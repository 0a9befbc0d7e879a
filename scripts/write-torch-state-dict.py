#!/usr/bin/env python3
"""Writes a random TarFlow state dict in the format of torch.save(model.state_dict()), without torch.

For benchmarks and tests of `tarflow import` at the paper's sizes when no trained .pth is at hand:
the zip layout (archive/data.pkl, one stored entry per storage under archive/data/, byteorder,
version) and the pickle (an OrderedDict of torch._utils._rebuild_tensor_v2 calls on persistent
FloatStorage references) are those of PyTorch's own writer; parameter names and shapes are the
reference model's. Values are N(0, 0.02^2) (layer-norm weights 1), written storage by storage.

  scripts/write-torch-state-dict.py OUT.pth --image-size 256 --channels 3 --patch 8 --width 768 \
      --blocks 8 --layers 8 --classes 3           # the AFHQ-256 configuration (1.9 GB)
"""
import argparse
import collections
import pickle
import sys
import types
import zipfile

import numpy as np

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")


class FloatStorage:
    pass


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called: only pickled")


FloatStorage.__module__ = "torch"
_rebuild_tensor_v2.__module__ = "torch._utils"
torch.FloatStorage = FloatStorage
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


class StorageRef:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class TensorRef:
    def __init__(self, key, shape):
        self.key, self.shape = key, tuple(shape)

    def __reduce__(self):
        numel = int(np.prod(self.shape)) if self.shape else 1
        stride, s = [], 1
        for d in reversed(self.shape):
            stride.insert(0, s)
            s *= d
        return (_rebuild_tensor_v2,
                (StorageRef(self.key, numel), 0, self.shape, tuple(stride), False, collections.OrderedDict()))


class StatePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def shapes(a):
    tokens = (a.image_size // a.patch) ** 2
    d = a.channels * a.patch * a.patch
    w = a.width
    out = collections.OrderedDict()
    for b in range(a.blocks):
        p = f"blocks.{b}."
        out[p + "proj_in.weight"] = (w, d)
        out[p + "proj_in.bias"] = (w,)
        out[p + "pos_embed"] = (tokens, w)
        if a.classes > 0:
            out[p + "class_embed"] = (a.classes, 1, w)
        for l in range(a.layers):
            q = f"{p}attn_blocks.{l}."
            out[q + "attention.norm.weight"] = (w,)
            out[q + "attention.norm.bias"] = (w,)
            out[q + "attention.qkv.weight"] = (3 * w, w)
            out[q + "attention.qkv.bias"] = (3 * w,)
            out[q + "attention.proj.weight"] = (w, w)
            out[q + "attention.proj.bias"] = (w,)
            out[q + "mlp.norm.weight"] = (w,)
            out[q + "mlp.norm.bias"] = (w,)
            out[q + "mlp.main.0.weight"] = (4 * w, w)
            out[q + "mlp.main.0.bias"] = (4 * w,)
            out[q + "mlp.main.2.weight"] = (w, 4 * w)
            out[q + "mlp.main.2.bias"] = (w,)
        out[p + "proj_out.weight"] = (2 * d, w)
        out[p + "proj_out.bias"] = (2 * d,)
        out[p + "attn_mask"] = (tokens, tokens)
    out["var"] = (tokens, d)
    return out


def values(name, shape, rng):
    if name.endswith("attn_mask"):
        return np.tril(np.ones(shape, dtype=np.float32))
    if name == "var" or name.endswith("norm.weight"):
        return np.ones(shape, dtype=np.float32)
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    for flag, default in [("image-size", 256), ("channels", 3), ("patch", 8), ("width", 768), ("blocks", 8),
                          ("layers", 8), ("classes", 3), ("seed", 0)]:
        ap.add_argument("--" + flag, type=int, default=default)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    archive = "archive/"
    layout = shapes(a)
    state = collections.OrderedDict((name, TensorRef(str(i), shape)) for i, (name, shape) in enumerate(layout.items()))
    with zipfile.ZipFile(a.out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        import io
        buf = io.BytesIO()
        StatePickler(buf, protocol=2).dump(state)
        z.writestr(archive + "data.pkl", buf.getvalue())
        z.writestr(archive + "byteorder", "little")
        for i, (name, shape) in enumerate(layout.items()):
            with z.open(archive + f"data/{i}", "w", force_zip64=True) as f:
                f.write(values(name, shape, rng).astype("<f4").tobytes())
        z.writestr(archive + "version", "3\n")
    total = sum(int(np.prod(s)) for n, s in layout.items() if not n.endswith("attn_mask"))
    print(f"wrote {a.out}: {len(layout)} tensors, {total} parameters and buffers besides the masks")


if __name__ == "__main__":
    main()
