#!/usr/bin/env bash
# 检查并安装 kefu 所需的 Debian 系统包。
# Check (and, as root, install) the Debian packages kefu needs.
#
# 用法 / usage: scripts/system-deps.sh [run|test]   (default: run)
#   run  : WeasyPrint (Pango/HarfBuzz), CJK fonts, python3-venv if needed
#   test : run + chromium, libatomic1, poppler-utils (pdftoppm), postgresql (the suite runs on
#          PostgreSQL too), nodejs + npm if missing
#
# KEFU_EXTRA_DEPS="pkg1 pkg2" appends extra package names to the check
# (useful to test this script, or to add a package locally).
set -euo pipefail

mode="${1:-run}"

pkgs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
# python3 may be pyenv's rather than Debian's: check that venv works, not the package.
if ! python3 -m venv --help >/dev/null 2>&1; then
    pkgs+=(python3-venv)
fi

case "$mode" in
    run) ;;
    test)
        pkgs+=(chromium libatomic1 poppler-utils postgresql)
        # Node.js and npm for the pinned browser audit tools (package.json); any install that
        # provides them will do (NodeSource's nodejs package includes npm).
        if ! command -v npm >/dev/null 2>&1; then
            pkgs+=(nodejs npm)
        fi
        ;;
    *)
        echo "usage: $0 [run|test]" >&2
        exit 2
        ;;
esac

if [[ -n "${KEFU_EXTRA_DEPS:-}" ]]; then
    read -r -a extra <<<"$KEFU_EXTRA_DEPS"
    pkgs+=("${extra[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "请先运行：sudo apt-get install -y ${missing[*]}" >&2
    echo "Run first: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
