#!/usr/bin/env bash
# What the desktop window costs the sweep it measures (issue 16 §3), measured from outside
# the app: CPU time per thread from /proc/PID/task/*/stat, split into the app's threads (the
# main thread, which lays out and draws, and `pooltune-monitor`) and the software renderer's
# (Mesa's `llvmpipe-*`), on a virtual X display (Xvfb) with software OpenGL.
#
#   scripts/window_cost.sh            idle window, window during a sweep, and the sweep's
#                                     throughput at 2 threads with the window against headless
#   IDLE_S=20 PAIRS=3 SIZE=1400x900 PROFILE=release scripts/window_cost.sh
#
# The throughput ratio is measured side by side: headless and windowed sweeps alternate
# (H, W, H, W, ...) and the medians are compared, so that a change of the machine's load
# between runs weighs on both. Run it when the machine is quiet; the CPU shares are per
# thread and much less sensitive to other load. Takes about 2-3 minutes.
#
# Needs Xvfb (Debian: apt-get install -y xvfb) and Mesa's software OpenGL.
set -euo pipefail
cd "$(dirname "$0")/.."

idle_s="${IDLE_S:-20}"
pairs="${PAIRS:-3}"
size="${SIZE:-1400x900}"

if ! command -v Xvfb >/dev/null; then
    echo "error: Xvfb not found; install it (Debian: apt-get install -y xvfb)" >&2
    exit 1
fi
# PROFILE=debug measures the debug build (its app threads cost more than release's).
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then
    cargo build --release --quiet
else
    cargo build --quiet
fi
bin="$PWD/target/$profile/pooltune"

work="$(mktemp -d)"
xvfb_pid=""
app_pid=""
cleanup() {
    [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A display of our own: the first free number from 90.
display=90
while [ -e "/tmp/.X${display}-lock" ] || [ -e "/tmp/.X11-unix/X${display}" ]; do
    display=$((display + 1))
done
Xvfb ":$display" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
sleep 1
export DISPLAY=":$display" LIBGL_ALWAYS_SOFTWARE=1 XDG_DATA_HOME="$work/state"

# The sweep: CPU-bound, 2 threads, long enough to hold a few repaints of every kind.
cat >"$work/sweep.toml" <<'EOF'
schema_version = 1
name = "window cost: CPU-bound at 2 threads"
[workload]
kind = "cpu"
compute_us = 2000
[pool]
kind = "rayon"
[sweep]
threads = [2]
trials = 8
trial_ms = 1000
warmup_ms = 300
EOF

# "app_seconds renderer_seconds" of process $1 now, from its threads' utime + stime.
ticks_per_s="$(getconf CLK_TCK)"
thread_seconds() {
    local pid="$1"
    for task in /proc/"$pid"/task/*; do
        printf '%s ' "${task##*/}"
        cat "$task/stat" 2>/dev/null || echo
    done | awk -v pid="$pid" -v hz="$ticks_per_s" '
        {
            tid = $1
            lp = index($0, "("); rp = 0
            for (i = length($0); i > 0; i--) if (substr($0, i, 1) == ")") { rp = i; break }
            if (!lp || !rp) next
            comm = substr($0, lp + 1, rp - lp - 1)
            n = split(substr($0, rp + 2), f, " ")
            cpu = (f[12] + f[13]) / hz
            if (comm ~ /^llvmpipe/) renderer += cpu
            else if (tid == pid || comm ~ /^pooltune-monit/) app += cpu
        }
        END { printf "%.3f %.3f\n", app, renderer }'
}

share() { # seconds-from seconds-to wall-seconds -> percent of one core
    awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.2f", (b - a) / s * 100 }'
}

now() { date +%s.%N; }

# 1. Idle: the window open on its defaults, live readings on, no run.
"$bin" --window-size "$size" >/dev/null 2>&1 &
app_pid=$!
sleep 6
read -r app0 ren0 <<<"$(thread_seconds "$app_pid")"
t0="$(now)"
sleep "$idle_s"
read -r app1 ren1 <<<"$(thread_seconds "$app_pid")"
t1="$(now)"
wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
idle_app="$(share "$app0" "$app1" "$wall")"
idle_ren="$(share "$ren0" "$ren1" "$wall")"
kill "$app_pid" 2>/dev/null || true
wait "$app_pid" 2>/dev/null || true
app_pid=""

throughput() { # the throughput at 2 threads in a result JSON
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(next(p["throughput_per_s"] for p in r["points"] if p["threads"] == 2))' "$1"
}

# 2. Sweeps, alternating headless and windowed. The windowed one is read every second
#    while it runs; its share is the last reading against the first (after start-up).
headless=()
windowed=()
run_app=()
run_ren=()
for i in $(seq 1 "$pairs"); do
    "$bin" sweep --preset "$work/sweep.toml" --format json --out "$work/h$i.json" >/dev/null 2>&1
    headless+=("$(throughput "$work/h$i.json")")

    "$bin" --preset "$work/sweep.toml" --run --result "$work/w$i.json" --window-size "$size" \
        --screenshot "$work/w$i.png" >/dev/null 2>&1 &
    app_pid=$!
    sleep 2
    read -r a0 r0 <<<"$(thread_seconds "$app_pid")"
    s0="$(now)"
    a1="$a0"; r1="$r0"; s1="$s0"
    while kill -0 "$app_pid" 2>/dev/null; do
        if reading="$(thread_seconds "$app_pid" 2>/dev/null)" && [ -n "$reading" ]; then
            read -r a r <<<"$reading"
            # A reading of a process that has just gone is empty or zero: not kept.
            if awk -v a="$a" -v b="$a1" 'BEGIN { exit !(a >= b) }'; then
                a1="$a"; r1="$r"; s1="$(now)"
            fi
        fi
        sleep 1
    done
    wait "$app_pid" 2>/dev/null || true
    app_pid=""
    span="$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')"
    run_app+=("$(share "$a0" "$a1" "$span")")
    run_ren+=("$(share "$r0" "$r1" "$span")")
    windowed+=("$(throughput "$work/w$i.json")")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

h="$(median "${headless[@]}")"
w="$(median "${windowed[@]}")"
echo "Window cost ($profile build) on $(nproc) CPUs, Xvfb ${size}, Mesa llvmpipe; load now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| state | app threads (main, monitor) | renderer threads (llvmpipe-*) |"
echo "|---|---|---|"
echo "| idle, live readings on (${idle_s} s) | ${idle_app}% of a core | ${idle_ren}% |"
echo "| during a CPU-bound sweep at 2 threads (median of ${pairs}) | $(median "${run_app[@]}")% | $(median "${run_ren[@]}")% |"
echo
echo "| sweep at 2 threads | throughput (median of ${pairs}) | each run |"
echo "|---|---|---|"
# Tasks per second to a tenth: the runs' spread is percents, not millionths.
tenths() { printf '%.1f ' "$@"; }
echo "| headless (pooltune sweep) | $(tenths "$h")tasks/s | $(tenths "${headless[@]}")|"
echo "| with the window open | $(tenths "$w")tasks/s | $(tenths "${windowed[@]}")|"
echo
awk -v h="$h" -v w="$w" 'BEGIN { printf "windowed / headless = %.3f (target >= 0.97)\n", w / h }'
