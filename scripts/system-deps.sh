#!/usr/bin/env bash
# Debian packages Kaoping uses. Installs what is missing when it can (root or
# sudo); otherwise says what the app will do without them.
#   python3-venv             the virtual environment the two commands create
#   tesseract-ocr + chi_sim  OCR of scanned PDFs and photos
#   libreoffice-writer-nogui DOC/WPS/RTF/ODT conversion, report rendering checks
#   fonts-noto-cjk, fonts-wqy-zenhei  Chinese fonts for charts and rendered reports
#   poppler-utils            pdftoppm/pdftotext for checking rendered reports
#   chromium                 the browser the end-to-end tests drive (tests only)
#   postgresql               a throwaway server the database tests also run on (tests only)
set -euo pipefail
want=(python3-venv tesseract-ocr tesseract-ocr-chi-sim libreoffice-writer-nogui fonts-noto-cjk fonts-wqy-zenhei poppler-utils)
if [ "${1:-}" = "--tests" ]; then want+=(chromium postgresql); fi
missing=()
for pkg in "${want[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "提示：缺少系统软件包 ${missing[*]}，且无权限安装。扫描件 OCR、DOC/WPS 转换或浏览器测试将不可用，系统会给出明确提示。" >&2
  exit 0
fi
echo "安装系统软件包：${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
