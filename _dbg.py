import sys, dataclasses, numpy as np
from bench.endpoint_quick import *
from assistantd.endpoint.offline import analyse_pcm
clips = speech_clips()
over = dict(kv.split("=") for kv in sys.argv[2:])
cfg = dataclasses.replace(EndpointConfig(), **{k: type(getattr(EndpointConfig(), k))(v) for k, v in over.items()})
for kind in sys.argv[1].split(","):
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    for snr in (30, 20, 10, 5):
        tr = build_track(clips, kind, snr, rng)
        segs, trace = analyse_pcm(tr.pcm, cfg)
        vadfrac = np.mean(trace.vad); spfrac = np.mean(trace.speech)
        miss = [ (round(a,2), round(b,2)) for a,b in tr.truth if not any(g.start<b and g.end>a for g in segs)]
        print(kind, snr, "vad%.2f speech%.2f" % (vadfrac, spfrac), "miss", miss, "cancelled", [(round(c.start,2), round(c.end,2)) for c in trace.cancelled])
    tr = noise_only(kind, 120, rng)
    segs, trace = analyse_pcm(tr.pcm, cfg)
    print(kind, "noise vad%.2f speech%.2f" % (np.mean(trace.vad), np.mean(trace.speech)), "segs", [(round(g.start,2), round(g.end,2)) for g in segs][:8])
