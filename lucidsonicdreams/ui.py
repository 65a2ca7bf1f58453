"""The Gradio page of the web app and ``lucidsonicdreams ui``: the form, Preview and Render, and the server."""

# No ``from __future__ import annotations`` here: Gradio finds the ``gr.Request`` parameter of a handler by its
# annotation, which must be the class itself, not a string.
import inspect
import os
import threading
import time
from pathlib import Path
from typing import Optional

from .app import PREVIEW_SECONDS, SHAPES, STEMS, App, RenderError, Settings
from .catalog import load_catalog
from .errors import USER_ERRORS

# The main settings (shown) and the rest (folded under "Advanced"): (name, kind, default, label, extra).
MAIN = [
    ("fps", "number", 24, "Frames per second", {"minimum": 1, "maximum": 120}),
    ("start", "number", 0, "Start (s)", {"minimum": 0}),
    ("duration", "number", 0, "Duration (s, 0: to the end)", {}),
    ("seed", "number", -1, "Seed (-1: a new one each time)", {"precision": 0}),
    ("pulse_react", "slider", 0.5, "Pulse react", {"minimum": 0, "maximum": 2, "step": 0.05}),
    ("motion_react", "slider", 0.5, "Motion react", {"minimum": 0, "maximum": 2, "step": 0.05}),
    ("beat_react", "slider", 0.5, "Beat react", {"minimum": 0, "maximum": 2, "step": 0.05}),
    ("sections", "checkbox", True, "New look for each song section", {}),
    ("contrast_strength", "slider", 0.0, "Contrast flashes", {"minimum": 0, "maximum": 1, "step": 0.05}),
    ("flash_strength", "slider", 0.0, "Brightness flashes", {"minimum": 0, "maximum": 1, "step": 0.05}),
]
ADVANCED = [
    ("speed_fpm", "number", 12, "New base images per minute", {"minimum": 0}),
    ("motion_randomness", "slider", 0.5, "Motion randomness", {"minimum": 0, "maximum": 1, "step": 0.05}),
    ("truncation", "slider", 1.0, "Truncation", {"minimum": 0, "maximum": 1, "step": 0.05}),
    ("truncation_psi", "slider", 1.0, "Truncation psi (StyleGAN)", {"minimum": 0, "maximum": 1, "step": 0.05}),
    ("pulse_percussive", "checkbox", True, "Pulse from the percussive part", {}),
    ("pulse_harmonic", "checkbox", False, "Pulse from the harmonic part", {}),
    ("motion_percussive", "checkbox", False, "Motion from the percussive part", {}),
    ("motion_harmonic", "checkbox", True, "Motion from the harmonic part", {}),
    ("class_pitch_react", "slider", 0.5, "Class pitch react", {"minimum": 0, "maximum": 2, "step": 0.05}),
    ("class_smooth_seconds", "number", 1, "Class smoothing (s)", {"minimum": 0}),
    ("class_complexity", "slider", 1.0, "Class complexity", {"minimum": 0, "maximum": 2, "step": 0.05}),
    ("class_shuffle_seconds", "number", 0, "Shuffle classes every (s, 0: never)", {}),
    ("class_shuffle_strength", "slider", 0.5, "Shuffle strength", {"minimum": 0, "maximum": 1, "step": 0.05}),
    ("batch_size", "number", 4, "Batch size", {"minimum": 1, "precision": 0}),
]
# A page number can't be empty: 0 stands for "not given" here (an effect's strength, the duration, the shuffle
# period; hallucinate turns an effect on by its strength being given at all), and a negative seed for "random".
_ZERO_IS_NONE = ("contrast_strength", "flash_strength", "duration", "class_shuffle_seconds")


def style_choices() -> "list[str]":
    return sorted((e.name for e in load_catalog().values() if e.supported), key=lambda n: (n != "cppn", n.lower()))


def _component(gr, kind: str, default, label: str, extra: dict):
    if kind == "slider":
        return gr.Slider(value=default, label=label, **extra)
    if kind == "checkbox":
        return gr.Checkbox(value=default, label=label)
    # No bounds on numbers in the page: the package's own checks name the argument and the fix.
    return gr.Number(value=default, label=label, **{k: v for k, v in extra.items() if k == "precision"})


def _form(named: dict) -> tuple:
    """The page's values by name as (song, stems, Settings)."""
    render = {spec[0]: named[spec[0]] for spec in MAIN + ADVANCED}
    for name in _ZERO_IS_NONE:
        if not render[name]:
            render[name] = None
    render["seed"] = None if render["seed"] is None or render["seed"] < 0 else int(render["seed"])
    render["batch_size"] = int(render["batch_size"]) if render["batch_size"] is not None else None
    model_file = named["model_file"]
    settings = Settings(style=str(model_file) if model_file else named["style"] or "cppn",
                        model_upload=bool(model_file), prompts=named["prompts"] or "", shape=named["shape"],
                        size=int(named["size"] or 512), render=render)
    return named["song"], {name: named[name] for name in STEMS}, settings


def build_page(app: App):
    """The Gradio Blocks page; its buttons are also the API endpoints ``/preview``, ``/render`` and ``/cancel``."""
    try:
        import gradio as gr
    except ImportError:
        raise ImportError("the web app needs Gradio: pip install 'lucidsonicdreams[ui]'") from None

    with gr.Blocks(title="Lucid Sonic Dreams") as page:
        gr.Markdown("# Lucid Sonic Dreams\nDrop a song, press **Preview** to try settings on a few seconds, then "
                    "**Render** the whole video.")
        with gr.Row():
            with gr.Column(scale=1):
                song = gr.File(label="Song", type="filepath")
                with gr.Accordion("Stems (optional)", open=False):
                    stems = [gr.File(label=label, type="filepath") for label in STEMS.values()]
                # A catalog name, or typed: a hub id or a local diffusers folder (with prompts below).
                style = gr.Dropdown(style_choices(), value="cppn", allow_custom_value=True,
                                    label="Style (a catalog name, a hub id or a model folder)")
                model_file = gr.File(label="Or a model file (.pkl, .safetensors)", type="filepath")
                prompts = gr.Textbox(label="Prompts (diffusion styles; one per line)", lines=3)
                with gr.Row():
                    shape = gr.Radio(list(SHAPES), value="square", label="Shape")
                    size = gr.Number(value=512, label="Size (short side, px)", precision=0)
                main = [_component(gr, *spec[1:]) for spec in MAIN]
                with gr.Accordion("Advanced", open=False):
                    advanced = [_component(gr, *spec[1:]) for spec in ADVANCED]
            with gr.Column(scale=1):
                with gr.Row():
                    preview_button = gr.Button("Preview", variant="primary")
                    render_button = gr.Button("Render")
                    cancel_button = gr.Button("Cancel", variant="stop")
                status = gr.Markdown()
                video = gr.Video(label="Video", autoplay=False)
                plot = gr.Image(label="Signals", type="filepath")
                download = gr.File(label="Download")

        form = [style, model_file, prompts, shape, size, *main, *advanced]
        # The API's parameters are named after the form and default to it, so `/preview` can be called with the
        # song alone (gradio_client reads names and defaults from the handler's signature).
        defaults = {"song": None, **dict.fromkeys(STEMS), "style": "cppn", "model_file": None, "prompts": None,
                    "shape": "square", "size": 512, **{spec[0]: spec[2] for spec in MAIN + ADVANCED}}

        def unpack(values):
            return _form(dict(zip(defaults, values)))

        def preview(*values):
            try:
                return app.preview(*unpack(values), seconds=PREVIEW_SECONDS)
            except USER_ERRORS as exc:
                raise gr.Error(str(exc)) from None

        def render(*values):
            *values, request, progress = values  # Gradio puts these where the signature below has them

            def report(done, total, what):
                progress((done, total) if total else None, desc=what)

            try:
                path, message = app.render(*unpack(values), session=request.session_hash, on_progress=report)
            except (RenderError, *USER_ERRORS) as exc:
                raise gr.Error(str(exc)) from None
            return path, path, message

        def cancel(request: gr.Request):
            return app.cancel(request.session_hash)

        form_parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=value)
                           for name, value in defaults.items()]
        preview.__signature__ = inspect.Signature(form_parameters)
        render.__signature__ = inspect.Signature([
            *form_parameters,
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request),
            inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=gr.Progress()),
        ])
        render.__annotations__ = {"request": gr.Request}  # Gradio reads the type hints, not the signature

        inputs = [song, *stems, *form]
        preview_button.click(preview, inputs, [video, plot, status], api_name="preview")
        rendering = render_button.click(render, inputs, [video, download, status], api_name="render")
        cancel_button.click(cancel, None, status, api_name="cancel", cancels=[rendering])
    return page


def serve(host: str = "127.0.0.1", port: int = 7860, work_dir: Optional[Path] = None, *, block: bool = True):
    """Start the app; prints its URL. With ``block``, serve until Ctrl-C, then stop cleanly."""
    app = App(work_dir)
    # Gradio keeps uploads in its temporary folder: that too goes inside the work folder.
    os.environ["GRADIO_TEMP_DIR"] = str(app.workspace.root / "gradio")
    page = build_page(app)
    page.queue(default_concurrency_limit=2)
    page.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=True,
                allowed_paths=[str(app.workspace.jobs)], max_file_size="2gb")
    threading.Thread(target=app.warm_up, name="warm-up", daemon=True).start()
    print(f"lucidsonicdreams ui: open http://{host}:{port} (work folder {app.workspace.root}); Ctrl-C stops it",
          flush=True)
    if not block:
        return page
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        page.close()
    return page
