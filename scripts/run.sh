#!/usr/bin/env bash
# Install everything the daemon needs (Debian packages, .venv, pip) and run it on the embedded default
# (offline pocketsphinx recognizer, intents from config/intents/, handlers from config/assistant.yaml).
#
#   bash scripts/run.sh                 listen to the microphone, or, with none, run over the bundled sample
#   bash scripts/run.sh --input F.wav   run the whole pipeline over a recording
#
# Over a recording it prints one JSON line per utterance: time span, text, intent and slots, handler outcomes.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
apt_install
venv_install "[plot]"
SAMPLE=samples/wake_commands_in_noise.wav
[ -f "$SAMPLE" ] || .venv/bin/python -m bench.sample_recording "$SAMPLE" >/dev/null
.venv/bin/assistantd check-config --config config/assistant.yaml
if [ $# -gt 0 ]; then
    exec .venv/bin/assistantd run --config config/assistant.yaml "$@"
fi
if .venv/bin/assistantd devices | grep -q '^ *[0-9]'; then
    echo "run.sh: listening on the microphone (Ctrl-C to stop)" >&2
    exec .venv/bin/assistantd run --config config/assistant.yaml
fi
echo "run.sh: no microphone found; running the pipeline over $SAMPLE (flite voices in room noise; the wake word is "okay nabu")" >&2
exec .venv/bin/assistantd run --config config/assistant.yaml --input "$SAMPLE"
