"""Pydantic schemas for every fact family in the catalog.

All schemas are strict about keys (``extra="forbid"``): a misspelled key in a YAML file is an
error that names the file, the entry and the field, never a silently ignored value. Numbers
carry their unit in the field name (``_gib``, ``_gbps``, ``_w``, ``_usd``). Every entry that
states a numeric fact carries ``source`` (an https URL); a field sourced elsewhere names its
own URL in ``field_sources``. Unknown values are omitted (``None``), never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"id {value!r} must be lower-case letters, digits and . _ + - (e.g. 'rtx-3090')"
        )
    return value


def _check_url(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError(f"source {value!r} must be an https:// URL")
    return value


EntryId = Annotated[str, AfterValidator(_check_id)]
SourceUrl = Annotated[str, AfterValidator(_check_url)]


class Strict(BaseModel):
    """Base for catalog records: unknown keys are errors, values are immutable."""

    # defer_build: the schema validators are built on first validation, which only a catalog
    # rebuild does (a normal start unpickles the cached catalog); saves start-up time.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class SlidingWindow(Strict):
    """Local attention on some layers (Mistral v0.1, Gemma 2/3, gpt-oss, Llama 4, Cohere2...).

    ``pattern`` uses llama.cpp's convention (``hparams.set_swa_pattern``): in each group of
    ``pattern`` layers the last layer is full attention and the others are windowed; ``0``
    means every layer is windowed. Gemma 2 and gpt-oss use 2, Gemma 3 uses 6, Llama 4 uses 4.
    ``kind`` is ``chunked`` for Llama 4 style attention chunks (same memory rule, other mask).
    """

    window: int = Field(gt=0, description="tokens a windowed layer attends to")
    pattern: int = Field(ge=0)
    kind: Literal["sliding", "chunked"] = "sliding"


class MLA(Strict):
    """DeepSeek multi-head latent attention: the cache holds the compressed latent only."""

    kv_lora_rank: int = Field(gt=0)
    q_lora_rank: int | None = Field(default=None, gt=0)
    qk_rope_head_dim: int = Field(gt=0)
    qk_nope_head_dim: int = Field(gt=0)
    v_head_dim: int = Field(gt=0)


class MoE(Strict):
    num_experts: int = Field(gt=1)
    experts_per_token: int = Field(gt=0)
    expert_intermediate_size: int = Field(gt=0)
    num_shared_experts: int = Field(default=0, ge=0)
    shared_expert_intermediate_size: int | None = Field(
        default=None, gt=0, description="when it differs from expert_intermediate_size"
    )
    first_dense_layers: int = Field(
        default=0, ge=0, description="leading layers with a dense FFN (DeepSeek first_k_dense_replace)"
    )
    moe_layer_step: int = Field(
        default=1, ge=1, description="every Nth layer is MoE, the others dense (Llama 4 Maverick: 2)"
    )

    @model_validator(mode="after")
    def _k_le_n(self) -> MoE:
        if self.experts_per_token > self.num_experts:
            raise ValueError("experts_per_token cannot exceed num_experts")
        return self


class Architecture(Strict):
    """Architecture values exactly as the model's config.json states them."""

    hf_architecture: str = Field(description="config.json 'architectures'[0], e.g. LlamaForCausalLM")
    num_layers: int = Field(gt=0, le=256)
    hidden_size: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0, description="key (and query) head dim")
    value_head_dim: int | None = Field(default=None, gt=0, description="only where it differs")
    intermediate_size: int = Field(gt=0, description="dense FFN size (MoE models: dense layers)")
    vocab_size: int = Field(gt=0)
    max_context: int = Field(gt=0)
    tied_embeddings: bool
    attention: Literal["mha", "gqa", "mqa", "mla"]
    attention_bias: bool = Field(default=False, description="q/k/v projections carry a bias (Qwen2)")
    sliding_window: SlidingWindow | None = None
    mla: MLA | None = None
    moe: MoE | None = None
    vision_params_b: float | None = Field(
        default=None, gt=0, description="vision tower + projector parameters, when the model has one"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Architecture:
        if self.num_attention_heads % self.num_kv_heads:
            raise ValueError("num_attention_heads must be a multiple of num_kv_heads")
        kind_by_heads = (
            "mha" if self.num_kv_heads == self.num_attention_heads
            else "mqa" if self.num_kv_heads == 1
            else "gqa"
        )
        if self.attention == "mla":
            if self.mla is None:
                raise ValueError("attention 'mla' needs the mla block")
        elif self.attention != kind_by_heads:
            raise ValueError(
                f"attention is {self.attention!r} but the head counts say {kind_by_heads!r}"
            )
        if self.mla is not None and self.attention != "mla":
            raise ValueError("an mla block needs attention 'mla'")
        return self


class ModelSpec(Strict):
    id: EntryId
    name: str
    family: str
    developer: str
    aliases: list[str] = []
    hf_repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    ollama_tags: list[str] = []
    license: str
    release_date: dt.date | None = None
    params_total_b: float = Field(gt=0, le=3000)
    params_active_b: float | None = Field(default=None, gt=0, description="MoE only")
    modalities: list[Literal["text", "vision", "audio"]] = ["text"]
    architecture: Architecture
    notes: str | None = None
    source: SourceUrl = Field(description="the config.json this architecture was read from")
    field_sources: dict[str, SourceUrl] = {}

    @model_validator(mode="after")
    def _active(self) -> ModelSpec:
        moe = self.architecture.moe
        if moe is None and self.params_active_b is not None:
            raise ValueError("params_active_b is for MoE models only")
        if moe is not None and self.params_active_b is None:
            raise ValueError("an MoE model needs params_active_b")
        if self.params_active_b is not None and self.params_active_b > self.params_total_b:
            raise ValueError("params_active_b cannot exceed params_total_b")
        return self

    @property
    def active_params_b(self) -> float:
        return self.params_active_b or self.params_total_b


# --------------------------------------------------------------------------------------------
# Hardware
# --------------------------------------------------------------------------------------------

Backend = Literal["cuda", "rocm", "metal", "vulkan", "sycl", "cpu"]


class HardwareSpec(Strict):
    id: EntryId
    name: str
    vendor: Literal["nvidia", "amd", "intel", "apple", "qualcomm"]
    kind: Literal["discrete_gpu", "unified", "cpu"]
    segment: Literal["consumer", "laptop", "workstation", "datacenter", "apple", "apu", "system"]
    memory_gib: list[float] = Field(
        min_length=1,
        description="memory options in GiB-as-marketed (24 for a 24 GB card); Apple chips list each option",
    )
    memory_type: str | None = None
    memory_bandwidth_gbps: float = Field(gt=0, le=20000, description="GB/s, decimal, peak")
    fp16_tensor_tflops: float | None = Field(
        default=None, gt=0, le=5000, description="dense FP16 matrix throughput (no sparsity)"
    )
    gpu_cores: int | None = Field(default=None, gt=0, description="Apple GPU cores / CPU cores for CPUs")
    tdp_w: float | None = Field(default=None, gt=0, le=2000)
    backends: list[Backend] = Field(min_length=1)
    release_year: int = Field(ge=2012, le=2027)
    launch_price_usd: float | None = Field(default=None, gt=0)
    aliases: list[str] = []
    notes: str | None = None
    source: SourceUrl
    field_sources: dict[str, SourceUrl] = {}

    @model_validator(mode="after")
    def _memory_sorted(self) -> HardwareSpec:
        if sorted(set(self.memory_gib)) != list(self.memory_gib):
            raise ValueError("memory_gib options must be ascending and unique")
        if any(m <= 0 or m > 2048 for m in self.memory_gib):
            raise ValueError("memory_gib options must be in (0, 2048]")
        return self


# --------------------------------------------------------------------------------------------
# Runtimes
# --------------------------------------------------------------------------------------------


class ContextTier(Strict):
    """A default context that depends on the memory of the machine (Ollama since 0.11)."""

    min_memory_gib: float = Field(ge=0)
    context: int = Field(gt=0)


class RuntimeDefaults(Strict):
    """Defaults that change memory use. Omitted means the runtime has no such knob."""

    context: int | None = Field(default=None, gt=0, description="default context when not set")
    context_tiers: list[ContextTier] = Field(
        default_factory=list, description="default context by total GPU memory, ascending"
    )
    context_rule: str | None = Field(default=None, description="how the default context is chosen")
    n_batch: int | None = Field(default=None, gt=0)
    n_ubatch: int | None = Field(default=None, gt=0)
    flash_attention: Literal["on", "off", "auto"] | None = None
    kv_cache_type: str | None = None
    parallel: int | None = Field(default=None, gt=0)
    parallel_rule: str | None = None
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    source: SourceUrl


class RuntimeSpec(Strict):
    id: EntryId
    name: str
    aliases: list[str] = []
    formats: list[str] = Field(min_length=1)
    backends: list[Backend] = Field(min_length=1)
    engine: str | None = Field(default=None, description="the engine it wraps, e.g. llama.cpp")
    defaults: RuntimeDefaults
    commands: dict[str, str] = Field(
        default_factory=dict, description="command templates with {placeholders}"
    )
    homepage: SourceUrl
    license: str | None = None
    notes: str | None = None
    source: SourceUrl


# --------------------------------------------------------------------------------------------
# Quantization
# --------------------------------------------------------------------------------------------


class GgmlType(Strict):
    """A ggml tensor type: ``type_size_bytes`` per block of ``block_size`` values."""

    name: str = Field(pattern=r"^[A-Z0-9_]+$")
    block_size: int = Field(gt=0)
    type_size_bytes: int = Field(gt=0)
    source: SourceUrl

    @property
    def bits_per_weight(self) -> float:
        return self.type_size_bytes * 8 / self.block_size


class QuantPreset(Strict):
    """A quantization users pick by name (Q4_K_M, AWQ-int4, MLX-4bit ...).

    GGUF presets name the llama.cpp ftype; the per-tensor choices are llama.cpp's
    ``llama_tensor_get_type`` rules, implemented in bot/estimator/gguf_quant.py.
    Other formats give an effective bits per weight for quantized linear layers.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_.+-]+$")
    format: Literal["gguf", "safetensors", "awq", "gptq", "mlx", "exl2", "exl3", "fp8", "bnb"]
    aliases: list[str] = []
    base_type: str | None = Field(default=None, description="GGUF: the ggml type most tensors use")
    bits_per_weight: float | None = Field(
        default=None, gt=0, le=32, description="non-GGUF: effective bits of quantized linear weights"
    )
    unquantized_bits: float = Field(
        default=16, description="bits of the tensors the format leaves unquantized (embeddings, norms)"
    )
    quality: Literal["lossless", "near-lossless", "good", "fair", "poor"]
    runtimes: list[str] = Field(min_length=1)
    description: str
    source: SourceUrl

    @model_validator(mode="after")
    def _bits(self) -> QuantPreset:
        if self.format == "gguf" and self.base_type is None:
            raise ValueError("a GGUF preset needs base_type")
        if self.format != "gguf" and self.bits_per_weight is None:
            raise ValueError("a non-GGUF preset needs bits_per_weight")
        return self


class QuantCatalog(Strict):
    ggml_types: list[GgmlType]
    presets: list[QuantPreset]


# --------------------------------------------------------------------------------------------
# Content: glossary, errors KB, quick answers, API prices, benchmarks
# --------------------------------------------------------------------------------------------

GlossaryCategory = Literal[
    "hardware", "memory", "quantization", "architecture", "runtimes", "inference", "training",
    "evaluation",
]


class GlossaryEntry(Strict):
    """A glossary term. Numbers about real models are written as estimator placeholders
    (see catalog/placeholders.py) so they always agree with what the estimator computes."""

    id: EntryId
    term: str
    category: GlossaryCategory
    aliases: list[str] = []
    definition: str = Field(min_length=20, max_length=400)
    deep_dive: str = Field(min_length=80)
    example: str = Field(min_length=40)
    workflow: str = Field(min_length=10, description="a command or step that shows it in practice")
    related: list[EntryId] = []
    source: SourceUrl | None = Field(default=None, description="for a stated fact, where it is from")


ErrorCategory = Literal[
    "llama.cpp", "ollama", "lm-studio", "vllm", "pytorch-cuda", "rocm", "metal-mlx", "drivers",
    "gguf-format", "python-pip",
]


class ErrorEntry(Strict):
    id: EntryId
    title: str
    category: ErrorCategory
    patterns: list[str] = Field(min_length=1, description="regexes (case-insensitive) the tools print")
    examples: list[str] = Field(min_length=1, description="real log lines each matched by a pattern")
    cause: str = Field(min_length=20)
    fix_steps: list[str] = Field(min_length=1)
    related: list[EntryId] = []
    computed_fix: Literal["max_ctx", "best_quant", "gpu_layers", "kv_cache_type"] | None = None
    source: SourceUrl | None = Field(default=None, description="where the message is printed")


class QuickAnswer(Strict):
    id: EntryId
    title: str
    aliases: list[str] = []
    answer: str = Field(min_length=40, max_length=1800)
    related: list[str] = []


class ApiPrice(Strict):
    id: EntryId
    provider: str
    model: str
    aliases: list[str] = []
    input_usd_per_mtok: float = Field(ge=0)
    output_usd_per_mtok: float = Field(ge=0)
    as_of: dt.date
    source: SourceUrl


class BenchmarkRecord(Strict):
    """A curated measurement shipped with the catalog (evidence ``measured``)."""

    model: EntryId
    quant: str
    hardware: EntryId
    count: int = Field(default=1, ge=1)
    backend: Backend
    runtime: EntryId
    test: str = Field(pattern=r"^(tg|pp)\d+$")
    tok_s: float = Field(gt=0)
    depth: int = Field(default=0, ge=0, description="context depth the test ran at")
    notes: str | None = None
    source: str = Field(min_length=10, description="where it was published")
