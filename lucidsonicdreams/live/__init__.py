"""Live mode: the picture plays along with sound as it arrives (a sound device, or a file in real time).

In: blocks of samples. Out: frames, each drawn from what was heard up to its time, never later. The analysis
here is causal; the vectors use the latent stage's own per-frame maths, and the frames the same styles and
effects as an offline render.
"""
