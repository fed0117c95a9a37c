#!/usr/bin/env python3
"""Ground truth for the memory estimator: ask llama.cpp itself what it allocates.

For an architecture (the fields of ``catalog.schemas.Architecture``) this script writes a
*sparse* GGUF file: real header, real metadata, real tensor table, and a data section that is
only a hole in the file (``truncate``), so a 17 GB model costs a few MB of disk. llama.cpp
(through llama-cpp-python's ctypes bindings) loads it with mmap, creates a context, which
reserves the KV cache and the worst-case compute graph, and we record the buffers it reports.
No token is ever decoded, so the (zero) weights are never used.

Two ways to create the context, both llama.cpp code paths:

* ``alloc``    -- real allocation: mmap'd weights (``CPU_Mapped``), the KV cache is allocated
                  and cleared (so it really costs RAM), compute buffers are malloc'd
                  (untouched, so they only cost address space).
* ``no_alloc`` -- ``llama_model_params.no_alloc``: llama.cpp only *simulates* every
                  allocation (this is what ``llama-server --fit`` uses). No RAM is used, which
                  lets us measure 128k contexts of large models on a small machine.

``mode="auto"`` (default) always runs ``no_alloc`` first, then repeats with ``alloc`` when the
KV cache fits a RAM budget, and reports both (they agree byte-for-byte in every row we ran).

Numbers come from two sources: the log lines (MiB with 2 decimals, kept verbatim in ``log``)
and, when the small C++ shim ``llamacpp_breakdown_shim.cpp`` is built,
``llama_get_memory_breakdown()`` which gives exact bytes per buffer type.

Usage:  see README.md in this directory.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import itertools
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = Path(os.environ.get("HARNESS_GGUF_DIR", "/work/harness-build/gguf-cache"))
DEFAULT_SHIM = Path(os.environ.get("HARNESS_SHIM", "/work/harness-build/libbreakdown_shim.so"))
MIB = 1024 * 1024

# llama-cpp-python release -> vendored llama.cpp commit (from its CHANGELOG); the sdist has no
# .git, so the library itself reports BUILD_COMMIT "unknown".
VENDORED_LLAMA_CPP_COMMIT = {
    "0.3.36": "0c1e57098",
}

# --------------------------------------------------------------------------------------------
# tensor types
# --------------------------------------------------------------------------------------------


def _gguf():
    import gguf  # noqa: PLC0415  (imported lazily: the worker needs it, --help does not)

    return gguf


def _qtype(name: str):
    return _gguf().GGMLQuantizationType[name.upper()]


def _nbytes(ne: tuple[int, ...], qtype) -> int:
    block, type_size = _gguf().GGML_QUANT_SIZES[qtype]
    n = math.prod(ne)
    assert ne[0] % block == 0, (ne, qtype)
    return n // block * type_size


# llama-quantize's fallback for rows that a k-quant cannot hold (tensor_type_fallback)
_FALLBACK = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0", "Q2_K": "Q4_0", "Q3_K": "Q4_0",
             "IQ4_XS": "IQ4_NL"}


def _fit_type(ne0: int, tname: str) -> str:
    gguf = _gguf()
    if ne0 % gguf.GGML_QUANT_SIZES[_qtype(tname)][0] == 0:
        return tname
    fb = _FALLBACK.get(tname.upper(), "F16")
    if ne0 % gguf.GGML_QUANT_SIZES[_qtype(fb)][0] == 0:
        return fb
    return "F16"


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _is_quantizable(name: str, ne: tuple[int, ...]) -> bool:
    # mirrors tensor_allows_quantization() in llama-quant.cpp (the parts that matter here)
    return (len(ne) >= 2 and name.endswith("weight") and "_norm.weight" not in name
            and "ffn_gate_inp.weight" not in name)


def assign_types(tensors: list[tuple[str, tuple[int, ...]]], tensor_type: Any,
                 n_layer: int, n_expert: int, tied: bool) -> dict[str, str]:
    """Return {tensor name: ggml type name}.

    ``tensor_type`` is a type name applied to every quantizable tensor ("Q4_K", "Q8_0", "F16"),
    the preset "Q4_K_M" (llama-quantize's mix: output Q6_K, attn_v / ffn_down Q6_K on the
    use_more_bits layers, the rest Q4_K), or a dict {regex: type} matched in order against
    tensor names (key "*" = default). 1-D tensors, norms and the MoE router stay F32.
    Incompatible row sizes fall back like llama-quantize does.
    """
    out: dict[str, str] = {}
    n_attn_v = sum(1 for n, _ in tensors if ".attn_v.weight" in n)
    n_ffn_down = sum(1 for n, _ in tensors if re.search(r"\.ffn_down(_exps|_shexp)?\.weight$", n))
    i_attn_v = 0
    i_ffn_down = 0
    for name, ne in tensors:
        if not _is_quantizable(name, ne):
            out[name] = "F32"
            continue
        if isinstance(tensor_type, dict):
            t = None
            for pat, ty in tensor_type.items():
                if pat != "*" and re.search(pat, name):
                    t = ty
                    break
            t = t or tensor_type.get("*", "Q4_K")
        elif str(tensor_type).upper() == "Q4_K_M":
            t = "Q4_K"
            if name == "output.weight" or (tied and name == "token_embd.weight"):
                t = "Q6_K" if ne[0] % 256 == 0 else "Q8_0"
            elif ".attn_v.weight" in name:
                t = "Q8_0" if n_expert == 8 else ("Q6_K" if _use_more_bits(i_attn_v, n_attn_v) else "Q4_K")
                i_attn_v += 1
            elif ".attn_k.weight" in name and n_expert == 8:
                t = "Q8_0"
            elif re.search(r"\.ffn_down(_exps|_shexp)?\.weight$", name):
                il = int(name.split(".")[1]) if n_expert > 1 else i_ffn_down
                nl = n_ffn_down if n_expert <= 1 else n_ffn_down
                t = "Q6_K" if _use_more_bits(il, nl) else "Q4_K"
                i_ffn_down += 1
            elif ".attn_qkv.weight" in name:
                t = "Q5_K"
        else:
            t = str(tensor_type)
        out[name] = _fit_type(ne[0], t.upper())
    return out


# --------------------------------------------------------------------------------------------
# architecture -> GGUF (metadata + tensor table)
# --------------------------------------------------------------------------------------------


def pick_gguf_arch(arch: dict) -> str:
    hf = (arch.get("hf_architecture") or "").lower()
    if arch.get("mla"):
        return "deepseek2"
    if arch.get("moe"):
        if arch.get("sliding_window") or "gptoss" in hf:
            return "gpt-oss"
        if "mixtral" in hf:
            return "llama"
        if arch["moe"].get("num_shared_experts") or arch["moe"].get("first_dense_layers"):
            raise NotImplementedError("MoE with shared experts / dense lead layers: pass gguf_arch "
                                      "(only deepseek2 handles them here)")
        return "qwen3moe"
    if arch.get("sliding_window"):
        return "gemma2" if "gemma2" in hf else "gemma3"
    if arch.get("attention_bias") or "qwen2" in hf:
        return "qwen2"
    if "qwen3" in hf:
        return "qwen3"
    return "llama"


def build_model(arch: dict, gguf_arch: str | None = None):
    """Return (gguf_arch, kv list [(key, value, kind)], tensors [(name, ne)]) for an Architecture dict.

    ``ne`` is in ggml order (ne[0] = row length)."""
    ga = gguf_arch or pick_gguf_arch(arch)
    L = int(arch["num_layers"])
    E = int(arch["hidden_size"])
    H = int(arch["num_attention_heads"])
    Hkv = int(arch["num_kv_heads"])
    Dk = int(arch["head_dim"])
    Dv = int(arch.get("value_head_dim") or Dk)
    F = int(arch["intermediate_size"])
    V = int(arch["vocab_size"])
    tied = bool(arch.get("tied_embeddings"))
    moe = arch.get("moe") or None
    swa = arch.get("sliding_window") or None
    mla = arch.get("mla") or None

    kv: list[tuple[str, Any, str]] = []

    def k(key: str, val: Any, kind: str = "u32") -> None:
        kv.append((key.replace("{a}", ga), val, kind))

    k("general.architecture", ga, "str")
    k("general.name", f"harness-{ga}", "str")
    k("{a}.vocab_size", V)
    k("{a}.context_length", int(arch.get("max_context") or 131072))
    k("{a}.embedding_length", E)
    k("{a}.block_count", L)
    k("{a}.feed_forward_length", F)
    k("{a}.attention.head_count", H)
    k("{a}.attention.head_count_kv", 1 if mla else Hkv)
    k("{a}.attention.layer_norm_rms_epsilon", 1e-6, "f32")
    k("{a}.rope.freq_base", 1000000.0 if ga.startswith("qwen") else 10000.0, "f32")

    T: list[tuple[str, tuple[int, ...]]] = []

    def t(name: str, *ne: int) -> None:
        T.append((name, tuple(int(x) for x in ne)))

    t("token_embd.weight", E, V)
    t("output_norm.weight", E)
    has_output = not tied and ga not in ("gemma2",)
    if ga == "gpt-oss":
        has_output = True  # gpt-oss requires output.weight (not tied in the released models)
    if has_output:
        t("output.weight", E, V)

    if ga == "deepseek2":
        assert mla is not None, "deepseek2 needs the mla block"
        r_kv = int(mla["kv_lora_rank"])
        r_q = mla.get("q_lora_rank")
        rope = int(mla["qk_rope_head_dim"])
        nope = int(mla["qk_nope_head_dim"])
        vh = int(mla["v_head_dim"])
        k("{a}.attention.key_length", r_kv + rope)
        k("{a}.attention.value_length", r_kv)
        k("{a}.attention.key_length_mla", nope + rope)
        k("{a}.attention.value_length_mla", vh)
        k("{a}.rope.dimension_count", rope)
        k("{a}.attention.kv_lora_rank", r_kv)
        if r_q:
            k("{a}.attention.q_lora_rank", int(r_q))
        dense_lead = int(moe.get("first_dense_layers", 0)) if moe else L
        k("{a}.leading_dense_block_count", dense_lead)
        if moe:
            k("{a}.expert_count", int(moe["num_experts"]))
            k("{a}.expert_used_count", int(moe["experts_per_token"]))
            k("{a}.expert_feed_forward_length", int(moe["expert_intermediate_size"]))
            k("{a}.expert_shared_count", int(moe.get("num_shared_experts", 0)))
            k("{a}.expert_weights_scale", 1.0, "f32")
            k("{a}.expert_weights_norm", True, "bool")
            k("{a}.expert_gating_func", 1)  # softmax (DeepSeek V2); V3 would be 2 = sigmoid
        else:
            k("{a}.expert_feed_forward_length", F)
            k("{a}.expert_shared_count", 0)
        for i in range(L):
            p = f"blk.{i}."
            t(p + "attn_norm.weight", E)
            if r_q:
                t(p + "attn_q_a_norm.weight", int(r_q))
                t(p + "attn_q_a.weight", E, int(r_q))
                t(p + "attn_q_b.weight", int(r_q), H * (nope + rope))
            else:
                t(p + "attn_q.weight", E, H * (nope + rope))
            t(p + "attn_kv_a_norm.weight", r_kv)
            t(p + "attn_kv_a_mqa.weight", E, r_kv + rope)
            t(p + "attn_k_b.weight", nope, r_kv, H)
            t(p + "attn_v_b.weight", r_kv, vh, H)
            t(p + "attn_output.weight", H * vh, E)
            t(p + "ffn_norm.weight", E)
            if not moe or i < dense_lead:
                t(p + "ffn_gate.weight", E, F)
                t(p + "ffn_down.weight", F, E)
                t(p + "ffn_up.weight", E, F)
            else:
                ne_, fe = int(moe["num_experts"]), int(moe["expert_intermediate_size"])
                sh = int(moe.get("num_shared_experts", 0))
                t(p + "ffn_gate_inp.weight", E, ne_)
                t(p + "ffn_gate_exps.weight", E, fe, ne_)
                t(p + "ffn_down_exps.weight", fe, E, ne_)
                t(p + "ffn_up_exps.weight", E, fe, ne_)
                if sh:
                    t(p + "ffn_gate_shexp.weight", E, fe * sh)
                    t(p + "ffn_down_shexp.weight", fe * sh, E)
                    t(p + "ffn_up_shexp.weight", E, fe * sh)
        return ga, kv, T

    k("{a}.attention.key_length", Dk)
    k("{a}.attention.value_length", Dv)
    k("{a}.rope.dimension_count", Dk)

    if swa:
        k("{a}.attention.sliding_window", int(swa["window"]))
        k("{a}.attention.sliding_window_pattern", int(swa["pattern"]))
    if moe:
        k("{a}.expert_count", int(moe["num_experts"]))
        k("{a}.expert_used_count", int(moe["experts_per_token"]))
        k("{a}.expert_feed_forward_length", int(moe["expert_intermediate_size"]))

    qdim = H * Dk
    if ga == "qwen2":
        qdim = E  # llama.cpp's qwen2 loader uses n_embd for q / attn_output
    for i in range(L):
        p = f"blk.{i}."
        t(p + "attn_norm.weight", E)
        t(p + "attn_q.weight", E, qdim)
        t(p + "attn_k.weight", E, Hkv * Dk)
        t(p + "attn_v.weight", E, Hkv * Dv)
        if ga in ("qwen2", "gpt-oss") or arch.get("attention_bias"):
            t(p + "attn_q.bias", qdim)
            t(p + "attn_k.bias", Hkv * Dk)
            t(p + "attn_v.bias", Hkv * Dv)
        t(p + "attn_output.weight", qdim if ga == "qwen2" else H * Dv, E)
        if ga in ("qwen3", "qwen3moe", "gemma3"):
            t(p + "attn_q_norm.weight", Dk)
            t(p + "attn_k_norm.weight", Dk)
        if ga in ("gemma2", "gemma3", "gpt-oss"):
            t(p + "post_attention_norm.weight", E)
        if ga in ("gemma2", "gemma3"):
            t(p + "post_ffw_norm.weight", E)
        if ga != "gpt-oss":
            t(p + "ffn_norm.weight", E)
        if ga == "gpt-oss":
            t(p + "attn_output.bias", E)
            t(p + "attn_sinks.weight", H)
        if moe:
            ne_, fe = int(moe["num_experts"]), int(moe["expert_intermediate_size"])
            t(p + "ffn_gate_inp.weight", E, ne_)
            t(p + "ffn_gate_exps.weight", E, fe, ne_)
            t(p + "ffn_down_exps.weight", fe, E, ne_)
            t(p + "ffn_up_exps.weight", E, fe, ne_)
            if ga == "gpt-oss":
                t(p + "ffn_gate_inp.bias", ne_)
                t(p + "ffn_gate_exps.bias", fe, ne_)
                t(p + "ffn_down_exps.bias", E, ne_)
                t(p + "ffn_up_exps.bias", fe, ne_)
        else:
            t(p + "ffn_gate.weight", E, F)
            t(p + "ffn_down.weight", F, E)
            t(p + "ffn_up.weight", E, F)
    return ga, kv, T


def write_sparse_gguf(arch: dict, tensor_type: Any = "Q4_K", gguf_arch: str | None = None,
                      cache_dir: Path = DEFAULT_CACHE, tokenizer: str = "test") -> tuple[Path, dict]:
    """Write (or reuse) a sparse GGUF for ``arch``; return (path, info)."""
    gguf = _gguf()
    ga, kv, T = build_model(arch, gguf_arch)
    moe = arch.get("moe") or {}
    types = assign_types(T, tensor_type, int(arch["num_layers"]),
                         int(moe.get("num_experts", 0)), bool(arch.get("tied_embeddings")))
    key = json.dumps([ga, kv, T, types, tokenizer], sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{ga}-{digest}.gguf"
    weight_bytes = sum(_nbytes(ne, _qtype(types[n])) for n, ne in T)
    info = {"gguf_arch": ga, "gguf_path": str(path), "n_tensors": len(T),
            "weight_bytes": weight_bytes,
            "type_counts": {ty: sum(1 for v in types.values() if v == ty) for ty in sorted(set(types.values()))}}
    if path.exists():
        info["file_bytes"] = path.stat().st_size
        return path, info

    tmp = path.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), ga)
    w.kv_data[0].clear()  # GGUFWriter pre-adds general.architecture; we add our own list
    VT = gguf.GGUFValueType
    for key_, val, kind in kv:
        if kind == "str":
            w.add_string(key_, val)
        elif kind == "f32":
            w.add_float32(key_, float(val))
        elif kind == "bool":
            w.add_bool(key_, bool(val))
        else:
            w.add_uint32(key_, int(val))
    V = int(arch["vocab_size"])
    if tokenizer == "test":
        # llama.cpp's test tokenizer (LLAMA_VOCAB_TYPE_TEST): just a token list and scores
        w.add_string("tokenizer.ggml.model", "test")
        w.add_array("tokenizer.ggml.tokens", [f"tok_{i}" for i in range(V)])
        w.add_array("tokenizer.ggml.scores", [0.0] * V)
    else:
        # SentencePiece-style ("llama") vocab with byte tokens, works on older llama.cpp too
        toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
        toks += [f"tok_{i}" for i in range(len(toks), V)]
        ttype = [2, 3, 3] + [6] * 256 + [1] * (V - 259)
        w.add_string("tokenizer.ggml.model", "llama")
        w.add_array("tokenizer.ggml.tokens", toks[:V])
        w.add_array("tokenizer.ggml.scores", [0.0] * V)
        w.add_array("tokenizer.ggml.token_type", ttype[:V])
        w.add_uint32("tokenizer.ggml.bos_token_id", 1)
        w.add_uint32("tokenizer.ggml.eos_token_id", 2)
    del VT
    import numpy as np  # noqa: PLC0415

    for name, ne in T:
        qt = _qtype(types[name])
        # GGUFWriter takes numpy order (reversed ggml ne)
        w.add_tensor_info(name, tuple(reversed(ne)), np.dtype(np.float32), _nbytes(ne, qt), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    fout = w.fout[0]
    fout.flush()
    pos = fout.tell()
    align = w.data_alignment
    data_start = (pos + align - 1) // align * align
    total = data_start + sum((_nbytes(ne, _qtype(types[n])) + align - 1) // align * align for n, ne in T)
    w.close()
    os.truncate(tmp, total)  # the data section is a hole: no disk, reads as zeros
    os.replace(tmp, path)
    info["file_bytes"] = total
    return path, info


# --------------------------------------------------------------------------------------------
# llama.cpp side
# --------------------------------------------------------------------------------------------

_LOG: list[tuple[int, str]] = []
_PARTIAL = [""]
_STATE: dict[str, Any] = {}


def _init_llama():
    if "lib" in _STATE:
        return _STATE["lib"]
    import llama_cpp  # noqa: PLC0415

    @llama_cpp.llama_log_callback
    def _cb(level, text, _user):  # GGML_LOG_LEVEL: 1 debug 2 info 3 warn 4 error 5 cont
        s = text.decode("utf-8", "replace") if text else ""
        _PARTIAL[0] += s
        while "\n" in _PARTIAL[0]:
            line, _PARTIAL[0] = _PARTIAL[0].split("\n", 1)
            _LOG.append((level, line))

    _STATE["cb"] = _cb  # keep alive
    llama_cpp.llama_log_set(_cb, ctypes.c_void_p(0))
    llama_cpp.llama_backend_init()
    _STATE["lib"] = llama_cpp
    shim = None
    if DEFAULT_SHIM.exists():
        try:
            shim = ctypes.CDLL(str(DEFAULT_SHIM))
            shim.hb_memory_breakdown.restype = ctypes.c_int
            shim.hb_memory_breakdown.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                                 ctypes.POINTER(ctypes.c_uint64), ctypes.c_int]
        except OSError as e:  # pragma: no cover
            print(f"warning: shim not loaded: {e}", file=sys.stderr)
            shim = None
    _STATE["shim"] = shim
    return llama_cpp


def version_info() -> dict:
    llama_cpp = _init_llama()
    ver = getattr(llama_cpp, "__version__", "?")
    sysinfo = llama_cpp.llama_print_system_info()
    return {
        "llama_cpp_python": ver,
        "llama_cpp_commit": os.environ.get("HARNESS_LLAMA_COMMIT") or VENDORED_LLAMA_CPP_COMMIT.get(ver, "unknown"),
        "backend": "CPU",
        "system_info": sysinfo.decode() if isinstance(sysinfo, bytes) else str(sysinfo),
    }


GGML_TYPE_IDS = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "bf16": 30,
                 "iq4_nl": 20}


def _load_model(path: Path, no_alloc: bool):
    llama_cpp = _init_llama()
    key = (str(path), no_alloc)
    cache = _STATE.setdefault("models", {})
    if key in cache:
        return cache[key], []
    for k_ in list(cache):  # one model at a time
        llama_cpp.llama_model_free(cache.pop(k_))
    mp = llama_cpp.llama_model_default_params()
    mp.n_gpu_layers = 0
    mp.use_extra_bufts = False  # no CPU weight repacking (it would read + copy the weights)
    mp.check_tensors = False
    mp.no_alloc = no_alloc
    mp.load_mode = 0 if no_alloc else 1  # LLAMA_LOAD_MODE_NONE / _MMAP (no_alloc cannot mmap)
    mp.lazy_mode = 0
    start = len(_LOG)
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), mp)
    lines = _LOG[start:]
    if not model:
        raise RuntimeError("model load failed: " + " | ".join(l for lv, l in lines if lv >= 3)[-2000:])
    cache[key] = model
    return model, lines


_RE = {
    "model_buf": re.compile(r"^load_tensors: +(\S+) model buffer size = +([\d.]+) MiB"),
    "kv_buf": re.compile(r"(\S+) KV buffer size = +([\d.]+) MiB"),
    "kv_size": re.compile(r"llama_kv_cache: size = +([\d.]+) MiB \( *(\d+) cells, +(\d+) layers, +(\d+)/(\d+) seqs\), "
                          r"K \((\w+)\): +([\d.]+) MiB, V \((\w+)\): +([\d.]+) MiB"),
    "iswa": re.compile(r"creating +(non-SWA|SWA) KV cache, size = (\d+) cells"),
    "compute": re.compile(r"(\S+) compute buffer size = +([\d.]+) MiB"),
    "output": re.compile(r"(\S+) +output buffer size = +([\d.]+) MiB"),
    "cparam": re.compile(r"^llama_context: (n_seq_max|n_ctx|n_ctx_seq|n_batch|n_ubatch|flash_attn|kv_unified|"
                         r"n_outputs_max) += (\S+)"),
}
_KEEP = re.compile(r"buffer size|llama_kv_cache|KV cache|llama_context: (n_|flash|kv_|causal)|sched_reserve: graph|"
                   r"rounding|padding|flash_attn|requires|failed|error", re.I)


def _type_row_bytes(tname: str, n: int) -> int:
    gguf = _gguf()
    block, size = gguf.GGML_QUANT_SIZES[_qtype(tname)]
    return n // block * size


def measure(arch: dict, *, ctx: int, n_batch: int = 2048, n_ubatch: int = 512, flash_attn: bool,
            type_k: str = "f16", type_v: str = "f16", n_seq: int = 1, tensor_type: Any = "Q4_K",
            kv_unified: bool = False, swa_full: bool = False, n_outputs_max: int = 0,
            gguf_arch: str | None = None, mode: str = "auto", kv_budget_gib: float = 10.0,
            keep_log: bool = True) -> dict:
    """Create a llama.cpp context for ``arch`` and return the bytes of every buffer.

    Returns a dict with ``bytes`` = {model, kv, compute, output, total} (exact when the shim is
    built, else MiB*1048576 from the log), ``kv_caches`` (one entry per KV cache: the base and
    the SWA cache for iSWA models), the effective context parameters, the llama.cpp version
    and the raw log lines. ``mode``: "alloc", "no_alloc" or "auto" (see module doc).

    ``n_outputs_max``: llama_context_params.n_outputs_max, the most logits rows one ubatch may
    produce. 0 (C-API / llama-cpp-python / llama-cli default) means n_batch, so the worst-case
    graph holds n_ubatch x n_vocab f32 logits; llama-server sets n_parallel x (1 + n_draft)
    instead, which makes its compute buffer much smaller for big vocabularies.
    """
    inputs = dict(ctx=ctx, n_batch=n_batch, n_ubatch=n_ubatch, flash_attn=flash_attn, type_k=type_k,
                  type_v=type_v, n_seq=n_seq, tensor_type=tensor_type, kv_unified=kv_unified,
                  swa_full=swa_full, n_outputs_max=n_outputs_max)
    path, ginfo = write_sparse_gguf(arch, tensor_type, gguf_arch)
    res: dict[str, Any] = {"inputs": inputs, "gguf": ginfo, "llama_cpp": version_info()}
    t0 = time.time()
    if mode in ("no_alloc", "auto"):
        r_na = _measure_once(path, inputs, arch, no_alloc=True, keep_log=keep_log)
        if mode == "no_alloc":
            res.update(r_na)
        else:
            kv_b = r_na.get("bytes", {}).get("kv") or 0
            if r_na["ok"] and kv_b + (r_na["bytes"].get("output") or 0) <= kv_budget_gib * 2**30:
                r_al = _measure_once(path, inputs, arch, no_alloc=False, keep_log=keep_log)
                res.update(r_al)
                res["no_alloc_bytes"] = r_na.get("bytes")
                if r_al["ok"]:
                    res["no_alloc_agrees"] = {k_: r_na["bytes"].get(k_) == r_al["bytes"].get(k_)
                                              for k_ in ("kv", "compute", "output")}
            else:
                res.update(r_na)
                if r_na["ok"]:
                    res["alloc_skipped"] = f"KV {kv_b / 2**30:.1f} GiB > budget {kv_budget_gib} GiB"
    else:
        res.update(_measure_once(path, inputs, arch, no_alloc=False, keep_log=keep_log))
    res["elapsed_s"] = round(time.time() - t0, 2)
    return res


def _measure_once(path: Path, inputs: dict, arch: dict, *, no_alloc: bool, keep_log: bool) -> dict:
    llama_cpp = _init_llama()
    model, load_lines = _load_model(path, no_alloc)
    cp = llama_cpp.llama_context_default_params()
    cp.n_ctx = inputs["ctx"]
    cp.n_batch = inputs["n_batch"]
    cp.n_ubatch = inputs["n_ubatch"]
    cp.n_seq_max = inputs["n_seq"]
    cp.n_threads = 2
    cp.n_threads_batch = 2
    cp.flash_attn_type = 1 if inputs["flash_attn"] else 0  # LLAMA_FLASH_ATTN_TYPE_ENABLED / DISABLED
    cp.type_k = GGML_TYPE_IDS[inputs["type_k"].lower()]
    cp.type_v = GGML_TYPE_IDS[inputs["type_v"].lower()]
    cp.swa_full = inputs["swa_full"]  # llama-server/llama-cli default: false (C API default: true)
    cp.kv_unified = inputs["kv_unified"]
    cp.no_perf = True
    cp.n_outputs_max = inputs.get("n_outputs_max", 0)
    start = len(_LOG)
    lctx = llama_cpp.llama_init_from_model(model, cp)
    lines = _LOG[start:]
    out: dict[str, Any] = {"mode": "no_alloc" if no_alloc else "alloc", "ok": bool(lctx)}
    parsed = _parse(load_lines + lines)
    _attach_formula(parsed, arch)
    out.update(parsed)
    if lctx:
        out["n_ctx"] = llama_cpp.llama_n_ctx(lctx)
        bd = _breakdown(lctx)
        if bd is not None:
            out["breakdown"] = bd
        llama_cpp.llama_free(lctx)
    else:
        out["error"] = " | ".join(l.strip() for lv, l in lines if lv >= 3)[-2000:] or "llama_init_from_model returned NULL"
    # bytes: prefer exact breakdown, else the log's MiB
    b: dict[str, Any] = {}
    src: dict[str, str] = {}
    model_log = sum(x["bytes_log"] for x in parsed["model_buffers"])
    b["model"], src["model"] = model_log, "log"
    if parsed["kv_caches"]:
        b["kv"], src["kv"] = sum(c["bytes_formula"] for c in parsed["kv_caches"]), "formula(log cells,layers)"
    if parsed["compute_buffers"]:
        b["compute"], src["compute"] = sum(x["bytes_log"] for x in parsed["compute_buffers"]), "log"
    if parsed["output_buffers"]:
        b["output"], src["output"] = sum(x["bytes_log"] for x in parsed["output_buffers"]), "log"
    bd = out.get("breakdown")
    if bd:
        b["model"], src["model"] = sum(r["model"] for r in bd), "breakdown"
        b["kv"], src["kv"] = sum(r["context"] for r in bd), "breakdown"
        b["compute"], src["compute"] = sum(r["compute"] for r in bd), "breakdown"
        if parsed["kv_caches"]:
            out["kv_formula_matches_breakdown"] = (sum(c["bytes_formula"] for c in parsed["kv_caches"]) == b["kv"])
    if parsed["output_buffers"]:
        # initial output buffer = logits for n_seq_max outputs: n_vocab * 4 B * n_seq (llama_context::output_reserve);
        # the log only has 2 decimals of MiB, so use the formula when it agrees with the log
        f_out = int(arch["vocab_size"]) * 4 * int(inputs["n_seq"])
        if abs(f_out - b["output"]) <= 0.005 * MIB + 1:
            b["output"], src["output"] = f_out, "formula(n_vocab*4*n_seq), log-checked"
    if out["ok"]:
        b["total"] = sum(v for k_, v in b.items() if k_ in ("model", "kv", "compute", "output"))
    out["bytes"] = b
    out["bytes_source"] = src
    if keep_log:
        out["log"] = [l for lv, l in (load_lines + lines) if lv >= 3 or (lv == 2 and _KEEP.search(l))]
    return out


def _breakdown(lctx) -> list[dict] | None:
    shim = _STATE.get("shim")
    if shim is None:
        return None
    names = ctypes.create_string_buffer(4096)
    arr = (ctypes.c_uint64 * (3 * 16))()
    n = shim.hb_memory_breakdown(ctypes.cast(lctx, ctypes.c_void_p), names, 4096, arr, 16)
    rows = []
    for i, nm in enumerate(names.value.decode().split("\n")[: min(n, 16)]):
        rows.append({"buffer_type": nm, "model": arr[3 * i], "context": arr[3 * i + 1], "compute": arr[3 * i + 2]})
    return rows


def _parse(lines: list[tuple[int, str]]) -> dict:
    out: dict[str, Any] = {"model_buffers": [], "kv_buffers": [], "kv_caches": [], "compute_buffers": [],
                           "output_buffers": [], "cparams": {}}
    pending_kind = None
    for _lv, l in lines:
        if m := _RE["model_buf"].search(l):
            out["model_buffers"].append({"buffer": m[1], "mib": float(m[2]), "bytes_log": round(float(m[2]) * MIB)})
        elif m := _RE["iswa"].search(l):
            pending_kind = "base" if m[1] == "non-SWA" else "swa"
        elif m := _RE["kv_buf"].search(l):
            out["kv_buffers"].append({"buffer": m[1], "mib": float(m[2]), "bytes_log": round(float(m[2]) * MIB),
                                      "cache": pending_kind or "kv"})
        elif m := _RE["kv_size"].search(l):
            cells, layers, nseq, nstream = int(m[2]), int(m[3]), int(m[4]), int(m[5])
            kt, vt = m[6], m[8]
            out["kv_caches"].append({
                "cache": pending_kind or "kv", "cells": cells, "layers": layers, "n_seq_max": nseq,
                "n_stream": nstream, "mib": float(m[1]), "type_k": kt, "k_mib": float(m[7]), "type_v": vt,
                "v_mib": float(m[9]), "bytes_log": round(float(m[1]) * MIB),
            })
            pending_kind = None
        elif m := _RE["compute"].search(l):
            out["compute_buffers"].append({"buffer": m[1], "mib": float(m[2]), "bytes_log": round(float(m[2]) * MIB)})
        elif m := _RE["output"].search(l):
            out["output_buffers"].append({"buffer": m[1], "mib": float(m[2]), "bytes_log": round(float(m[2]) * MIB)})
        elif m := _RE["cparam"].search(l):
            out["cparams"][m[1]] = m[2]
    return out


def _attach_formula(res: dict, arch: dict) -> None:
    """Exact per-cache bytes from the cache geometry the log reports (cells x streams x layers x row)."""
    mla = arch.get("mla")
    for c in res.get("kv_caches", []):
        if mla:
            nk = int(mla["kv_lora_rank"]) + int(mla["qk_rope_head_dim"])
            nv = 0
        else:
            nk = int(arch["num_kv_heads"]) * int(arch["head_dim"])
            nv = int(arch["num_kv_heads"]) * int(arch.get("value_head_dim") or arch["head_dim"])
        rows = c["cells"] * c["n_stream"] * c["layers"]
        c["k_bytes"] = rows * _type_row_bytes(c["type_k"], nk)
        c["v_bytes"] = rows * _type_row_bytes(c["type_v"], nv) if nv else 0
        c["bytes_formula"] = c["k_bytes"] + c["v_bytes"]


# --------------------------------------------------------------------------------------------
# reference architectures and the matrix
# --------------------------------------------------------------------------------------------

ARCHS: dict[str, dict] = {
    "llama-3.1-8b": dict(hf_architecture="LlamaForCausalLM", num_layers=32, hidden_size=4096, num_attention_heads=32,
                         num_kv_heads=8, head_dim=128, intermediate_size=14336, vocab_size=128256,
                         max_context=131072, tied_embeddings=False, attention="gqa"),
    "llama-2-7b": dict(hf_architecture="LlamaForCausalLM", num_layers=32, hidden_size=4096, num_attention_heads=32,
                       num_kv_heads=32, head_dim=128, intermediate_size=11008, vocab_size=32000,
                       max_context=4096, tied_embeddings=False, attention="mha"),
    "qwen3-8b": dict(hf_architecture="Qwen3ForCausalLM", num_layers=36, hidden_size=4096, num_attention_heads=32,
                     num_kv_heads=8, head_dim=128, intermediate_size=12288, vocab_size=151936,
                     max_context=40960, tied_embeddings=False, attention="gqa"),
    "qwen2.5-7b": dict(hf_architecture="Qwen2ForCausalLM", num_layers=28, hidden_size=3584, num_attention_heads=28,
                       num_kv_heads=4, head_dim=128, intermediate_size=18944, vocab_size=152064,
                       max_context=32768, tied_embeddings=False, attention="gqa", attention_bias=True),
    "gemma-2-9b": dict(hf_architecture="Gemma2ForCausalLM", num_layers=42, hidden_size=3584, num_attention_heads=16,
                       num_kv_heads=8, head_dim=256, intermediate_size=14336, vocab_size=256000,
                       max_context=8192, tied_embeddings=True, attention="gqa",
                       sliding_window=dict(window=4096, pattern=2)),
    "gemma-3-12b": dict(hf_architecture="Gemma3ForConditionalGeneration", num_layers=48, hidden_size=3840,
                        num_attention_heads=16, num_kv_heads=8, head_dim=256, intermediate_size=15360,
                        vocab_size=262208, max_context=131072, tied_embeddings=True, attention="gqa",
                        sliding_window=dict(window=1024, pattern=6)),
    "qwen3-30b-a3b": dict(hf_architecture="Qwen3MoeForCausalLM", num_layers=48, hidden_size=2048,
                          num_attention_heads=32, num_kv_heads=4, head_dim=128, intermediate_size=6144,
                          vocab_size=151936, max_context=40960, tied_embeddings=False, attention="gqa",
                          moe=dict(num_experts=128, experts_per_token=8, expert_intermediate_size=768)),
    "gpt-oss-20b": dict(hf_architecture="GptOssForCausalLM", num_layers=24, hidden_size=2880, num_attention_heads=64,
                        num_kv_heads=8, head_dim=64, intermediate_size=2880, vocab_size=201088,
                        max_context=131072, tied_embeddings=False, attention="gqa",
                        sliding_window=dict(window=128, pattern=2),
                        moe=dict(num_experts=32, experts_per_token=4, expert_intermediate_size=2880)),
    "deepseek-v2-lite": dict(hf_architecture="DeepseekV2ForCausalLM", num_layers=27, hidden_size=2048,
                             num_attention_heads=16, num_kv_heads=16, head_dim=192, value_head_dim=128,
                             intermediate_size=10944, vocab_size=102400, max_context=163840,
                             tied_embeddings=False, attention="mla",
                             mla=dict(kv_lora_rank=512, q_lora_rank=None, qk_rope_head_dim=64,
                                      qk_nope_head_dim=128, v_head_dim=128),
                             moe=dict(num_experts=64, experts_per_token=6, expert_intermediate_size=1408,
                                      num_shared_experts=2, first_dense_layers=1)),
}

# gpt-oss ships MXFP4 experts and Q8_0 / F16 elsewhere (hidden 2880 is not a multiple of 256)
ARCH_TENSOR_TYPE = {"gpt-oss-20b": {r"_exps\.weight$": "MXFP4", "*": "Q8_0"}}


def default_matrix(archs: list[str]) -> list[dict]:
    rows = []
    for a in archs:
        tt = ARCH_TENSOR_TYPE.get(a, "Q4_K")
        for ctx, fa, (tk, tv), n_seq in itertools.product(
                (2048, 8192, 32768, 131072), (True, False), (("f16", "f16"), ("q8_0", "q8_0")), (1, 4)):
            rows.append(dict(arch=a, ctx=ctx, flash_attn=fa, type_k=tk, type_v=tv, n_seq=n_seq, n_ubatch=512,
                             tensor_type=tt))
        # one row at n_ubatch 256, one with q8_0 K only (legal without FA), one unified-KV row
        rows.append(dict(arch=a, ctx=8192, flash_attn=True, type_k="f16", type_v="f16", n_seq=1, n_ubatch=256,
                         tensor_type=tt))
        rows.append(dict(arch=a, ctx=8192, flash_attn=False, type_k="q8_0", type_v="f16", n_seq=1, n_ubatch=512,
                         tensor_type=tt))
        rows.append(dict(arch=a, ctx=8192, flash_attn=True, type_k="f16", type_v="f16", n_seq=4, n_ubatch=512,
                         tensor_type=tt, kv_unified=True))
        rows.append(dict(arch=a, ctx=5000, flash_attn=True, type_k="f16", type_v="f16", n_seq=3, n_ubatch=512,
                         tensor_type=tt))  # shows the 256-cell padding / per-seq rounding
        # llama-server style: n_outputs_max = n_parallel (no draft model), all contexts, f16 KV
        for ctx, fa, n_seq in itertools.product((2048, 8192, 32768, 131072), (True, False), (1, 4)):
            rows.append(dict(arch=a, ctx=ctx, flash_attn=fa, type_k="f16", type_v="f16", n_seq=n_seq, n_ubatch=512,
                             tensor_type=tt, n_outputs_max=n_seq))
        if a not in ARCH_TENSOR_TYPE:
            rows.append(dict(arch=a, ctx=8192, flash_attn=True, type_k="f16", type_v="f16", n_seq=1, n_ubatch=512,
                             tensor_type="Q4_K_M"))  # llama-quantize's Q4_K_M mix for the weights
    return rows


def _worker() -> None:
    """Read one JSON job per stdin line, write one JSON result per stdout line (model stays loaded)."""
    for line in sys.stdin:
        job = json.loads(line)
        arch = job.pop("arch_dict")
        name = job.pop("arch")
        try:
            r = measure(arch, **job)
        except Exception as e:  # noqa: BLE001
            r = {"ok": False, "error": f"{type(e).__name__}: {e}", "inputs": job}
        r["arch_name"] = name
        r["arch"] = arch
        sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.flush()


def run_matrix(rows: list[dict], out_path: Path, mode: str, kv_budget_gib: float) -> None:
    """One worker process per architecture (model loaded once); a crash costs only that row."""
    by_arch: dict[str, list[dict]] = {}
    for r in rows:
        by_arch.setdefault(r["arch"], []).append(r)
    with out_path.open("a") as fo:
        for a, jobs in by_arch.items():
            pending = list(jobs)
            while pending:
                p = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
                done = 0
                for job in pending:
                    j = dict(job, arch_dict=ARCHS[a], mode=mode, kv_budget_gib=kv_budget_gib)
                    p.stdin.write(json.dumps(j) + "\n")
                    p.stdin.flush()
                    line = p.stdout.readline()
                    if not line:
                        rc = p.wait()
                        res = {"arch_name": a, "arch": ARCHS[a], "inputs": job, "ok": False,
                               "error": f"worker died (exit {rc}) -- llama.cpp abort/assert"}
                    else:
                        res = json.loads(line)
                    fo.write(json.dumps(res) + "\n")
                    fo.flush()
                    done += 1
                    b = res.get("bytes", {})
                    print(f"{a:18s} ctx={job['ctx']:6d} fa={int(job['flash_attn'])} k={job['type_k']:4s} "
                          f"v={job['type_v']:4s} seq={job['n_seq']} ub={job['n_ubatch']} "
                          f"nout={job.get('n_outputs_max', 0)} -> "
                          + (f"model {b.get('model', 0) / MIB:9.2f} kv {b.get('kv', 0) / MIB:9.2f} "
                             f"compute {b.get('compute', 0) / MIB:9.2f} out {b.get('output', 0) / MIB:7.2f} MiB "
                             f"[{res.get('mode')}] {res.get('elapsed_s', '')}s"
                             if res.get("ok") else "FAILED: " + str(res.get("error"))[:160]), flush=True)
                    if not line:
                        break
                pending = pending[done:]
                if p.poll() is None:
                    p.stdin.close()
                    p.wait()


def summarize(path: Path, fmt: str = "text") -> str:
    """Compact table of a results file (MiB, 2 decimals)."""
    out = []
    hdr = ("arch", "ctx", "fa", "kv", "seq", "ub", "model", "kv MiB", "compute", "output", "note")
    if fmt == "md":
        out.append("| " + " | ".join(hdr) + " |")
        out.append("|" + "---|" * len(hdr))
    else:
        out.append("%-17s %6s %2s %9s %3s %4s %9s %22s %8s %7s %s" % hdr)
    for line in path.open():
        r = json.loads(line)
        i = r["inputs"]
        kvt = i["type_k"] if i["type_k"] == i["type_v"] else f"{i['type_k']}/{i['type_v']}"
        note = []
        if i.get("kv_unified"):
            note.append("unified")
        if i.get("n_outputs_max"):
            note.append(f"n_out={i['n_outputs_max']}")
        if i.get("tensor_type") not in ("Q4_K",) and not isinstance(i.get("tensor_type"), dict):
            note.append(str(i.get("tensor_type")))
        if not r.get("ok"):
            cells = ("-",) * 4
            note.append("FAIL: " + str(r.get("error", ""))[:70])
        else:
            b = r["bytes"]
            caches = r.get("kv_caches", [])
            if len(caches) > 1:
                kv = "+".join(f"{c['bytes_formula'] / MIB:.0f}" for c in caches) + f"={b['kv'] / MIB:.2f}"
            else:
                kv = f"{b['kv'] / MIB:.2f}"
            cells = (f"{b['model'] / MIB:.2f}", kv, f"{b['compute'] / MIB:.2f}", f"{b['output'] / MIB:.2f}")
            if r.get("mode") == "no_alloc":
                note.append("no_alloc")
        row = (r.get("arch_name", "?"), str(i["ctx"]), "on" if i["flash_attn"] else "off", kvt, str(i["n_seq"]),
               str(i["n_ubatch"]), *cells, " ".join(note))
        if fmt == "md":
            out.append("| " + " | ".join(row) + " |")
        else:
            out.append("%-17s %6s %2s %9s %3s %4s %9s %22s %8s %7s %s" % row)
    return "\n".join(out)


def check_rules(path: Path) -> str:
    """Re-derive n_ctx, KV cells (incl. the SWA cache) and output bytes from the rules in README.md
    and compare with every successful row; returns a report (mismatches listed)."""
    def pad(x: int) -> int:
        return (x + 255) // 256 * 256

    msgs, n_rows, n_caches = [], 0, 0
    for line in path.open():
        r = json.loads(line)
        if not r.get("ok"):
            continue
        n_rows += 1
        a, i = r["arch"], r["inputs"]
        ns, uni = i["n_seq"], i.get("kv_unified", False)
        n_ctx = pad(i["ctx"])
        if uni:
            n_ctx_seq, streams = n_ctx, 1
        else:
            n_ctx_seq, streams = pad(n_ctx // ns), ns
            n_ctx = n_ctx_seq * ns
        n_ub = min(i["n_ubatch"], i["n_batch"], n_ctx)
        tag = f"{r.get('arch_name')} {i}"
        if int(r["cparams"]["n_ctx"]) != n_ctx:
            msgs.append(f"n_ctx {r['cparams']['n_ctx']} != {n_ctx}: {tag}")
        for c in r["kv_caches"]:
            n_caches += 1
            if c["cache"] == "swa" and not i.get("swa_full"):
                want = min(n_ctx_seq, pad(a["sliding_window"]["window"] * (ns if uni else 1) + n_ub))
            else:
                want = n_ctx_seq
            if (c["cells"], c["n_stream"]) != (want, streams):
                msgs.append(f"{c['cache']} cells {c['cells']}x{c['n_stream']} != {want}x{streams}: {tag}")
        if r["bytes"].get("output") != a["vocab_size"] * 4 * ns:
            msgs.append(f"output {r['bytes'].get('output')}: {tag}")
        if r.get("kv_formula_matches_breakdown") is False:
            msgs.append(f"kv formula != breakdown: {tag}")
        if r.get("no_alloc_agrees") and not all(r["no_alloc_agrees"].values()):
            msgs.append(f"no_alloc disagrees {r['no_alloc_agrees']}: {tag}")
    return "\n".join(msgs + [f"checked {n_rows} rows, {n_caches} KV caches: {len(msgs)} mismatches"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--archs", default="llama-3.1-8b,llama-2-7b,qwen3-8b,gemma-2-9b,gemma-3-12b,qwen3-30b-a3b",
                    help="comma list of " + ",".join(ARCHS))
    ap.add_argument("--out", default=str(HERE / "llamacpp_ground_truth.jsonl"))
    ap.add_argument("--mode", default="auto", choices=("auto", "alloc", "no_alloc"))
    ap.add_argument("--kv-budget-gib", type=float, default=10.0,
                    help="auto mode: real allocation only when the KV cache is at most this big")
    ap.add_argument("--quick", action="store_true", help="only ctx 2048/8192, n_seq 1")
    ap.add_argument("--subset", default="all", choices=("all", "server", "api"),
                    help="server: only the n_outputs_max=n_seq (llama-server-like) rows; api: only the others")
    ap.add_argument("--one", help="JSON of measure() kwargs incl. arch name, print the result")
    ap.add_argument("--summary", metavar="JSONL", help="print a compact table of a results file and exit")
    ap.add_argument("--md", action="store_true", help="--summary as a Markdown table")
    ap.add_argument("--check", metavar="JSONL", help="verify the padding / SWA / output rules on a results file")
    a = ap.parse_args()
    if a.check:
        print(check_rules(Path(a.check)))
        return
    if a.summary:
        print(summarize(Path(a.summary), "md" if a.md else "text"))
        return
    if a.worker:
        _worker()
        return
    if a.one:
        job = json.loads(a.one)
        arch = ARCHS[job.pop("arch")]
        print(json.dumps(measure(arch, **job), indent=1))
        return
    rows = default_matrix([s for s in a.archs.split(",") if s])
    if a.quick:
        rows = [r for r in rows if r["ctx"] <= 8192 and r["n_seq"] == 1]
    if a.subset != "all":
        rows = [r for r in rows if bool(r.get("n_outputs_max")) == (a.subset == "server")]
    run_matrix(rows, Path(a.out), a.mode, a.kv_budget_gib)


if __name__ == "__main__":
    main()
