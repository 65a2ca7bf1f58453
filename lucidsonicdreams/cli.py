"""Command line: ``lucidsonicdreams render | styles | ui | demo | spectrogram | sonify | riffuse |
images-that-sound``.

Every ``hallucinate`` parameter becomes a ``--kebab-case`` option, declared once from its signature. User
mistakes print one line and exit with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .app.page import serve
from .audio.demo import write_demo_song
from .canvas import images_that_sound
from .canvas.result import numbered
from .catalog.entries import show_styles
from .dream import LucidSonicDream, render_album
from .errors import USER_ERRORS
from .live.command import add_live_command, run_live
from .render import arguments
from .render.arguments import ARGUMENTS
from .spectrogram import CLIP_SECONDS, FORMATS, image_to_wav, song_to_image
from .spectrogram.auffusion import CLIP_SECONDS as AUFFUSION_SECONDS
from .spectrogram.riffuse import DEFAULT_MODEL as RIFFUSION_MODEL
from .spectrogram.riffuse import GUIDANCE_SCALE as RIFFUSE_GUIDANCE
from .spectrogram.riffuse import STEPS as RIFFUSE_STEPS
from .spectrogram.riffuse import STRENGTH as RIFFUSE_STRENGTH
from .spectrogram.riffuse import riffuse_to_file
from .style.diffusion import DiffusionStyle
from .style.resolve import DEFAULT_STYLE
from .utils import checks as validation
from .version import __version__

_STEMS = ("pulse_audio", "motion_audio", "class_audio", "contrast_audio", "flash_audio")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _number_or_schedule(text: str) -> int | float | str:
    """A number, or a schedule string (``"0:(0.2), 1:04:(1.0)"``), which hallucinate checks."""
    return text if ":" in text else _number(text)


def _seconds(text: str) -> float:
    value = _number(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return float(value)


def _resolution(text: str) -> int | tuple[int, int]:
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution must be N or WIDTHxHEIGHT, got {text!r}") from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise argparse.ArgumentTypeError(f"resolution must be N or WIDTHxHEIGHT, got {text!r}")


# How each kind of command-line form is read.
_CLI_FORMS = {
    "number": {"type": _number, "metavar": "N"},
    "schedule": {"type": _number_or_schedule, "metavar": "N|SCHEDULE"},
    "flag": {"action": argparse.BooleanOptionalAction},
    "resolution": {"type": _resolution, "metavar": "N|WxH"},
    "ints": {"type": int, "nargs": "+", "metavar": "N"},
    "numbers": {"type": _number, "nargs": "+", "metavar": "N"},
    "file": {"metavar": "FILE"},
    "address": {"metavar": "ADDRESS"},
    "snap": {"choices": ["beat", "bar"]},
}


def _add_render_options(parser: argparse.ArgumentParser, defaults: dict[str, object]) -> None:
    """One option per ``hallucinate`` argument that has a command-line form, as :mod:`.render.arguments`
    declares it; ``defaults`` replaces some defaults (the demo's)."""
    for argument in ARGUMENTS:
        if argument.cli is None:
            continue
        default = defaults.get(argument.name, argument.default)
        kwargs: dict = {"default": default, "dest": argument.name, "help": argument.help}
        kwargs.update(_CLI_FORMS[argument.cli])
        if default is not None and not isinstance(default, bool):
            kwargs["help"] += f" (default: {default})"
        if argument.name == "sections":  # its third value, as a flag of its own (an optional value would take
            # the song that follows: "render --sections song.mp3")
            parser.add_argument("--sections-repeat", dest="sections", action="store_const", const="repeat",
                                default=default, help="sections of the same kind (a chorus that comes back) return "
                                "to the same look")
        parser.add_argument("--" + argument.name.replace("_", "-"), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lucidsonicdreams", description="Turn music into video.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="render a music video from a song (or an album of them)",
                                 description="Render a music video from a song; give several songs and a folder "
                                             "(-o out/) to render an album, one video per song.")
    render.add_argument("songs", nargs="+", metavar="SONG", help="audio file: wav, mp3, ogg, flac, m4a, ...")
    render.add_argument("-o", "--output", dest="file_name",
                        help="video file to write (default: SONG.mp4 here); with several songs, the folder for "
                             "their videos (SONG.mp4 each)")
    render.add_argument("--style", default=DEFAULT_STYLE,
                        help=f"style name from `lucidsonicdreams styles`, a StyleGAN .pkl file, or with --prompt a "
                             f"diffusion model: catalog name, hub id, diffusers folder or .safetensors file (default: "
                             f"{DEFAULT_STYLE})")
    diffusion = render.add_argument_group("diffusion styles (need `pip install lucidsonicdreams[diffusion]`)")
    diffusion.add_argument("--prompt", dest="prompts", action="append", metavar="TEXT",
                           help="a prompt; repeat for more: the 12 pitches weight them as classes")
    diffusion.add_argument("--negative-prompt", metavar="TEXT", help="what to avoid (with --guidance-scale > 1)")
    diffusion.add_argument("--steps", type=int, metavar="N", help="denoising steps per frame (default: 1)")
    diffusion.add_argument("--guidance-scale", type=float, metavar="X",
                           help="classifier-free guidance (default: 0, off, as turbo models want)")
    render.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    for stem in _STEMS:
        component = stem.split("_")[0]
        render.add_argument("--" + stem.replace("_", "-"), dest=stem, metavar="FILE",
                            help=f"stem that drives the {component} instead of the song")
    render.add_argument("--plot-signals", dest="plot_signals", metavar="FILE",
                        help="also draw the signals that drove the render into this PNG")
    _add_render_options(render, {})

    commands.add_parser("styles", help="list the available styles", description="List the available styles.")
    add_live_command(commands)

    picture = commands.add_parser("spectrogram", help="a song's spectrogram as an image (PNG), Riffusion's format or "
                                                      "Auffusion's",
                                  description="Write a song's mel spectrogram as an image in Riffusion's format "
                                              "(or, with --format auffusion, Auffusion's).")
    picture.add_argument("song", help="audio file")
    picture.add_argument("-o", "--output", required=True, help="PNG file to write")
    picture.add_argument("--start", type=_number, default=0.0, help="where to start, in seconds (default: 0)")
    picture.add_argument("--duration", type=_seconds, default=None,
                         help=f"seconds to show (default: one image: {CLIP_SECONDS} s, 512 columns, in Riffusion's "
                              f"format; {AUFFUSION_SECONDS} s, 1024 columns, in Auffusion's)")
    picture.add_argument("--stereo", action="store_true", help="keep left and right apart (green and blue)")
    picture.add_argument("--format", choices=FORMATS, default="riffusion",
                         help="riffusion (44.1 kHz, 512 bands, default) or auffusion (16 kHz, 256 bands)")

    sonify = commands.add_parser("sonify", help="the sound of a spectrogram image (WAV)",
                                 description="Turn a spectrogram image (Riffusion's or Auffusion's format) back "
                                             "into sound.")
    sonify.add_argument("image", help="spectrogram image (PNG/JPEG): 512 pixels high (Riffusion) or 256 (Auffusion)")
    sonify.add_argument("-o", "--output", required=True, help="WAV file to write")
    sonify.add_argument("--seed", type=int, default=0, help="seed of the phase estimate (default: 0)")
    sonify.add_argument("--format", choices=FORMATS, default=None,
                        help="the image's format (default: told by its EXIF and height)")

    riff = commands.add_parser("riffuse", help="music from prompts with a spectrogram diffusion model (Riffusion)",
                               description="Generate music from prompts, Riffusion's way: img2img over a seed "
                                           "spectrogram, prompts and seeds interpolated clip by clip.")
    riff.add_argument("--prompt", dest="prompts", action="append", required=True, metavar="TEXT",
                      help="a prompt; repeat for more: the music moves from one to the next")
    riff.add_argument("--seconds", type=_number, required=True, help="length of the music, in seconds")
    riff.add_argument("-o", "--output", required=True, help="WAV file to write")
    riff.add_argument("--model", default=RIFFUSION_MODEL,
                      help=f"hub id, diffusers folder or .safetensors file (default: {RIFFUSION_MODEL})")
    riff.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same music")
    riff.add_argument("--steps", type=int, default=RIFFUSE_STEPS,
                      help=f"denoising steps of a full pass (default: {RIFFUSE_STEPS})")
    riff.add_argument("--strength", type=float, default=RIFFUSE_STRENGTH,
                      help=f"how much of the seed spectrogram is repainted, 0-1 (default: {RIFFUSE_STRENGTH})")
    riff.add_argument("--guidance-scale", type=float, default=RIFFUSE_GUIDANCE,
                      help=f"classifier-free guidance (default: {RIFFUSE_GUIDANCE})")
    riff.add_argument("--negative-prompt", metavar="TEXT", help="what to avoid")
    riff.add_argument("--video", metavar="FILE", help="also render the music's video on the same prompts")
    riff.add_argument("--video-style", default="sd-turbo",
                      help="diffusion style of the video: catalog name, hub id, folder or .safetensors file "
                           "(default: sd-turbo)")
    riff.add_argument("--device", help="cuda, mps or cpu (default: the best available)")

    _add_canvas_parser(commands)

    ui = commands.add_parser("ui", help="start the web app (needs `pip install lucidsonicdreams[ui]`)",
                             description="Start the local web app: upload a song, preview, render.")
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only); any other needs --auth or "
                         "--no-auth")
    ui.add_argument("--port", type=int, default=7860, help="port, 1-65535 (default: 7860)")
    ui.add_argument("--work-dir", type=Path, default=None,
                    help="folder for uploads and videos (default: ui/ in the cache folder)")
    ui.add_argument("--auth", metavar="USER:PASSWORD",
                    help="ask for this user name and password before showing the app or answering its API")
    ui.add_argument("--no-auth", action="store_true",
                    help="serve a --host that other machines can reach without a password, knowingly")

    demo = commands.add_parser("demo", help="synthesize a short song and render it offline with the built-in style",
                               description="Synthesize a short song (drums, bass, chords) and render it offline.")
    demo.add_argument("-o", "--output", dest="file_name", default="demo.mp4", help="video file (default: demo.mp4)")
    demo.add_argument("--seconds", type=_seconds, default=16.0, help="length of the demo song (default: 16)")
    _add_render_options(demo, {"fps": 30, "resolution": 512, "seed": 7, "batch_size": 4, "flash_strength": 0.3})
    return parser


def _add_canvas_parser(commands) -> None:
    canvas = commands.add_parser(
        "images-that-sound", help="one canvas that is a picture and, played, a sound (SD 1.5 + Auffusion)",
        description="Images that Sound: Stable Diffusion 1.5 and Auffusion denoise one canvas together, so that "
                    "it looks like --image-prompt and, played as a spectrogram, sounds like --audio-prompt. Most "
                    "samples fail: make several (--num-images) and pick.")
    canvas.add_argument("--image-prompt", required=True, metavar="TEXT", help="what the picture shows")
    canvas.add_argument("--audio-prompt", required=True, metavar="TEXT", help="what the sound is")
    canvas.add_argument("-o", "--output", required=True, help="PNG file to write (numbered with --num-images)")
    canvas.add_argument("--audio", metavar="FILE", help="also write the sound as a WAV file")
    canvas.add_argument("--video", metavar="FILE",
                        help="also write an MP4 of the picture with a playhead sweeping across it as it plays")
    canvas.add_argument("--seed", type=int, help="random seed (default: random); candidate i uses seed + i")
    canvas.add_argument("--num-images", type=int, default=1, metavar="N", help="candidates to make (default: 1)")
    for name in ("steps", "audio_weight", "image_guidance", "audio_guidance", "image_start_step", "width", "height"):
        default = CANVAS_DEFAULTS[name]
        canvas.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                            help=f"{CANVAS_HELP[name]} (default: {default})")
    canvas.add_argument("--negative-image-prompt", default="", metavar="TEXT", help="what the picture avoids")
    canvas.add_argument("--negative-audio-prompt", default="", metavar="TEXT", help="what the sound avoids")
    canvas.add_argument("--image-model", default=CANVAS_DEFAULTS["image_model"],
                        help="Stable Diffusion 1.x model: hub id, diffusers folder or .safetensors file (default: "
                             "%(default)s)")
    canvas.add_argument("--audio-model", default=CANVAS_DEFAULTS["audio_model"],
                        help="Auffusion model: hub id or folder (default: %(default)s)")
    canvas.add_argument("--device", help="cuda, mps or cpu (default: the best available)")


CANVAS_DEFAULTS = images_that_sound.__kwdefaults__
CANVAS_HELP = {
    "steps": "DDIM steps",
    "audio_weight": "the audio model's share of each step's noise estimate, 0-1",
    "image_guidance": "the image model's classifier-free guidance",
    "audio_guidance": "the audio model's classifier-free guidance",
    "image_start_step": "the step from which the image model joins (the audio model alone before it)",
    "width": "canvas width, a multiple of 8: 1024 columns are 10.24 s of sound",
    "height": "canvas height: 256, Auffusion's mel bands",
}


def _images_that_sound(args: argparse.Namespace) -> int:
    image = validation.output_file("--output", args.output, ".png", "castle.png")
    audio = validation.output_file("--audio", args.audio, ".wav", "castle.wav") if args.audio else None
    video = validation.video_path(args.video, "--video") if args.video else None
    names = ("steps", "audio_weight", "image_guidance", "audio_guidance", "image_start_step", "width", "height",
             "negative_image_prompt", "negative_audio_prompt", "image_model", "audio_model", "seed", "num_images",
             "device")
    made = images_that_sound(args.image_prompt, args.audio_prompt, **{name: getattr(args, name) for name in names})
    canvases = made if isinstance(made, list) else [made]
    for i, canvas in enumerate(canvases):
        written = [canvas.save_image(numbered(image, i, len(canvases)))]
        if audio is not None:
            written.append(canvas.save_audio(numbered(audio, i, len(canvases))))
        if video is not None:
            written.append(canvas.save_video(numbered(video, i, len(canvases))))
        print(f"wrote {', '.join(map(str, written))} (seed {canvas.seed}, {canvas.vocoder})")
    return 0


def _render_kwargs(args: argparse.Namespace) -> dict:
    kwargs = {a.name: getattr(args, a.name) for a in ARGUMENTS if a.cli is not None and hasattr(args, a.name)}
    shuffle = kwargs.get("class_shuffle_seconds")
    if shuffle is not None and len(shuffle) == 1:
        kwargs["class_shuffle_seconds"] = shuffle[0]
    return kwargs


def _default_output(song: Path) -> str:
    """``SONG.mp4`` in the current folder, or ``SONG_dream.mp4`` where that would be the song itself."""
    name = Path(song.stem + ".mp4")
    return str(name if not name.exists() or name.resolve() != song.resolve() else Path(song.stem + "_dream.mp4"))


def _render(args: argparse.Namespace) -> int:
    songs = [validation.audio_file("song", song) for song in args.songs]
    stems = {stem: getattr(args, stem) for stem in _STEMS}
    render = _render_kwargs(args)
    outputs = _album_outputs(songs, args, render) if len(songs) > 1 else [args.file_name or _default_output(songs[0])]
    # Every input checked before the style is built: a model can take minutes to download and load.
    jobs = [arguments.parse(output, **render) for output in outputs]
    for stem, path in stems.items():
        validation.audio_file(stem, path, optional=True)
    plot = args.plot_signals
    if plot is not None:
        validation.output_file("--plot-signals", plot, ".png", "signals.png")
    style = _style(args)
    if len(songs) > 1:
        dreams = [LucidSonicDream(song, style=style, device=args.device) for song in songs]
        for result in render_album(list(zip(dreams, jobs))):
            print(f"wrote {result.file} (seed {result.seed})")
        return 0
    dream = LucidSonicDream(songs[0], style=style, device=args.device, **stems)
    result = dream.render(jobs[0])
    print(f"wrote {result.file} (seed {result.seed})")
    if plot is not None:
        print(f"wrote {dream.plot_signals(plot)}")
    return 0


def _album_outputs(songs: list[Path], args: argparse.Namespace, render: dict) -> list[Path]:
    """One video per song, ``SONG.mp4`` in the ``-o`` folder (made, once every option has passed its check, if
    missing): what an album render writes."""
    given = [f"--{stem.replace('_', '-')}" for stem in _STEMS if getattr(args, stem)]
    if args.plot_signals:
        given.append("--plot-signals")
    if given:
        raise ValueError(f"{given[0]} belongs to one song; render the songs one at a time to use it")
    if not args.file_name:
        raise ValueError("several songs need -o FOLDER for their videos (one SONG.mp4 each)")
    folder = Path(args.file_name).expanduser()
    if folder.suffix.lower() == ".mp4" or folder.is_file():
        raise ValueError(f"-o {args.file_name!r}: several songs make several videos; give a folder")
    stems = [song.stem for song in songs]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise ValueError(f"two songs are named {twice[0]!r}: their videos would be one file; rename one")
    validation.existing_folder("-o", folder)
    arguments.parse(folder.parent / "album.mp4", **render)  # the options, checked before the folder is made
    folder.mkdir(exist_ok=True)
    return [folder / f"{stem}.mp4" for stem in stems]


def _style(args: argparse.Namespace) -> object:
    """``--style``, or with ``--prompt`` a DiffusionStyle of that model."""
    settings = {"negative_prompt": args.negative_prompt, "steps": args.steps, "guidance_scale": args.guidance_scale}
    if not args.prompts:
        given = [name for name, value in settings.items() if value is not None]
        if given:
            raise ValueError(f"--{given[0].replace('_', '-')} is for diffusion styles: add --prompt TEXT")
        return args.style
    settings = {name: value for name, value in settings.items() if value is not None}
    return DiffusionStyle(args.style, args.prompts, device=args.device, **settings)


def _riffuse(args: argparse.Namespace) -> int:
    path = riffuse_to_file(args.output, args.prompts, args.seconds, video=args.video, video_style=args.video_style,
                           model=args.model, seed=args.seed, steps=args.steps, strength=args.strength,
                           guidance_scale=args.guidance_scale, negative_prompt=args.negative_prompt,
                           device=args.device)
    print(f"wrote {path}" + (f" and {validation.output_file('video', args.video, '.mp4')}" if args.video else ""))
    return 0


def _demo(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        song = write_demo_song(Path(tmp) / "demo.wav", seconds=args.seconds)
        path = LucidSonicDream(song).hallucinate(args.file_name, **_render_kwargs(args))
    print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "styles":
            show_styles()
            return 0
        if args.command == "ui":
            try:
                serve(args.host, args.port, args.work_dir, auth=args.auth, no_auth=args.no_auth)
            except KeyboardInterrupt:  # Ctrl-C while it was still starting
                print("stopped", file=sys.stderr)
            return 0
        if args.command == "spectrogram":
            path = song_to_image(args.song, args.output, start=args.start, duration=args.duration, stereo=args.stereo,
                                 format=args.format)
            print(f"wrote {path}")
            return 0
        if args.command == "riffuse":
            return _riffuse(args)
        if args.command == "live":
            return run_live(args)
        if args.command == "images-that-sound":
            return _images_that_sound(args)
        if args.command == "sonify":
            print(f"wrote {image_to_wav(args.image, args.output, seed=args.seed, format=args.format)}")
            return 0
        return _render(args) if args.command == "render" else _demo(args)
    except USER_ERRORS as exc:
        print(f"lucidsonicdreams: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lucidsonicdreams: interrupted; no video was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
