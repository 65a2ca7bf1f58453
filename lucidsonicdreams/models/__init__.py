"""Models: files in, networks out. StyleGAN pickles read as data (:mod:`.unpickle`), converted (:mod:`.convert`)
and cached (:mod:`.loader`) into this package's own PyTorch generators (:mod:`.stylegan2`, :mod:`.stylegan3`, on
:mod:`.layers` and :mod:`.ops`); diffusers pipelines loaded from safetensors only (:mod:`.pipelines`), shared by
the diffusion style and riffuse."""
