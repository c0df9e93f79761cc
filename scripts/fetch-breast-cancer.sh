#!/usr/bin/env bash
# Extracts the Wisconsin breast cancer CSV (569 samples, 30 features) from Debian's
# python3-sklearn package into data/breast_cancer.csv, without installing the package.
# Its first line is "569,30,malignant,benign", not column names, so load it with skip-lines 1.
# Does nothing when the file is already there and non-empty. Needs apt-get and dpkg-deb.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/data/breast_cancer.csv"
member=sklearn/datasets/data/breast_cancer.csv

if [ -s "$dest" ]; then
  echo "fetch-breast-cancer: $dest already exists, nothing to do"
  exit 0
fi

work=$(mktemp -d)
partial=""
cleanup() {
  rm -rf "$work"
  if [ -n "$partial" ]; then rm -f "$partial"; fi
}
trap cleanup EXIT

# As root, apt-get download drops privileges to the _apt user, which must be able to write the
# target directory. Otherwise apt warns and downloads as root without its sandbox.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chown _apt "$work"
fi

download() {
  (cd "$work" && apt-get -qq download python3-sklearn)
}

# An empty or stale package list makes the download fail, so refresh it once and retry.
if ! download; then
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  download
fi

deb=$(find "$work" -maxdepth 1 -name 'python3-sklearn_*.deb' -print -quit)
if [ -z "$deb" ]; then
  echo "fetch-breast-cancer: apt-get download produced no python3-sklearn .deb;" \
    "check the apt sources in /etc/apt" >&2
  exit 1
fi
dpkg-deb -x "$deb" "$work/extract"

src=$(find "$work/extract" -path "*/$member" -print -quit)
if [ -z "$src" ] || [ ! -s "$src" ]; then
  echo "fetch-breast-cancer: $member not found in $(basename "$deb")" >&2
  exit 1
fi

# Copy under a temporary name in data/ and rename, so that an interrupted run never leaves a
# truncated data/breast_cancer.csv behind.
mkdir -p "$root/data"
partial=$(mktemp "$root/data/.breast_cancer.csv.XXXXXX")
cp "$src" "$partial"
chmod 644 "$partial"
mv "$partial" "$dest"
partial=""
echo "fetch-breast-cancer: wrote $dest ($(wc -l <"$dest") lines) from $(basename "$deb")"
