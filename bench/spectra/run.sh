#!/usr/bin/env bash
# Spectra benchmark (see run.py): bash bench/spectra/run.sh [path/to/forgetlens]
# Needs python3 with numpy and safetensors (pip install numpy safetensors).
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "${1:-.build/release/forgetlens}"
