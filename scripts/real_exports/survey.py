#!/usr/bin/env python3
"""Survey of the real-export fixtures (test/models/real-exports/manifest.json) with a moec build.

For every committed fixture: `moec FIXTURE -o EXE` (compiles?), `moec FIXTURE --stop-after=raise
--emit=mlir` (how many `moe.layer`), and, where it compiled, the executable on the reference
inputs against the onnxruntime outputs (matches? max |moec - ort| / max |ort| <= 1e-4, over what
onnxruntime specifies: not the rows of a present KV cache past a row's length).
Where moec refuses the model's opset, a probe compiles a copy whose default-domain opset is
relabelled to 17 (no conversion; only to show the next blocker, never counted as compiling).

Prints docs/real-exports.md (a markdown table and the failure causes) on stdout; --json writes
the raw results. Needs only numpy (and onnx for the opset probe), not the export toolchain:

  python3 scripts/real_exports/survey.py --moec build/bin/moec --json test/models/real-exports/survey.json > docs/real-exports.md

--check RESULTS.json is the test (test/e2e/real-exports-*.test): every fixture that compiled and
matched onnxruntime in RESULTS.json (the committed survey behind docs/real-exports.md) must
still compile and match, with at least as many moe.layer ops; it prints one line per fixture
and `N passed, M failed`, and fails on any regression. --shard I/N takes every Nth fixture.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "models" / "real-exports"
REL_TOL = 1e-4


def run(cmd, timeout):
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr, time.time() - t0
    except subprocess.TimeoutExpired:
        return 124, "", f"error: timed out after {timeout} s", time.time() - t0


def first_error(stderr: str, fixture: Path) -> str:
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    errs = [l for l in lines if "error" in l.lower()] or lines
    if not errs:
        return ""
    line = errs[0]
    # drop the program and file names: "moec: error: FILE: msg" -> "msg"
    line = re.sub(r"^(\S*moec:\s*)?error:\s*", "", line)
    for p in (str(fixture), fixture.name):
        if line.startswith(p + ":"):
            line = line[len(p) + 1:].strip()
    return line[:400]


def count_moe_layers(mlir: str) -> int:
    return len(re.findall(r"(?:^|[\s=])\"?moe\.layer\"?[\s(<{]", mlir, flags=re.M))


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    m = float(np.abs(b).max())
    d = float(np.abs(a - b).max())
    return d / m if m > 0 else d


def specified_part(name: str, value, ref_inputs):
    """What onnxruntime specifies of output `name`: a present KV cache ([B, N, rows, H]) holds
    row b's first T_b positions (T_b the sum of its attention_mask) and leaves the rows past
    them unspecified (a window-sized cache of onnxruntime-genai's builder, GroupQueryAttention
    with sliding_window_cache, holds its L(T_b) latest positions in rows [0, L(T_b)), and
    L(T) = T while T fits its capacity, as in every ref); other outputs are specified whole.
    Returns a boolean mask of `value`'s shape."""
    mask = ref_inputs.get("attention_mask")
    if not name.startswith("present") or mask is None or value.ndim != 4:
        return np.ones(value.shape, bool)
    lengths = np.asarray(mask).sum(axis=1)
    rows = np.arange(value.shape[2])[None, None, :, None] < lengths[:, None, None, None]
    return np.broadcast_to(rows, value.shape)


def out_file(name: str) -> str:
    s = "".join(c if (c.isascii() and (c.isalnum() or c in "-_.")) else "_" for c in name)
    if s.startswith("."):
        s = "_" + s[1:]
    return s + ".npy"


def relabel_opset(src: Path, dst: Path, version=17) -> bool:
    try:
        import onnx
    except ImportError:
        return False
    m = onnx.load(str(src))
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = version
    onnx.save(m, str(dst))
    return True


def survey_one(f, moec, work: Path, timeout):
    model = FIXTURES / f["file"]
    res = {"id": f["id"]}
    d = work / f["id"].replace("/", "__")
    d.mkdir(parents=True, exist_ok=True)
    exe = d / "exe"
    rc, out, err, secs = run([moec, str(model), "-o", str(exe)], timeout)
    res["compile_rc"] = rc
    res["compile_seconds"] = round(secs, 1)
    res["compiles"] = rc == 0 and exe.exists()
    if not res["compiles"]:
        res["compile_error"] = first_error(err, model) or f"exit {rc}"
    rc, out, err, _ = run([moec, str(model), "--stop-after=raise", "--emit=mlir", "--remarks", "-o",
                           str(d / "raise.mlir")], timeout)
    res["raise_rc"] = rc
    if rc == 0 and (d / "raise.mlir").exists():
        res["moe_layers"] = count_moe_layers((d / "raise.mlir").read_text(errors="replace"))
        remark = next((line for line in err.splitlines() if "remark:" in line and "not raised" in line), None)
        if remark:
            res["raise_remark"] = remark.split("remark:", 1)[1].strip()
    else:
        res["moe_layers"] = None
        res["raise_error"] = first_error(err, model) or f"exit {rc}"
    if res["compiles"]:
        worst = 0.0
        for i, ref in enumerate(f["refs"]):
            od = d / f"out{i}"
            cmd = [str(exe)]
            for n, p in ref["inputs"].items():
                cmd += ["--input", f"{n}={FIXTURES / p}"]
            cmd += ["--output-dir", str(od)]
            rc, out, err, _ = run(cmd, timeout)
            if rc != 0:
                res["run_error"] = first_error(err, model) or f"exit {rc}"
                worst = float("inf")
                break
            ref_inputs = {n: np.load(FIXTURES / p) for n, p in ref["inputs"].items()}
            for n, p in ref["ort"].items():
                got = od / out_file(n)
                if not got.exists():
                    res["run_error"] = f"no output {n}"
                    worst = float("inf")
                    break
                want, got = np.load(FIXTURES / p), np.load(got)
                if want.shape != got.shape:
                    worst = float("inf")
                    continue
                specified = specified_part(n, want, ref_inputs)
                worst = max(worst, rel(got[specified], want[specified]))
        res["moec_vs_ort_max_rel"] = worst
        res["matches"] = bool(worst <= REL_TOL)
    if not res["compiles"] and "opset" in res.get("compile_error", "") and "compiles opsets up to" in \
            res["compile_error"]:
        probe = d / "relabelled.onnx"
        if relabel_opset(model, probe):
            rc, out, err, _ = run([moec, str(probe), "-o", str(d / "exe-probe")], timeout)
            res["probe_opset17_compiles"] = rc == 0
            if rc != 0:
                res["probe_opset17_error"] = first_error(err, probe) or f"exit {rc}"
    shutil.rmtree(d, ignore_errors=True)
    return res


# ---------------------------------------------------------------------------------------------
# causes

def checkout_relative(text):
    """`text` with the checkout's absolute paths (the survey's, wherever it ran) relative to it."""
    return re.sub(r"\S*/(test/models/real-exports/)", r"\1", text) if text else text


def normalize(msg: str) -> str:
    """An error line with node names, numbers of nodes and paths taken out, so lines group by cause."""
    s = re.sub(r"node '[^']*'", "node", msg)
    s = re.sub(r"/tmp/\S+", "<file>", s)
    s = re.sub(r"\bnode_\w+", "node", s)
    s = re.sub(r"Name:'[^']*'", "Name:<node>", s)
    s = re.sub(r"u\d+\b", "u#", s)
    s = re.sub(r"s\d+\b", "s#", s)
    return s


_MODELS = {}


def node_form(f, msg: str) -> str | None:
    """For an error that names a node: where each of its inputs comes from (producer op, initializer,
    graph input), with the input names of the op's schema, e.g. 'data<-Gather, shape<-Concat'."""
    m = re.search(r"node '([^']*)' \((\w+)\)", msg or "")
    if not m or not f.get("file"):
        return None
    try:
        import onnx
        import onnx.defs
    except ImportError:
        return None
    path = FIXTURES / f["file"]
    if path not in _MODELS:
        _MODELS[path] = onnx.load(str(path))
    g = _MODELS[path].graph
    node = next((n for n in g.node if n.name == m.group(1)), None)
    if node is None:
        return None
    producers = {o: n.op_type for n in g.node for o in n.output}
    inits = {i.name for i in g.initializer}
    inputs = {i.name for i in g.input}
    try:
        names = [i.name for i in onnx.defs.get_schema(node.op_type, opset_of(f) or 17, node.domain).inputs]
    except Exception:
        names = []
    parts = []
    for i, x in enumerate(node.input):
        if not x:
            continue
        src = producers.get(x) or ("initializer" if x in inits else "graph input" if x in inputs else "?")
        parts.append(f"{names[i] if i < len(names) else i}<-{src}")
    attrs = [a.name for a in node.attribute]
    return ", ".join(parts) + (f"; attrs {', '.join(attrs)}" if attrs else "")


def cause_of(msg: str, f=None) -> tuple[str, str | None]:
    """(cause, op_type) for a moec error line."""
    m = re.search(r"uses opset (\d+) of the default ONNX domain; moec compiles opsets up to (\d+)", msg)
    if m:
        return f"opset {m.group(1)} refused (moec compiles opsets up to {m.group(2)})", None
    m = re.search(r"\((\w+)\): output (\d+) has type tensor<\*x(\w+)>; only ranked tensors", msg)
    if m:
        form = node_form(f, msg) if f is not None else None
        return (f"unranked result after ONNX 1.12 shape inference: {m.group(1)} (output {m.group(2)}, "
                f"{m.group(3)})" + (f" [{form}]" if form else "") + "; only ranked tensors compile"), m.group(1)
    m = re.search(r"op_type:(\w+)", msg) or re.search(r"\(([A-Za-z][\w.:]*)\)", msg)
    op = m.group(1) if m else None
    return normalize(msg), op


def opset_of(f):
    o = f.get("opset_imports") or {}
    return o.get("ai.onnx") or o.get("") or f.get("opset")


def exporter_label(f):
    return (f.get("exporter") or "—") + (" (+ones mask)" if f.get("workaround") else "")


def markdown(manifest, results):
    res = {r["id"]: r for r in results}
    fx = manifest["fixtures"]
    lines = []
    v = manifest.get("versions", {})
    lines.append("# Real exports: what moec compiles today\n")
    lines.append("Generated by `scripts/real_exports/survey.py` over `test/models/real-exports/manifest.json` "
                 "(fixtures from `scripts/real_exports/make_fixtures.py`: tiny random-weight models built from "
                 "transformers' config classes, one layer, hidden 32, 4 experts, top-2, vocab 128). Toolchain: "
                 + ", ".join(f"{k} {v[k]}" for k in sorted(v)) + ". Issues 14 and 15 work from this table.\n")
    ok = [f for f in fx if f["status"] == "ok"]
    comp = [f for f in ok if res.get(f["id"], {}).get("compiles")]
    match = [f for f in comp if res[f["id"]].get("matches")]
    raised = [f for f in ok if (res.get(f["id"], {}).get("moe_layers") or 0) > 0]
    lines.append("## Summary\n")
    lines.append(f"- export attempts: {len(fx)}; fixtures committed (export ran in onnxruntime and agreed with "
                 f"torch eager within {manifest.get('tolerance', {}).get('ort_vs_torch_max_rel', REL_TOL)} at two "
                 f"untraced sizes): **{len(ok)}**")
    by = collections.Counter(f["status"] for f in fx)
    lines.append("- export outcomes: " + ", ".join(f"{k} {by[k]}" for k in sorted(by)))
    lines.append(f"- with moec (this commit): **{len(comp)} compile**, **{len(match)} match** onnxruntime "
                 f"(<= {REL_TOL} relative), **{len(raised)} raise** at least one `moe.layer`\n")
    lines.append("Notes: `model-failed` entries are limits of the generator's tiny configs (a config that rejects "
                 "the small sizes, a hybrid layer list it cannot set, no MoE block found in layer 0), not of "
                 "transformers or the exporters. The `-onesmask` TorchScript variants pass an all-ones attention "
                 "mask inside the traced module, because TorchScript cannot export transformers' packed-sequence "
                 "check (`aten::diff`). TorchScript traces the `eager` experts loop over the experts that the "
                 "traced input hit, so those exports hold only where every size routes alike (onnxruntime fails "
                 "at a Split elsewhere); the committed ones passed at both reference sizes. onnxruntime-genai's "
                 "builder takes Qwen3.5-MoE only as `Qwen3_5MoeForConditionalGeneration` (the vision-language "
                 "checkpoint), not the text-only causal LM made here. transformers' exporter with onnxruntime's "
                 "`cuda` fusions writes `com.microsoft::MoE`, which onnxruntime's CPU kernel cannot run for "
                 "gated experts (\"FC3 is not implemented for CPU MoE\"), so those are not committed. "
                 "\"Match\" compares what onnxruntime specifies: of a present KV cache, each row's first T "
                 "positions (T the sum of its attention mask); onnxruntime leaves the rest unspecified and "
                 "writes arbitrary values there. For gpt-oss's window-sized cache (GroupQueryAttention with "
                 "`sliding_window_cache`, capacity C, window W) rows [0, L(T)) hold the L(T) latest "
                 "positions, L(T) = T up to C, then T - G * ceil((T - C) / G) with G = C - W + 1 "
                 "(onnxruntime's \"Windowed KV Cache\" contract); the refs are prompts shorter than C, where "
                 "L(T) = T. test/e2e/windowed-kv-cache.test checks the eviction past C.\n")
    lines.append("Per architecture (attempts; committed fixtures; of those, compile / match / raise):\n")
    lines.append("| architecture | attempts | fixtures | compile | match | raise | export failures |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for arch in sorted({f["arch"] for f in fx}):
        a = [f for f in fx if f["arch"] == arch]
        o = [f for f in a if f["status"] == "ok"]
        c = [f for f in o if res.get(f["id"], {}).get("compiles")]
        mt = [f for f in c if res[f["id"]].get("matches")]
        rz = [f for f in o if (res.get(f["id"], {}).get("moe_layers") or 0) > 0]
        bad = collections.Counter(f["status"] for f in a if f["status"] != "ok")
        lines.append(f"| {arch} | {len(a)} | {len(o)} | {len(c)} | {len(mt)} | {len(rz)} | "
                     f"{', '.join(f'{k} {n}' for k, n in sorted(bad.items()))} |")
    lines.append("")
    lines.append("Per exporter and experts implementation (attempts → committed fixtures → compile → "
                 "match → raise):\n")
    lines.append("| exporter | experts impl | attempts | fixtures | compile | match | raise |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    keys = sorted({(exporter_label(f), str(f.get("experts_impl"))) for f in fx if f["kind"] != "model"})
    for ex, im in keys:
        a = [f for f in fx if f["kind"] != "model" and (exporter_label(f), str(f.get("experts_impl"))) == (ex, im)]
        o = [f for f in a if f["status"] == "ok"]
        c = [f for f in o if res.get(f["id"], {}).get("compiles")]
        mt = [f for f in c if res[f["id"]].get("matches")]
        rz = [f for f in o if (res.get(f["id"], {}).get("moe_layers") or 0) > 0]
        lines.append(f"| {ex} | {im} | {len(a)} | {len(o)} | {len(c)} | {len(mt)} | {len(rz)} |")
    lines.append("")
    lines.append("Columns: *export* is the export's own outcome (ok: committed fixture); *compiles*: `moec F -o exe` "
                 "exit 0; *matches*: the executable's outputs vs onnxruntime's at both reference sizes; *raises*: "
                 "number of `moe.layer` after `--stop-after=raise` (each fixture has one MoE layer, the `-2layers` ones two, from scripts/real_exports/make_multilayer_fixtures.py); "
                 "*first error*: moec's (or the exporter's) first error line. Opset is the model's default-domain "
                 "opset as written (requested opset in brackets when different).\n")
    lines.append("## Table\n")
    lines.append("| architecture | kind | exporter | opset | experts impl | export | compiles | matches | raises | "
                 "first error |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for f in sorted(fx, key=lambda f: (f["arch"], f["kind"], f["exporter"] or "", str(f.get("opset")),
                                       f.get("experts_impl") or "", f["id"])):
        if f["kind"] == "model":
            lines.append(f"| {f['arch']} | — | — | — | — | model-failed | | | | {md(f.get('error', ''))} |")
            continue
        r = res.get(f["id"], {})
        op = opset_of(f)
        req = f.get("opset")
        opcell = f"{op}" + (f" [{req}]" if req not in (None, "default", op) and op is not None else "")
        if f["status"] != "ok":
            lines.append(f"| {f['arch']} | {f['kind']} | {exporter_label(f)} | {opcell if op else req} | "
                         f"{f.get('experts_impl')} | {f['status']} | | | | {md(f.get('error', ''))} |")
            continue
        c = "yes" if r.get("compiles") else ("no" if r else "?")
        mt = ("yes" if r.get("matches") else f"no ({r.get('moec_vs_ort_max_rel', float('nan')):.2g})") \
            if r.get("compiles") else ""
        rs = r.get("moe_layers")
        rs = "—" if rs is None else str(rs)
        err = r.get("compile_error") or r.get("run_error") or ""
        lines.append(f"| {f['arch']} | {f['kind']} | {exporter_label(f)} | {opcell} | {f.get('experts_impl')} | ok | "
                     f"{c} | {mt} | {rs} | {md(err)} |")
    lines.append("")
    # moec failure causes
    lines.append("## Failure causes\n")
    lines.append("moec's first error on each committed fixture that does not compile, grouped by cause (node names "
                 "taken out), with the op types, opsets (as written), exporters and architectures involved.\n")
    lines += cause_table([(f, res[f["id"]]["compile_error"]) for f in ok
                          if f["id"] in res and not res[f["id"]].get("compiles")])
    probes = [(f, res[f["id"]].get("probe_opset17_error")) for f in ok
              if f["id"] in res and "probe_opset17_compiles" in res[f["id"]]]
    if probes:
        n_ok = sum(1 for f, e in probes if e is None)
        lines.append("### Behind the opset gate\n")
        lines.append(f"The {len(probes)} fixtures refused for their opset were compiled once more with the "
                     "default-domain opset relabelled to 17 (a probe, not a conversion: ops whose inputs or "
                     f"attributes changed after 17 are then misread). {n_ok} compile that way; the next blocker "
                     "of the others:\n")
        lines += cause_table([(f, e) for f, e in probes if e is not None])
    lines += changed_ops_section(ok, res)
    runs = [(f, res[f["id"]].get("run_error") or f"wrong result: max rel {res[f['id']].get('moec_vs_ort_max_rel'):.3g}")
            for f in ok if res.get(f["id"], {}).get("compiles") and not res[f["id"]].get("matches")]
    if runs:
        lines.append("### Compiled but does not match\n")
        lines += cause_table(runs)
    raise_fail = [(f, res[f["id"]].get("raise_error")) for f in ok
                  if f["id"] in res and res[f["id"]].get("raise_error")]
    lines.append("### Raising\n")
    zero = [f for f in ok if res.get(f["id"], {}).get("moe_layers") == 0]
    lines.append(f"{len(raised)} of {len(ok)} fixtures raise a `moe.layer`; {len(zero)} get through "
                 f"`--stop-after=raise` with none; {len(raise_fail)} fail before raising:\n")
    if raise_fail:
        lines += cause_table(raise_fail)
    if zero:
        lines.append("Why the layer of each fixture without a `moe.layer` stays generic (`moec --remarks`):\n")
        lines += cause_table([(f, checkout_relative(res[f["id"]].get("raise_remark")) or
                               "no remark: no raising pass found a candidate (TopK feeding a OneHot, a "
                               "dense-masked combine, a sum over gathered experts' slots, com.microsoft.MoE)")
                              for f in zero])
    # export failures
    lines.append("## Export failures\n")
    lines.append("Attempts that produced no fixture (export failed, onnxruntime could not run the export, or the "
                 "export disagreed with torch eager), grouped by the first line of the error.\n")
    lines += cause_table([(f, f.get("error", "")) for f in fx if f["status"] != "ok"], export=True)
    return "\n".join(lines) + "\n"


def changed_ops_section(ok, res):
    """The ops of the opset-refused fixtures whose definition in the model's opset is newer than 17."""
    try:
        import onnx.defs
    except ImportError:
        return []
    refused = [f for f in ok if "compiles opsets up to" in res.get(f["id"], {}).get("compile_error", "")]
    table = collections.OrderedDict()
    for f in refused:
        opset = opset_of(f)
        if not isinstance(opset, int):
            continue
        for op in f.get("op_types", []):
            if "::" in op:
                continue
            try:
                new = onnx.defs.get_schema(op, opset, "").since_version
                old = onnx.defs.get_schema(op, 17, "").since_version
            except Exception:
                continue
            if new > 17:
                t = table.setdefault((op, new), {"n": 0, "old": old, "opsets": set(), "exporters": set()})
                t["n"] += 1
                t["opsets"].add(opset)
                t["exporters"].add(exporter_label(f))
    if not table:
        return []
    out = ["### Ops of the opset-refused fixtures whose definition changed after opset 17\n",
           "From onnx's schemas: each op of those models whose version in effect at the model's opset is newer "
           "than at 17 (what lifting the gate needs per op; most of these changes add types or move attributes "
           "to inputs).\n",
           "| op type | version in effect | version at 17 | fixtures | model opsets | exporters |",
           "| --- | --- | --- | --- | --- | --- |"]
    for (op, new), t in sorted(table.items(), key=lambda kv: -kv[1]["n"]):
        out.append(f"| {op} | {new} | {t['old']} | {t['n']} | {', '.join(map(str, sorted(t['opsets'])))} | "
                   f"{', '.join(sorted(t['exporters']))} |")
    out.append("")
    return out


def md(s: str) -> str:
    return (s or "").replace("|", "\\|").replace("\n", " ")[:300]


def export_cause(msg: str) -> str:
    m = re.search(r"This is an invalid model\. In Node, \(\"[^\"]*\", (\w+),", msg)
    if m:
        e = re.search(r"Error (.*)$", msg)
        detail = e.group(1)[:160] if e else ("message cut; where seen in full: 'Unrecognized attribute: num_outputs "
                                             "for operator Split', opset 18's attribute in a model of opset 17"
                                             if m.group(1) == "Split" else "message cut")
        return f"onnxruntime refuses the model (INVALID_GRAPH) at a {m.group(1)} node: {detail}"
    if re.fullmatch(r"\d+ bytes > \d+", msg.strip()):
        return "fixture too large: " + re.sub(r"^\d+", "N", msg.strip())
    s = normalize(msg)
    s = re.sub(r"Load model from \S+ failed:", "Load model failed:", s)
    s = re.sub(r"opset version \d+", "opset version N", s)
    s = re.sub(r"\(\d+ bytes?\)|\d+ bytes > \d+", "N bytes", s)
    s = re.sub(r"max rel [\d.e+-]+ \(max abs [\d.e+-]+\)", "max rel X", s)
    s = re.sub(r"/tmp/\S+? model", "<dir> model", s)
    s = re.sub(r"'[^']*/(hf|genai)'", "<dir>", s)
    return s[:260]


def cause_table(items, export=False):
    groups = collections.OrderedDict()
    for f, msg in items:
        if export:
            key, op = export_cause(msg or ""), None
        else:
            key, op = cause_of(msg or "", f)
        g = groups.setdefault(key, {"n": 0, "ops": collections.Counter(), "opsets": collections.Counter(),
                                    "exporters": collections.Counter(), "archs": set(), "kinds": collections.Counter()})
        g["n"] += 1
        if op:
            g["ops"][op] += 1
        o = opset_of(f)
        if o:
            g["opsets"][str(o)] += 1
        g["exporters"][exporter_label(f)] += 1
        g["archs"].add(f["arch"])
        g["kinds"][f["kind"]] += 1
    out = ["| count | cause | op types | opsets | exporters | kinds | architectures |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, g in sorted(groups.items(), key=lambda kv: -kv[1]["n"]):
        fmt = lambda c: ", ".join(f"{k} ({n})" for k, n in c.most_common())
        archs = sorted(g["archs"])
        out.append(f"| {g['n']} | {md(key)} | {fmt(g['ops'])} | {fmt(g['opsets'])} | {fmt(g['exporters'])} | "
                   f"{fmt(g['kinds'])} | {len(archs)}: {', '.join(archs)} |")
    out.append("")
    return out


def check(manifest, expected_path: Path, moec, timeout, shard, shards) -> int:
    expected = {r["id"]: r for r in json.loads(expected_path.read_text())["results"]}
    # A fixture the generator no longer makes (its status no longer "ok") has no file to check.
    selected = [f for f in manifest["fixtures"]
            if f["status"] == "ok" and expected.get(f["id"], {}).get("matches")][shard::shards]
    work = Path(tempfile.mkdtemp(prefix="moec-check-"))
    passed = failed = 0
    for f in selected:
        r = survey_one(f, moec, work, timeout)
        layers, wanted = r.get("moe_layers") or 0, expected[f["id"]].get("moe_layers") or 0
        problem = ("does not compile: " + r.get("compile_error", "") if not r["compiles"]
                   else f"moec vs onnxruntime {r['moec_vs_ort_max_rel']:.2e} > {REL_TOL:g}"
                   if not r.get("matches") else
                   f"{layers} moe.layer, {wanted} before" if layers < wanted else "")
        print(f"{'FAIL' if problem else 'ok'}: {f['id']} {problem}".rstrip(), flush=True)
        passed, failed = passed + (not problem), failed + bool(problem)
    shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not selected else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moec", default=str(ROOT / "build" / "bin" / "moec"))
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--from-json", action="append", help="only format results written earlier with --json "
                    "(repeatable: the results are merged, later files win)")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--only", action="append", help="only fixtures whose id starts with this")
    ap.add_argument("--check", help="fail unless every fixture that compiled and matched in this "
                    "results file still does")
    ap.add_argument("--shard", default="0/1", help="I/N: only every Nth fixture, from the Ith")
    args = ap.parse_args()
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    shard, shards = (int(x) for x in args.shard.split("/"))
    if args.check:
        sys.exit(check(manifest, Path(args.check), args.moec, args.timeout, shard, shards))
    if args.from_json:
        merged = {}
        for p in args.from_json:
            for r in json.loads(Path(p).read_text())["results"]:
                merged[r["id"]] = r
        results = list(merged.values())
    else:
        work = Path(tempfile.mkdtemp(prefix="moec-survey-"))
        results = []
        selected = [f for f in manifest["fixtures"] if f["status"] == "ok"
                and (not args.only or any(f["id"].startswith(o) for o in args.only))][shard::shards]
        for i, f in enumerate(selected):
            r = survey_one(f, args.moec, work, args.timeout)
            results.append(r)
            print(f"[{i + 1}/{len(selected)}] {f['id']}: compiles={r['compiles']} matches={r.get('matches')} "
                  f"moe.layer={r.get('moe_layers')} {r.get('compile_error', '')[:120]}", file=sys.stderr, flush=True)
        shutil.rmtree(work, ignore_errors=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"moec": args.moec, "results": results}, indent=1) + "\n")
    sys.stdout.write(markdown(manifest, results))


if __name__ == "__main__":
    main()
