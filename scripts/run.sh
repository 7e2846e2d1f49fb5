#!/usr/bin/env bash
# Install everything the daemon needs and run it on the embedded default.
# With no microphone, pass --input FILE.wav to run the pipeline over a recording.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
apt_install
venv_install "[plot]"
.venv/bin/assistantd check-config --config config/assistant.yaml
exec .venv/bin/assistantd segments "${1:-tests/data/commands_in_noise.wav}" --config config/assistant.yaml
