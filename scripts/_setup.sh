# Shared by run.sh and test.sh: Debian packages, a virtualenv in .venv, and the package itself.
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(python3-venv python3-dev portaudio19-dev libsystemd-dev pkg-config gcc
              espeak-ng flite sox alsa-utils libasound2-plugins mosquitto)

apt_install() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

venv_install() {
    local extras="$1"
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
    # constraints.txt pins every version (scripts/lock.sh refreshes it): CI and every machine get the same set.
    .venv/bin/python -m pip install -q -c constraints.txt -e ".${extras}"
}
