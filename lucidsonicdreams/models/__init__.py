"""StyleGAN networks in plain PyTorch (CPU, CUDA, MPS) and what reads their files: generators, FIR resampling ops."""
