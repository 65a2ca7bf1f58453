"""The Gradio page of the web app and ``lucidsonicdreams ui``: the form, Preview and Render, and the server."""

# No ``from __future__ import annotations`` here: Gradio finds the ``gr.Request`` parameter of a handler by its
# annotation, which must be the class itself, not a string.
import inspect
import os
import threading
import time
from pathlib import Path
from typing import Optional, Union

from ..catalog.entries import load_catalog
from ..errors import USER_ERRORS
from ..render.arguments import ARGUMENTS, Argument
from ..utils.serving import check_address
from .state import PREVIEW_SECONDS, SHAPES, STEMS, App, RenderError, Settings

# The render arguments the page shows, as declared with them (render/arguments.py): main ones shown, the rest
# folded under "Advanced".
CONTROLS = [a for a in ARGUMENTS if a.app is not None]
MAIN = [a for a in CONTROLS if a.app.main]
ADVANCED = [a for a in CONTROLS if not a.app.main]


def app_default(argument: Argument) -> object:
    """The value the page starts with: the app's own default where the declaration gives one."""
    control = argument.app
    if control.default is not None:
        return control.shown(control.default)
    return control.shown(control.none_is if argument.default is None else argument.default)


def style_choices() -> "list[str]":
    return sorted((e.name for e in load_catalog().values() if e.supported), key=lambda n: (n != "cppn", n.lower()))


def _component(gr, argument: Argument):
    control, value = argument.app, app_default(argument)
    if control.kind == "slider":
        return gr.Slider(value=value, label=control.label, minimum=control.minimum, maximum=control.maximum,
                         step=control.step)
    if control.kind == "checkbox":
        return gr.Checkbox(value=value, label=control.label)
    if control.kind == "text":
        return gr.Textbox(value=value, label=control.label, lines=6, placeholder=control.placeholder)
    if control.kind == "choice":
        return gr.Dropdown([label for label, _ in control.choices], value=value, label=control.label)
    # No bounds on numbers in the page: the package's own checks name the argument and the fix.
    return gr.Number(value=value, label=control.label,
                     **({"precision": control.precision} if control.precision is not None else {}))


def _form(named: dict) -> tuple:
    """The page's values by name as (song, stems, Settings)."""
    render = {}
    for argument in CONTROLS:
        value = argument.app.taken(named[argument.name])
        none_is = argument.app.none_is
        if none_is is not None and (value is None or value == none_is or (none_is == -1 and value < 0)):
            value = None
        elif argument.app.precision == 0 and value is not None:
            value = int(value)
        render[argument.name] = value
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

    # No telemetry: a local tool has no business calling out (and on a closed network each call only waits).
    with gr.Blocks(title="Lucid Sonic Dreams", analytics_enabled=False) as page:
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
                main = [_component(gr, argument) for argument in MAIN]
                with gr.Accordion("Advanced", open=False):
                    advanced = [_component(gr, argument) for argument in ADVANCED]
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
                    "shape": "square", "size": 512, **{a.name: app_default(a) for a in MAIN + ADVANCED}}

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


def serve(host: str = "127.0.0.1", port: int = 7860, work_dir: Optional[Path] = None, *,
          auth: Union[str, tuple[str, str], None] = None, no_auth: bool = False, block: bool = True):
    """Start the app; prints its URL. With ``block``, serve until Ctrl-C, then stop cleanly.

    ``auth`` (``"USER:PASSWORD"`` or a pair) puts Gradio's login page in front of the page and its API; a host
    other than this machine (127.0.0.0/8, ::1, localhost) needs it, or ``no_auth=True``. Everything is checked
    before the server starts (ValueError)."""
    credentials = check_address(host, port, auth, no_auth)
    app = App(work_dir)
    # Gradio keeps uploads in its temporary folder: that too goes inside the work folder, where keep_upload
    # knows it (and stores each upload once).
    os.environ["GRADIO_TEMP_DIR"] = str(app.workspace.gradio)
    page = build_page(app)
    page.queue(default_concurrency_limit=2)
    page.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=True,
                allowed_paths=[str(app.workspace.jobs)], max_file_size="2gb", auth=credentials)
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
        app.shutdown()
        page.close()
    return page
