"""Runs an exported policy with ONNX Runtime for tests/export.rs.

usage: export_ort.py MODEL OBS_BIN OUT_DIR [STEPS]

OBS_BIN holds float32 rows (little-endian) of the model input's width. Writes to OUT_DIR:
  b4096_<output>.bin  every output, the rows run in batches of 4096 (the last one shorter)
  b1_actions.bin      `actions`, every row run alone (batch 1)
  info.json           opset, IR version, input/output names and shapes, metadata_props

With STEPS (a recurrent or image policy), OBS_BIN holds STEPS batches of observations of the
`obs` input's element type (float32 or uint8), one batch per step; the graph runs once per step
from zero states, each step's `*_out` states fed to the next step's `*_in`, and writes
  seq_<output>.bin    every output that is not a state, the steps one after another
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort


def main():
    model_path, obs_path, out_dir = sys.argv[1:4]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    if len(sys.argv) > 4:
        run_steps(session, obs_path, out_dir, int(sys.argv[4]))
    else:
        run_rows(session, obs_path, out_dir)
    write_info(session, model_path, out_dir)


def run_steps(session, obs_path, out_dir, steps):
    """One run per step, carrying the recurrent states (`<name>_in` ← the last `<name>_out`)."""
    inp, *state_inputs = session.get_inputs()
    dtype = "u1" if inp.type == "tensor(uint8)" else "<f4"
    obs = np.fromfile(obs_path, dtype=dtype).reshape([steps, -1] + list(inp.shape[1:]))
    batch = obs.shape[1]
    states = {s.name: np.zeros([batch if isinstance(d, str) else d for d in s.shape], "f4") for s in state_inputs}
    names = [o.name for o in session.get_outputs()]
    outputs = {name: [] for name in names if not name.endswith("_out")}
    for t in range(steps):
        result = dict(zip(names, session.run(names, {inp.name: obs[t], **states})))
        for name in outputs:
            outputs[name].append(result[name])
        states = {name: result[name[: -len("_in")] + "_out"] for name in states}
    for name, rows in outputs.items():
        np.concatenate(rows).astype("<f4").tofile(os.path.join(out_dir, f"seq_{name}.bin"))


def run_rows(session, obs_path, out_dir):
    (inp,) = session.get_inputs()
    width = int(np.prod(inp.shape[1:]))
    obs = np.fromfile(obs_path, dtype="<f4").reshape([-1] + list(inp.shape[1:]))
    assert obs.shape[0] * width * 4 == os.path.getsize(obs_path)
    names = [o.name for o in session.get_outputs()]

    chunks = [session.run(names, {inp.name: obs[i : i + 4096]}) for i in range(0, len(obs), 4096)]
    for k, name in enumerate(names):
        np.concatenate([c[k] for c in chunks]).astype("<f4").tofile(os.path.join(out_dir, f"b4096_{name}.bin"))
    single = [session.run(["actions"], {inp.name: obs[i : i + 1]})[0] for i in range(len(obs))]
    np.concatenate(single).astype("<f4").tofile(os.path.join(out_dir, "b1_actions.bin"))


def write_info(session, model_path, out_dir):
    meta = session.get_modelmeta()

    info = {
        "inputs": [[i.name, [d if isinstance(d, int) else str(d) for d in i.shape]] for i in session.get_inputs()],
        "outputs": [[o.name, [d if isinstance(d, int) else str(d) for d in o.shape]] for o in session.get_outputs()],
        "producer": meta.producer_name,
        "metadata": meta.custom_metadata_map,
        "opset": read_opset(model_path),
    }
    with open(os.path.join(out_dir, "info.json"), "w") as f:
        json.dump(info, f)


def read_opset(path):
    """The default-domain opset from the ModelProto (field 8), read with a minimal protobuf walk."""
    data = open(path, "rb").read()

    def varint(buf, at):
        shift = value = 0
        while True:
            b = buf[at]
            at += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value, at
            shift += 7

    def fields(buf):
        at = 0
        while at < len(buf):
            key, at = varint(buf, at)
            wire = key & 7
            if wire == 0:
                v, at = varint(buf, at)
            elif wire == 2:
                n, at = varint(buf, at)
                v, at = buf[at : at + n], at + n
            elif wire == 5:
                v, at = buf[at : at + 4], at + 4
            elif wire == 1:
                v, at = buf[at : at + 8], at + 8
            else:
                raise ValueError(wire)
            yield key >> 3, v

    for field, value in fields(data):
        if field == 8:
            entry = dict(fields(value))
            if entry.get(1, b"") == b"":
                return entry[2]
    return None


if __name__ == "__main__":
    main()
