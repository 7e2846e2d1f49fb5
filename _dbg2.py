import sys, dataclasses, numpy as np
from bench.endpoint_quick import *
from assistantd.endpoint.offline import analyse_pcm
clips = speech_clips()
kind="fan"; rng = np.random.default_rng(zlib.crc32(kind.encode()))
for snr in (30,20,10):
    tr = build_track(clips, kind, snr, rng)
segs, trace = analyse_pcm(tr.pcm, EndpointConfig())
for i,t in enumerate(trace.t):
    if 19.3 < t < 20.5: print(f"{t:.2f} vad={trace.vad[i]:d} sp={trace.speech[i]:d} lvl={trace.level_db[i]:.1f} floor={trace.floor_db[i]:.1f} in={trace.in_utterance[i]:d}")
