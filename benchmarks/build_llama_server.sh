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
# The sdist straight from PyPI's JSON API: `pip download --no-binary` would build its build backends from source first.
url=$("$py" -c "
import json, sys, urllib.parse, urllib.request
index = 'https://pypi.org/pypi/llama-cpp-python/json'
files = json.load(urllib.request.urlopen(index))['releases'][sys.argv[1]]
print(urllib.parse.urljoin(index, next(f['url'] for f in files if f['packagetype'] == 'sdist')))" "$version")
"$py" -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" "$url" "$work/llama_cpp_python-$version.tar.gz"
tar xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(ls -d "$work"/llama_cpp_python-*/vendor/llama.cpp)
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$work/build" --target llama-server -j "${JOBS:-2}" >&2
mkdir -p "$out"
cp "$work/build/bin/llama-server" "$out/llama-server"
echo "$out/llama-server"
