#!/usr/bin/env bash
# Builds the one-folder desktop app with PyInstaller into build/pyinstaller/dist/remixer_app
# and proves that it starts: the frozen app runs its --smoke-test headless, and the
# build fails on a non-zero exit or on any import error in its output (a module the
# analysis missed often only shows up as a logged ImportError).
#
# Usage: bash packaging/build.sh        (PYTHON=/path/to/python to use another interpreter)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-$root/.venv/bin/python}"
if [ ! -x "$python" ]; then
    echo "error: no Python at $python; run 'make install' first or set PYTHON" >&2
    exit 1
fi

if ! "$python" -c "import PyInstaller" >/dev/null 2>&1; then
    echo "installing PyInstaller into $("$python" -c 'import sys; print(sys.prefix)')"
    "$python" -m pip install --quiet "pyinstaller>=6.3"
fi

out="$root/build/pyinstaller"
dist="$out/dist"
app="$dist/remixer_app/remixer_app"
log="$out/smoke-test.log"

"$python" -m PyInstaller --noconfirm --clean \
    --distpath "$dist" --workpath "$out/work" \
    packaging/remixer_app.spec

if [ ! -x "$app" ]; then
    echo "error: PyInstaller did not produce $app" >&2
    exit 1
fi

# A hung window must fail the build rather than block it; timeout is absent on macOS.
limiter=()
if command -v timeout >/dev/null 2>&1; then
    limiter=(timeout 120)
fi

echo "running the frozen app's smoke test"
set +e
QT_QPA_PLATFORM=offscreen ${limiter[@]+"${limiter[@]}"} "$app" --smoke-test >"$log" 2>&1
status=$?
set -e
cat "$log"

if [ "$status" -ne 0 ]; then
    echo "error: the frozen app's smoke test exited with status $status (log: $log)" >&2
    exit 1
fi
if grep -qE "ImportError|ModuleNotFoundError" "$log"; then
    echo "error: import errors in the frozen app's output (log: $log)" >&2
    exit 1
fi
# Playback may be unavailable on a build machine without a sound card, but never
# because the bundle lacks sounddevice.
if grep -q "sounddevice package is not installed" "$log"; then
    echo "error: the frozen app cannot import sounddevice (log: $log)" >&2
    exit 1
fi
echo "ok: $app starts and passes its smoke test"
