#!/usr/bin/env bash
# Re-take the screenshots of the app's main journeys on a virtual screen (Xvfb), each in a fresh GENSTUDIO_HOME:
#     bash docs/screenshots/take.sh [PHOTO] [STYLE]
# Needs: xvfb, imagemagick (Debian: apt-get install -y xvfb imagemagick libxcb-cursor0 libxkbcommon-x11-0
# libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0).
# No trained model or downloaded weights: the procedural `shapes` generator and Gatys with random VGG features.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
photo=${1:-../shared/data/content/chelsea.png}
style=${2:-../shared/data/styles/brick.png}
py=${PYTHON:-python}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && py=.venv/bin/python  # the project's environment, when there is one
command -v xvfb-run >/dev/null || { echo "install xvfb: apt-get install -y xvfb imagemagick" >&2; exit 2; }

shoot() {  # shoot NAME SCENE [ARGS...]
  local name=$1 home
  shift
  home=$(mktemp -d)
  GENSTUDIO_HOME=$home QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$py" -m genstudio.gui.screenshots "$@" --shot "$here/$name.png"
  rm -rf "$home"
  if command -v convert >/dev/null && [ "$name" != stylize ]; then  # flat UI colours: 256 are plenty
    convert "$here/$name.png" -colors 256 "PNG8:$here/$name.png"
  fi
}

shoot canvas-provenance history
shoot gallery gallery --content "$photo" --style "$style"
shoot gallery-export gallery --menu
shoot stylize stylize --content "$photo" --style "$style"
echo "screenshots in $here"
