#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the app needs at run time (PortAudio for
# playback, the GL/xkb/fontconfig libraries Qt loads, FluidSynth and a General MIDI
# soundfont for making classical data). Missing packages are
# installed with apt-get when we are root or have password-less sudo; otherwise the
# script says exactly what to install and carries on, because the app and the test
# suite both run without PortAudio (playback is then reported as unavailable).
set -u
missing=()
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: not a Debian/Ubuntu system; please install the equivalents of: ${missing[*]}" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "note: missing system packages: ${missing[*]}" >&2
    echo "      install them with: sudo apt-get install ${missing[*]}" >&2
    exit 0
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "warning: apt-get could not install ${missing[*]}; playback or classical data may be unavailable" >&2
exit 0
