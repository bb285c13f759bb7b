#!/usr/bin/env bash
# Takes the README's screenshot from the real app: opens the window on a virtual X display
# (Xvfb, 1400x900), runs a shipped preset to the end, and lets the app save a PNG of its own
# window (`--screenshot`) before it closes.
#
#   scripts/screenshot.sh [PRESET] [OUT]     defaults: presets/web-service.toml assets/screenshot.png
#   scripts/screenshot.sh cost [OUT]          the "Worker cost" tab after its default run
#                                             (default OUT: assets/screenshot-cost.png)
#
# Needs xvfb-run (Debian: apt-get install -y xvfb) and the OpenGL software renderer (Mesa).
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-presets/web-service.toml}"
if [ "$preset" = cost ]; then
    out="${2:-assets/screenshot-cost.png}"
    open_args=(--tab cost --run)
else
    out="${2:-assets/screenshot.png}"
    open_args=(--preset "$preset" --run)
fi

if ! command -v xvfb-run >/dev/null; then
    echo "error: xvfb-run not found; install it (Debian: apt-get install -y xvfb)" >&2
    exit 1
fi

cargo build --release --quiet
mkdir -p "$(dirname "$out")"

# A fresh remembered state (eframe keeps it under XDG_DATA_HOME), so the window opens at
# its default size and theme whatever was used last.
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT

XDG_DATA_HOME="$state" LIBGL_ALWAYS_SOFTWARE=1 \
    timeout 900 xvfb-run -a -s "-screen 0 1400x900x24" \
    target/release/pooltune "${open_args[@]}" --screenshot "$out"

if [ ! -s "$out" ]; then
    echo "error: the app closed without writing $out" >&2
    exit 1
fi
echo "wrote $out"
