#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` (parallel slots, continuous batching) from the llama.cpp
# sources vendored in the llama-cpp-python sdist on PyPI. Prints the binary's path.
# Usage: benchmarks/build_llama_server.sh [OUT_DIR]   (default: .parity/bin; about 10 min on 2 cores)
set -euo pipefail
out=${1:-.parity/bin}
if [ -x "$out/llama-server" ]; then echo "$out/llama-server"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=${PYTHON:-.venv/bin/python}
version=$("$py" -c "import llama_cpp; print(llama_cpp.__version__)")
"$py" -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work" >&2
tar xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(ls -d "$work"/llama_cpp_python-*/vendor/llama.cpp)
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$work/build" --target llama-server -j "${JOBS:-2}" >&2
mkdir -p "$out"
cp "$work/build/bin/llama-server" "$out/llama-server"
echo "$out/llama-server"
