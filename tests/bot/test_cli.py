"""The CLI contract other parts rely on: `willitrun --json` keys and exit codes."""

import json

from bot.cli import main

KEYS = {"model", "hardware", "quant", "ctx", "runtime", "backend", "memory", "budget", "fit", "gpu_layers",
        "total_layers", "decode_tok_s", "decode_tok_s_full", "prefill_tok_s", "ttft_s", "max_ctx",
        "best_quant", "evidence", "assumptions", "commands"}


def test_willitrun_json(capsys):
    """One JSON object with the promised keys, memory in bytes."""
    assert main(["willitrun", "llama 3.1 8b", "2x rtx 3090", "--ctx", "32k", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= out.keys()
    assert set(out["memory"]) == {"weights", "kv_cache", "compute", "overhead", "total"}
    assert out["ctx"] == 32768 and out["hardware"][0]["count"] == 2
    assert out["decode_tok_s"]["low"] <= out["decode_tok_s"]["expected"] <= out["decode_tok_s"]["high"]


def test_unknown_model_exit_2(capsys):
    """Unknown model: exit code 2 and suggestions on stderr."""
    assert main(["willitrun", "lama 3.1 8bb", "rtx 3090", "--json"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean" in err


def test_catalog_stats_json(capsys):
    """catalog stats --json prints the counts."""
    assert main(["catalog", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] >= 60
