#!/usr/bin/env bash
# Install assistantd as a systemd service on a Raspberry Pi (or any Debian machine). Idempotent.
#
#   sudo bash scripts/install.sh              install or upgrade, enable and start the service
#   sudo bash scripts/install.sh --uninstall  stop and remove the service and /opt/assistantd (keeps /etc/assistantd)
#   sudo bash scripts/install.sh --purge      like --uninstall, and also removes /etc/assistantd and the user
#
# ROOT=/some/dir installs into a staging tree instead of / (no user, no apt, no systemctl); used by the tests.
# --no-venv skips creating the virtualenv (tests).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=${ROOT:-}
OPT="$ROOT/opt/assistantd"
ETC="$ROOT/etc/assistantd"
UNIT_DIR="$ROOT/etc/systemd/system"
USER_NAME=assistantd
MODE=install
VENV=yes
for arg in "$@"; do
    case "$arg" in
        --uninstall) MODE=uninstall ;;
        --purge) MODE=purge ;;
        --no-venv) VENV=no ;;
        *) echo "install.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

live() { [ -z "$ROOT" ]; }
have_systemd() { live && [ -d /run/systemd/system ]; }
say() { echo "install.sh: $*"; }

if live && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo bash scripts/install.sh)" >&2
    exit 2
fi

if [ "$MODE" != install ]; then
    if have_systemd; then
        systemctl disable --now assistantd.service 2>/dev/null || true
    fi
    rm -f "$UNIT_DIR/assistantd.service"
    have_systemd && systemctl daemon-reload
    rm -rf "$OPT"
    say "removed the service and $OPT"
    if [ "$MODE" = purge ]; then
        rm -rf "$ETC"
        if live && id "$USER_NAME" >/dev/null 2>&1; then
            userdel "$USER_NAME" || true
        fi
        say "removed $ETC and the $USER_NAME user"
    else
        say "kept your configuration in $ETC (use --purge to remove it)"
    fi
    exit 0
fi

if live; then
    # shellcheck source=scripts/_setup.sh
    source "$SRC/scripts/_setup.sh"
    apt_install
    if ! id "$USER_NAME" >/dev/null 2>&1; then
        adduser --system --group --no-create-home --home /nonexistent "$USER_NAME" >/dev/null
        say "created system user $USER_NAME"
    fi
    usermod -a -G audio "$USER_NAME"
fi

install -d -m 0755 "$OPT" "$ETC" "$ETC/intents" "$ETC/sounds" "$UNIT_DIR"
install -d -m 0700 "$ETC/credentials"
if [ "$VENV" = yes ]; then
    [ -x "$OPT/venv/bin/python" ] || python3 -m venv "$OPT/venv"
    "$OPT/venv/bin/python" -m pip install -q --upgrade pip
    "$OPT/venv/bin/python" -m pip install -q -c "$SRC/constraints.txt" "$SRC"
    say "installed the package into $OPT/venv"
fi
install -m 0644 "$SRC/README.md" "$OPT/README.md"

# Configuration: never overwrite what the user has; ship the current example beside it instead.
copy_config() {
    local src="$1" dest="$2"
    if [ -e "$dest" ]; then
        if ! cmp -s "$src" "$dest"; then
            install -m 0644 "$src" "$dest.example"
            say "kept your $dest (the new example is $dest.example)"
        fi
    else
        install -m 0644 "$src" "$dest"
        say "installed $dest"
    fi
}
copy_config "$SRC/config/assistant.yaml" "$ETC/assistant.yaml"
for f in "$SRC"/config/intents/*.yaml; do
    [ -e "$f" ] && copy_config "$f" "$ETC/intents/$(basename "$f")"
done
for f in "$SRC"/config/sounds/*.wav; do
    [ -e "$f" ] && copy_config "$f" "$ETC/sounds/$(basename "$f")"
done

install -m 0644 "$SRC/systemd/assistantd.service" "$UNIT_DIR/assistantd.service"
if have_systemd; then
    systemctl daemon-reload
    systemctl enable assistantd.service >/dev/null
    systemctl restart assistantd.service
    say "assistantd is running: journalctl -u assistantd -f"
else
    say "unit installed to $UNIT_DIR (systemd is not running here; not started)"
fi
