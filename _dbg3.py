import numpy as np, zlib
from bench.endpoint_quick import noise_only, EndpointConfig
from assistantd.endpoint.offline import analyse_pcm
rng = np.random.default_rng(zlib.crc32(b"clicks"))
tr = noise_only("clicks", 300, rng)
segs, trace = analyse_pcm(tr.pcm, EndpointConfig())
print(segs[:3], trace.cancelled[:3])
s = segs[0]
for i,t in enumerate(trace.t):
    if s.start - 0.1 < t < s.end + 0.8: print(f"{t:.2f} vad={trace.vad[i]:d} sp={trace.speech[i]:d} lvl={trace.level_db[i]:.1f} floor={trace.floor_db[i]:.1f} in={trace.in_utterance[i]:d}")
