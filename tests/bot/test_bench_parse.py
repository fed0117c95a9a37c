"""Parsers for pasted benchmark output: each tool's real format, as pasted and single-line."""

from __future__ import annotations

import pytest

from bot.bench_parse import (
    looks_like_output,
    parse_bench_output,
    parse_bench_text,
    parse_review_text,
    quant_from_ftype,
)

LLAMA_BENCH_CUDA = """\
ggml_cuda_init: GGML_CUDA_FORCE_MMQ:    no
ggml_cuda_init: found 2 CUDA devices:
  Device 0: NVIDIA GeForce RTX 3090, compute capability 8.6, VMM: yes
  Device 1: NVIDIA GeForce RTX 3090, compute capability 8.6, VMM: yes
| model                          |       size |     params | backend    | ngl |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | --: | --------------: | -------------------: |
| llama 70B Q4_K - Medium        |  39.59 GiB |    70.55 B | CUDA       |  99 |           pp512 |        905.38 ± 2.46 |
| llama 70B Q4_K - Medium        |  39.59 GiB |    70.55 B | CUDA       |  99 |           tg128 |         17.84 ± 0.02 |
| llama 70B Q4_K - Medium        |  39.59 GiB |    70.55 B | CUDA       |  99 |   tg128 @ d4096 |         16.51 ± 0.03 |

build: 5b6d5040 (4592)
"""

LLAMA_BENCH_VULKAN = """\
ggml_vulkan: Found 1 Vulkan devices:
ggml_vulkan: 0 = AMD Radeon RX 7900 XTX (RADV NAVI31) (radv) | uma: 0 | fp16: 1 | warp size: 64
| model                          |       size |     params | backend    | ngl | type_k | type_v |  fa |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | --: | -----: | -----: | --: | --------------: | -------------------: |
| qwen3moe 30B.A3B Q4_K - Medium |  17.28 GiB |    30.53 B | Vulkan     |  -1 |   q8_0 |   q8_0 |   1 |           pp512 |       1083.71 ± 7.82 |
| qwen3moe 30B.A3B Q4_K - Medium |  17.28 GiB |    30.53 B | Vulkan     |  -1 |   q8_0 |   q8_0 |   1 |           tg128 |         90.67 ± 0.33 |

build: 067de93 (6200)
"""

LLAMA_BENCH_METAL_DEPTH = """\
ggml_metal_device_init: GPU name:   Apple M4 Max
ggml_metal_device_init: has unified memory    = true
| model                          |       size |     params | backend    | threads |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | ------: | --------------: | -------------------: |
| llama 3B Q8_0                  |   3.18 GiB |     3.21 B | BLAS,MTL   |       4 |    tg64 @ d8012 |         18.97 ± 0.10 |
| llama 3B Q8_0                  |   3.18 GiB |     3.21 B | BLAS,MTL   |       4 |    tg64 @ d1500 |         25.69 ± 0.24 |

build: d48a56eff (9430)
"""

LLAMA_BENCH_IQ = """\
| model                          |       size |     params | backend    | ngl |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | --: | --------------: | -------------------: |
| qwen3moe 30B.A3B IQ4_XS - 4.25 bpw |  15.25 GiB |    30.53 B | CUDA |  99 |           tg128 |        120.10 ± 1.00 |
"""

OLLAMA = """\
$ ollama run llama3.1:8b --verbose
>>> why is the sky blue?
Rayleigh scattering.

total duration:       5.146406958s
load duration:        29.958583ms
prompt eval count:    16 token(s)
prompt eval duration: 133.718ms
prompt eval rate:     119.65 tokens/s
eval count:           298 token(s)
eval duration:        4.977523s
eval rate:            59.87 tokens/s
"""

LLAMA_CLI = """\
build: 4592 (5b6d5040) with cc (Ubuntu 13.2.0-23ubuntu4) 13.2.0 for x86_64-linux-gnu
llama_model_loader: - kv   2:                               general.name str              = Meta Llama 3.1 8B Instruct
llama_model_loader: - kv   3:                           general.finetune str              = Instruct
print_info: file type   = Q8_0
ggml_cuda_init: found 1 CUDA devices:
  Device 0: NVIDIA GeForce RTX 4090, compute capability 8.9, VMM: yes
llama_context: n_ctx         = 8192
llama_context: n_ctx_per_seq = 8192
llama_perf_sampler_print:    sampling time =      11.93 ms /   114 runs   (    0.10 ms per token,  9555.74 tokens per second)
llama_perf_context_print:        load time =    1234.56 ms
llama_perf_context_print: prompt eval time =      93.53 ms /    14 tokens (    6.68 ms per token,   149.69 tokens per second)
llama_perf_context_print:        eval time =    1043.90 ms /    99 runs   (   10.54 ms per token,    94.84 tokens per second)
llama_perf_context_print:       total time =    2555.75 ms /   113 tokens
"""

LLAMA_SERVER = """\
slot launch_slot_: id  0 | task 0 | processing task
prompt eval time =     123.45 ms /    20 tokens (    6.17 ms per token,   162.01 tokens per second)
       eval time =    4567.89 ms /   256 tokens (   17.84 ms per token,    56.04 tokens per second)
      total time =    4691.34 ms /   276 tokens
slot launch_slot_: id  0 | task 1 | processing task
prompt eval time =     812.00 ms /  1200 tokens (    0.68 ms per token,  1477.83 tokens per second)
       eval time =    5000.00 ms /   270 tokens (   18.52 ms per token,    54.00 tokens per second)
      total time =    5812.00 ms /  1470 tokens
"""

VLLM = """\
python benchmarks/benchmark_serving.py --backend vllm --model meta-llama/Llama-3.1-8B-Instruct --max-concurrency 16
============ Serving Benchmark Result ============
Successful requests:                     100
Maximum request concurrency:             16
Benchmark duration (s):                  42.11
Total input tokens:                      99744
Total generated tokens:                  100000
Request throughput (req/s):              2.37
Output token throughput (tok/s):         2374.72
Total Token throughput (tok/s):          4743.35
---------------Time to First Token----------------
Mean TTFT (ms):                          64.51
Median TTFT (ms):                        60.11
P99 TTFT (ms):                           120.02
-----Time per Output Token (excl. 1st token)------
Mean TPOT (ms):                          6.52
Median TPOT (ms):                        6.50
P99 TPOT (ms):                           7.01
==================================================
"""

CASES = [
    ("llama-bench CUDA", LLAMA_BENCH_CUDA, "llama-bench",
     {"runtime": "llama.cpp", "quant": "Q4_K_M", "backend": "cuda", "prompt_tok_s": 905.38, "gen_tok_s": 17.84,
      "context": 512, "runtime_version": "b4592", "hardware": "RTX 3090", "count": 2}),
    ("llama-bench Vulkan", LLAMA_BENCH_VULKAN, "llama-bench",
     {"quant": "Q4_K_M", "backend": "vulkan", "gen_tok_s": 90.67, "prompt_tok_s": 1083.71,
      "runtime_version": "b6200", "hardware": "AMD Radeon RX 7900 XTX", "count": 1}),
    ("llama-bench Metal at depth", LLAMA_BENCH_METAL_DEPTH, "llama-bench",
     {"quant": "Q8_0", "backend": "metal", "gen_tok_s": 25.69, "context": 1564, "hardware": "Apple M4 Max",
      "runtime_version": "b9430"}),
    ("llama-bench IQ quant", LLAMA_BENCH_IQ, "llama-bench", {"quant": "IQ4_XS", "gen_tok_s": 120.10}),
    ("ollama --verbose", OLLAMA, "ollama",
     {"runtime": "ollama", "gen_tok_s": 59.87, "prompt_tok_s": 119.65, "context": 314, "model": "llama3.1:8b"}),
    ("llama-cli", LLAMA_CLI, "llama.cpp",
     {"gen_tok_s": 94.84, "prompt_tok_s": 149.69, "context": 8192, "quant": "Q8_0",
      "model": "Meta Llama 3.1 8B Instruct", "runtime_version": "b4592", "hardware": "RTX 4090", "backend": "cuda"}),
    ("llama-server, last request", LLAMA_SERVER, "llama.cpp",
     {"gen_tok_s": 54.0, "prompt_tok_s": 1477.83, "context": 1470}),
    ("vLLM serving", VLLM, "vllm",
     {"runtime": "vllm", "gen_tok_s": 153.37, "context": 1997, "model": "meta-llama/Llama-3.1-8B-Instruct"}),
]


@pytest.mark.parametrize("name,text,fmt,expected", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("single_line", [False, True], ids=["as-pasted", "single-line"])
def test_parsers_read_fields(name, text, fmt, expected, single_line):
    """Each format is recognised and its fields read, also with newlines collapsed (Discord)."""
    if single_line:
        text = " ".join(text.split())
    parsed = parse_bench_output(text)
    assert parsed is not None and parsed.format == fmt
    for key, value in expected.items():
        assert parsed.fields.get(key) == value, (key, parsed.fields)
    assert looks_like_output(text)


def test_llama_bench_model_not_guessed():
    """llama-bench prints only architecture and size: the model is left for the submitter."""
    parsed = parse_bench_output(LLAMA_BENCH_CUDA)
    assert parsed is not None and "model" not in parsed.fields
    assert any("llama 70B" in n for n in parsed.notes)


def test_vllm_aggregate_not_stored_as_speed():
    """vLLM's aggregate throughput is noted, not taken as the per-request generation speed."""
    parsed = parse_bench_output(VLLM)
    assert parsed is not None
    assert parsed.fields["gen_tok_s"] == round(1000 / 6.52, 2)
    assert "prompt_tok_s" not in parsed.fields  # concurrency 16: TTFT includes queueing
    assert any("2,374.7" in n for n in parsed.notes)


@pytest.mark.parametrize("text", ["", "hello world", "| a | b |\n|---|---|\n| 1 | 2 |", "eval rate: fast",
                                  "| model | size |\n| --- | --- |\n| llama 8B Q4_0 | 4 GiB |"])
def test_unrecognised_output(text):
    """Text that is none of the formats gives None, not made-up numbers."""
    assert parse_bench_output(text) is None


@pytest.mark.parametrize("ftype,quant", [
    ("Q4_K - Medium", "Q4_K_M"), ("Q5_K - Small", "Q5_K_S"), ("Q3_K - Large", "Q3_K_L"), ("Q8_0", "Q8_0"),
    ("IQ4_XS - 4.25 bpw", "IQ4_XS"), ("IQ3_S mix - 3.66 bpw", "IQ3_M"), ("MXFP4 MoE", "MXFP4_MOE"),
    ("BF16", "BF16"), ("q4_k  -  medium", "Q4_K_M"), ("nonsense", None),
])
def test_quant_from_ftype(ftype, quant):
    """llama.cpp's file-type names map to the catalog's quant ids."""
    assert quant_from_ftype(ftype) == quant


@pytest.mark.parametrize("text,expected", [
    ("submit llama 3.1 8b on rtx 4090 q4_k_m llama.cpp ctx 8192 gen 140 pp 9000",
     {"action": "submit", "model": "llama 3.1 8b", "hardware": "rtx 4090", "quant": "Q4_K_M", "runtime": "llama.cpp",
      "ctx": 8192, "gen_tok_s": 140.0, "prompt_tok_s": 9000.0}),
    ("submit qwen3 8b on m4 max 45 tok/s b4567 https://gist.example/x",
     {"action": "submit", "gen_tok_s": 45.0, "runtime_version": "b4567", "log_url": "https://gist.example/x"}),
    ("confirm #12", {"action": "confirm", "id": 12}),
    ("mine", {"action": "mine"}),
    ("llama 3.1 8b on rtx 4080", {"model": "llama 3.1 8b", "hardware": "rtx 4080"}),
])
def test_bench_free_text(text, expected):
    """Slack / console text for /bench becomes the same options Discord sends."""
    out = parse_bench_text(text)
    for key, value in expected.items():
        assert out.get(key) == value, (key, out)


def test_bench_free_text_paste():
    """Pasted output after 'submit' (or alone) travels whole as the paste option."""
    out = parse_bench_text("submit " + OLLAMA)
    assert out["action"] == "submit" and "eval rate" in out["paste"]
    assert parse_bench_text(OLLAMA)["action"] == "submit"


@pytest.mark.parametrize("text,expected", [
    ("approve 12", {"action": "approve", "id": 12}),
    ("reject #7 numbers are from Q8_0", {"action": "reject", "id": 7, "reason": "numbers are from Q8_0"}),
    ("list", {"action": "list"}),
    ("", {}),
])
def test_review_free_text(text, expected):
    """/bench-review text: action, id, reason."""
    assert parse_review_text(text) == expected
