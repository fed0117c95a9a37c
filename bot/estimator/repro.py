"""The exact commands that reproduce a verdict's configuration in each runtime."""

from __future__ import annotations

from .fit import FitResult

_KV_FLAG = {"f16": "", "q8_0": " -ctk q8_0 -ctv q8_0", "q4_0": " -ctk q4_0 -ctv q4_0"}


def gguf_name(result: FitResult) -> str:
    repo = result.request.model.hf_repo.split("/")[-1]
    return f"{repo}-{result.request.quant.id}.gguf"


def commands(result: FitResult) -> dict[str, str]:
    req = result.request
    model = req.model
    out: dict[str, str] = {}
    ngl = 99 if result.gpu_layers >= result.total_layers else max(result.gpu_layers, 0)
    if req.quant.format == "gguf":
        fa = " -fa on" if req.flash_attn else " -fa off"
        kv = _KV_FLAG.get(req.kv_type, "") if req.flash_attn or req.kv_type == "f16" else f" -ctk {req.kv_type}"
        # llama-server's default slots share one KV buffer; only say -np when it differs.
        np = f" -np {req.parallel}" if req.parallel != (req.runtime.defaults.parallel or 1) else ""
        out["llama.cpp"] = f"llama-server -m {gguf_name(result)} -c {req.ctx} -ngl {ngl}{fa}{kv}{np}"
        if model.ollama_tags:
            tag = model.ollama_tags[0]
            env = [f"OLLAMA_CONTEXT_LENGTH={req.ctx}"]
            if req.flash_attn:
                env.append("OLLAMA_FLASH_ATTENTION=1")
            if req.kv_type in ("q8_0", "q4_0"):
                env.append(f"OLLAMA_KV_CACHE_TYPE={req.kv_type}")
            if req.parallel > 1:
                env.append(f"OLLAMA_NUM_PARALLEL={req.parallel}")
            out["Ollama"] = f"{' '.join(env)} ollama serve\nollama run {tag}   # or in the chat: /set parameter num_ctx {req.ctx}"
    elif req.quant.format in ("safetensors", "fp8", "awq", "gptq"):
        tp = len(result.devices) or 1
        extra = ""
        if req.quant.format == "fp8":
            extra = " --quantization fp8"
        if req.kv_type == "fp8":
            extra += " --kv-cache-dtype fp8"
        out["vLLM"] = (f"vllm serve {model.hf_repo} --max-model-len {req.ctx} --tensor-parallel-size {tp}"
                       f" --gpu-memory-utilization {req.gpu_memory_utilization:g}{extra}")
    elif req.quant.format == "mlx":
        bits = int(req.quant.bits_per_weight or 4)
        out["MLX"] = (f"mlx_lm.convert --hf-path {model.hf_repo} -q --q-bits {bits} --mlx-path ./mlx-model\n"
                      f"mlx_lm.server --model ./mlx-model")
    return out
