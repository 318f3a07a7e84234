"""The embedded engine: llama-cpp-python in process, output constrained by a JSON-schema grammar
checked token by token (see grammar.py for why not llama-cpp-python's own grammar path)."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from parity.errors import ParityError, interrupts_deferred
from parity.models.base import Completion, Request
from parity.models.grammar import GrammarFirst
from parity.models.structured import UNICODE_BLANKS

N_CTX = 4096
STRING_CHAR_LOOSE = r'char ::= [^"\\] |'
STRING_CHAR_STRICT = r'char ::= [^"\\\x7F\x00-\x1F] |'
# A string the schema requires non-empty starts `"\"" char`: its first character. Answer parsers strip
# every string and refuse a blank one, and fine-tuned models did end their JSON with `" "` (a failed
# case), so that first character must be a visible one (not whitespace as str.strip() reads it).
FIRST_CHAR = re.compile(r'"\\"" char(?![\w*+?{-])')
VISIBLE_CHAR = rf'visible-char ::= [^"\\\x7F\x00-\x20{UNICODE_BLANKS}] | "\\" ["\\/]'
GRAMMAR_REVISION = "gbnf-2"  # raise it when grammar_text changes what may be generated: cached answers are then stale


def grammar_text(schema: dict[str, Any]) -> str:
    """The GBNF grammar of a JSON schema: llama-cpp-python's converter, with strict JSON strings and no
    blank string where the schema requires a non-empty one."""
    from llama_cpp import LlamaGrammar

    text = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)._grammar
    # llama-cpp-python's converter lets raw control characters into strings, which strict JSON
    # forbids (sampled answers failed to parse); exclude them as llama.cpp's own converter does.
    text = text.replace(STRING_CHAR_LOOSE, STRING_CHAR_STRICT)
    if FIRST_CHAR.search(text):
        text = FIRST_CHAR.sub(r'"\\"" visible-char', text) + "\n" + VISIBLE_CHAR + "\n"
    return text


@lru_cache(maxsize=8)
def file_sha256(path: str) -> str:
    if not Path(path).is_file():
        raise ParityError("not a model file (a folder, or nothing, is there)", path, "point the spec at a .gguf file")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def load_llama(path: str, n_ctx: int = N_CTX, n_threads: int | None = None, lora: str | None = None) -> Any:
    """One loaded model per file (and GGUF LoRA) per process: loading is the slow part."""
    from llama_cpp import Llama

    # PARITY_LLAMA_THREADS: with several workers on one machine, more threads than cores in total
    # makes llama.cpp's thread barriers spin and everything crawl (measured: 3-4x slower).
    threads = n_threads or int(os.environ.get("PARITY_LLAMA_THREADS") or 0) or os.cpu_count() or 1
    try:
        llama = Llama(model_path=path, lora_path=lora, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, seed=0, verbose=False)
    except (RuntimeError, ValueError) as exc:
        if lora is None:
            raise ParityError(
                f"llama.cpp cannot load {path} ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})",
                None,
                "point the spec at a GGUF model file (parity export gguf NAME writes one)",
            ) from None
        raise ParityError(
            f"llama.cpp cannot apply the LoRA {lora} to {path} ({str(exc).splitlines()[0][:160]})",
            None,
            "export it for this base: parity export gguf NAME --lora",
        ) from None
    # Free it while the interpreter is intact; llama-cpp-python's own __del__ at shutdown can raise.
    atexit.register(llama.close)
    return llama


class _PromptTokenized(Exception):
    def __init__(self, tokens: list[int]):
        self.tokens = tokens


class _PromptCatcher:
    """Stands in for the Llama in llama-cpp-python's own chat path: that path formats the messages with
    the model's chat template and tokenizes the prompt, and the tokens are taken there, before any decoding."""

    def __init__(self, llama: Any):
        self._llama = llama

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)  # the chat format and handlers the real call would pick

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        raise _PromptTokenized(list(self._llama.tokenize(text, add_bos, special)))


def chat_prompt(llama: Any, messages: list[dict[str, str]]) -> list[int]:
    """The tokens `create_chat_completion(messages)` would feed the model: its own code, stopped at the
    prompt, so the template and special tokens are exactly those of a real call."""
    from llama_cpp import Llama

    catcher: Any = _PromptCatcher(llama)  # in the place of `self`: the same handler lookup a real call makes
    try:
        Llama.create_chat_completion(catcher, messages=cast(Any, messages), max_tokens=1)
    except _PromptTokenized as caught:
        return caught.tokens
    raise RuntimeError("llama-cpp-python's chat path never tokenized the prompt")


def chat_prompt_tokens(llama: Any, messages: list[dict[str, str]]) -> int:
    return len(chat_prompt(llama, messages))


class LlamaCppModel:
    def __init__(self, spec: str, path: Path, lora: Path | None = None):
        self.spec = spec
        self.path = path
        self.lora = lora  # a GGUF LoRA llama.cpp applies at run time
        self.identity = f"llamacpp:sha256:{file_sha256(str(path))}" + (f"+lora:sha256:{file_sha256(str(lora))}" if lora else "")
        self.constraint = GRAMMAR_REVISION
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()  # a llama.cpp context serves one request at a time

    def _grammar(self, schema: dict[str, Any]) -> Any:
        # Converting a schema to a grammar is pure overhead per call, so build it once per schema.
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema)  # property order is kept: it is the order the grammar generates fields in
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_string(grammar_text(schema), verbose=False)
        return self._grammars[key]

    def _llama(self) -> Any:
        return load_llama(str(self.path), lora=str(self.lora) if self.lora else None)

    def context_tokens(self, request: Request) -> tuple[int, int]:
        llama = self._llama()
        with self._lock:
            return chat_prompt_tokens(llama, list(request.messages)), int(llama.n_ctx())

    def prompt_token_ids(self, request: Request) -> list[int]:
        """Exactly what this engine feeds the model for the request's messages."""
        llama = self._llama()
        with self._lock:
            return chat_prompt(llama, list(request.messages))

    def complete(self, request: Request) -> Completion:
        from llama_cpp import LogitsProcessorList

        llama = self._llama()
        seed = request.seed + request.repeat  # sampled repeats must differ
        with self._lock:
            started = time.perf_counter()
            if request.schema:
                constrain = GrammarFirst(llama, self._grammar(request.schema), request.temperature, request.top_p, seed)
                try:
                    # The processor samples; llama-cpp-python only takes its one finite logit.
                    with interrupts_deferred():
                        out = llama.create_chat_completion(
                            messages=list(request.messages),
                            temperature=0.0,
                            max_tokens=request.max_tokens,
                            seed=seed,
                            logits_processor=LogitsProcessorList([constrain]),
                        )
                finally:
                    constrain.close()
            else:
                out = llama.create_chat_completion(
                    messages=list(request.messages),
                    temperature=request.temperature,
                    top_p=request.top_p,
                    max_tokens=request.max_tokens,
                    seed=seed,
                )
            latency = time.perf_counter() - started
        choice = out["choices"][0]
        usage = out.get("usage", {})
        return Completion(
            text=choice["message"]["content"] or "",
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=latency,
        )
