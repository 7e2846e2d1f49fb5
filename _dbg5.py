import numpy as np, zlib, dataclasses
from bench.endpoint_quick import noise_only, EndpointConfig
from assistantd.endpoint.offline import analyse_pcm
from assistantd.endpoint.vad import build_vad
rng = np.random.default_rng(zlib.crc32(b"clicks"))
tr = noise_only("clicks", 300, rng)
cfg = dataclasses.replace(EndpointConfig(), silero_threshold=0.5)
vad = build_vad(cfg)
segs, trace = analyse_pcm(tr.pcm, cfg, vad=vad)
print(segs[:5], sum(trace.rejected), vad.onset_check.chunks_run, vad.onset_check.last_probability)
