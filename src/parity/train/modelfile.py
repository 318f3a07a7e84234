"""An Ollama `Modelfile` beside each GGUF export, so a model served by Ollama is prompted as it was
trained: Ollama picks a template by guessing from the GGUF, and a wrong guess (another template, a
missing default system prompt) is one of the ways a served adapter loses its gains. parity writes
the template out in Ollama's Go syntax for the chat formats it can translate exactly (ChatML, the
format of SmolLM2, Qwen and others) and says so in the file where it cannot."""

from __future__ import annotations

import re
from pathlib import Path

from parity.io import atomic_write_text

CHATML_TEMPLATE = """{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""
DEFAULT_SYSTEM = re.compile(r"<\|im_start\|>system\n(.+?)<\|im_end\|>", re.S)


def chat_template(gguf_file: Path) -> str | None:
    import gguf

    field = gguf.GGUFReader(str(gguf_file)).fields.get("tokenizer.chat_template")
    return str(field.contents()) if field is not None else None


def is_chatml(template: str) -> bool:
    return "<|im_start|>" in template and "<|im_end|>" in template and "message['role']" in template


def modelfile(model: Path, template: str | None, adapter: Path | None = None) -> str:
    """The Modelfile text: FROM the model (the base, for a LoRA), ADAPTER the LoRA, and the template."""
    lines = ["# written by parity export gguf; serve it with: ollama create NAME -f THIS_FILE", f"FROM {model}"]
    if adapter is not None:
        lines.append(f"ADAPTER {adapter}")
    if template is not None and is_chatml(template):
        lines.append(f'TEMPLATE """{CHATML_TEMPLATE}"""')
        default = DEFAULT_SYSTEM.search(template)
        if default and "!= 'system'" in template:
            # The template adds this system message when a request has none; Ollama does the same with SYSTEM.
            lines.append(f'SYSTEM """{default.group(1)}"""')
        lines.append('PARAMETER stop "<|im_end|>"')
    else:
        lines.append("# TEMPLATE: parity cannot translate this chat template into Ollama's syntax; Ollama will guess one from the")
        lines.append("# GGUF. Check the served prompt with: parity analyze serving NAME --endpoint openai:NAME@http://127.0.0.1:11434/v1")
    return "\n".join(lines) + "\n"


def write_modelfile(model: Path, template: str | None, adapter: Path | None = None) -> Path:
    """Beside the file it serves (the LoRA's, for an adapter): NAME-QUANT.Modelfile."""
    beside = adapter if adapter is not None else model
    out = beside.with_suffix(".Modelfile")
    atomic_write_text(out, modelfile(model, template, adapter))
    return out
