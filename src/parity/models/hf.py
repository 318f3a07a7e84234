"""transformers in process: any local model folder or GGUF file, optionally with a PEFT LoRA adapter
on top (adapter-on-base, never merged), output constrained by xgrammar's JSON-schema grammar."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from parity.errors import ParityError
from parity.models.base import Completion, Request
from parity.models.llamacpp import file_sha256
from parity.models.structured import UNICODE_BLANKS, validate_output


def is_whole_model(folder: Path) -> bool:
    """A `--full` run's result: a transformers model folder, where a LoRA run leaves a PEFT adapter."""
    return (folder / "config.json").is_file() and not (folder / "adapter_config.json").is_file()


def folder_sha256(path: Path) -> str:
    """Content hash of a model or adapter folder: its files' names and hashes."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file_sha256(str(file)).encode())
    return digest.hexdigest()


def content_id(path: Path) -> str:
    return file_sha256(str(path)) if path.is_file() else folder_sha256(path)


def converted_dir() -> Path:
    """Where de-quantized GGUF models are kept as plain transformers folders (keyed by file hash)."""
    return Path(os.environ.get("PARITY_MODEL_CACHE", Path.home() / ".cache" / "parity" / "models"))


@lru_cache(maxsize=2)
def load_base(source: str) -> tuple[Any, Any]:
    """(tokenizer, model) in float32 on the CPU. A .gguf file is de-quantized into torch once, then
    kept as a transformers folder, because de-quantizing takes half a minute every time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # GGUF de-quantization draws its own bar over ours
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        return _load_folder(str(transformers_folder(Path(source))))
    except ParityError:
        raise
    except Exception as exc:
        raise ParityError(
            f"cannot load '{source}' with transformers ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
            None,
            "pass a local model folder or .gguf file",
        ) from None


def transformers_folder(source: Path) -> Path:
    """A plain transformers folder for `source`: the folder itself, or a GGUF de-quantized once into
    the model cache (a model loaded straight from GGUF refuses to save or train)."""
    if source.suffix != ".gguf":
        return source
    folder = converted_dir() / file_sha256(str(source))
    if not (folder / "config.json").is_file():
        _convert(source, folder)
    return folder


def _load_folder(folder: str) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return tokenizer, model


def _convert(gguf: Path, folder: Path) -> None:
    """De-quantize into a temp folder and rename it into place: no half-written model is ever loaded."""
    import shutil
    import tempfile

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(staging)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # A model loaded from GGUF keeps a quantization marker that refuses saving (and training):
        # rebuild it from its config without the marker and copy the de-quantized weights over.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        clean = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        clean.load_state_dict(loaded.state_dict())
        clean.save_pretrained(staging)
        staging.rename(folder)
    except OSError:
        if not (folder / "config.json").is_file():  # another process may have won the rename
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


GRAMMAR_REVISION = "xgrammar-2"  # raise it when json_grammar changes what may be generated: cached answers are then stale
# xgrammar writes a length-bounded string as `"\"" NAME_characters{MIN, MAX} "\""`. Answer parsers strip every
# string and refuse a blank one, so where MIN >= 1 the first character must be a visible one.
BOUNDED_STRING = re.compile(r'"\\"" (\w+)_characters\{(\d+), (-?\d+)\}')
VISIBLE_CHAR = rf"visible_char ::= [^\"\\\x00-\x20\x7f{UNICODE_BLANKS}]"


def json_grammar(schema: dict[str, Any]) -> Any:
    """xgrammar's grammar for a JSON schema, with no blank string where the schema requires a non-empty one."""
    import json

    import xgrammar as xgr

    def visible_first(match: re.Match[str]) -> str:
        name, low, high = match.group(1), int(match.group(2)), int(match.group(3))
        if low < 1:
            return match.group(0)
        return f'"\\"" visible_char {name}_characters{{{low - 1}, {high - 1 if high > 0 else high}}}'

    text = str(xgr.Grammar.from_json_schema(json.dumps(schema)))
    if not BOUNDED_STRING.search(text):
        return xgr.Grammar.from_ebnf(text)
    return xgr.Grammar.from_ebnf(BOUNDED_STRING.sub(visible_first, text) + "\n" + VISIBLE_CHAR + "\n")


class HFModel:
    def __init__(self, spec: str, source: Path, adapter: Path | None = None):
        self.spec = spec
        self.source = source
        self.adapter = adapter
        self.identity = f"hf:sha256:{content_id(source)}" + (f"+lora:sha256:{content_id(adapter)}" if adapter else "")
        self._lock = threading.Lock()
        self._model: Any = None
        self._grammars: dict[str, Any] = {}
        self.constraint = GRAMMAR_REVISION

    def _ready(self) -> tuple[Any, Any]:
        tokenizer, base = load_base(str(self.source))
        if self._model is None:
            if self.adapter is None:
                self._model = base
            else:
                import warnings

                from peft import PeftModel

                # A fresh copy per adapter: PeftModel injects layers into the model it wraps.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # transformers' checkpointing renames, asked by PEFT
                    self._model = PeftModel.from_pretrained(copy.deepcopy(base), str(self.adapter), is_trainable=False).eval()
        return tokenizer, self._model

    def _logits_processor(self, tokenizer: Any, model: Any, schema: dict[str, Any]) -> Any:
        import json

        import xgrammar as xgr
        from xgrammar.contrib.hf import LogitsProcessor

        key = json.dumps(schema)  # property order is the generation order
        if key not in self._grammars:
            info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size)
            self._grammars[key] = xgr.GrammarCompiler(info).compile_grammar(json_grammar(schema))
        return LogitsProcessor(self._grammars[key])  # one per generate() call

    def context_tokens(self, request: Request) -> tuple[int, int] | None:
        tokenizer, base = load_base(str(self.source))  # an adapter changes neither the tokenizer nor the context
        with self._lock:
            prompt = self._prompt(tokenizer, request)["input_ids"].shape[1]
        context = getattr(base.config, "max_position_embeddings", None)
        return (int(prompt), int(context)) if context else None

    def prompt_token_ids(self, request: Request) -> list[int]:
        """Exactly what this engine feeds the model: the tokenizer's chat template, as training applies it."""
        tokenizer, _ = load_base(str(self.source))
        with self._lock:
            return [int(t) for t in self._prompt(tokenizer, request)["input_ids"][0]]

    def _prompt(self, tokenizer: Any, request: Request) -> Any:
        return tokenizer.apply_chat_template(list(request.messages), add_generation_prompt=True, return_tensors="pt", return_dict=True)

    def complete(self, request: Request) -> Completion:
        import torch

        with self._lock:
            tokenizer, model = self._ready()
            inputs = self._prompt(tokenizer, request)
            prompt_len = inputs["input_ids"].shape[1]
            sampling = request.temperature > 0
            kwargs: dict[str, Any] = {"max_new_tokens": request.max_tokens, "do_sample": sampling, "pad_token_id": tokenizer.eos_token_id}
            if sampling:
                kwargs.update(temperature=request.temperature, top_p=request.top_p)
                torch.manual_seed(request.seed + request.repeat)
            if request.schema:
                kwargs["logits_processor"] = [self._logits_processor(tokenizer, model, request.schema)]
            started = time.perf_counter()
            with torch.inference_mode():
                output = model.generate(**inputs, **kwargs)
            latency = time.perf_counter() - started
        new_tokens = output[0, prompt_len:]
        ended = len(new_tokens) > 0 and int(new_tokens[-1]) == tokenizer.eos_token_id
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        parsed, problem = validate_output(text, request.schema)
        return Completion(
            text=text,
            finish_reason="length" if len(new_tokens) >= request.max_tokens and not ended else "stop",
            prompt_tokens=prompt_len,
            completion_tokens=len(new_tokens),
            latency_s=latency,
            parsed=parsed,
            extra={"schema_error": problem} if problem else {},
        )
