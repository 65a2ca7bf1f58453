"""Each hallucinate argument is declared once (render/arguments.py); hallucinate's signature, the command line's
options and help, and the web app's controls all agree with that declaration."""

from __future__ import annotations

import argparse
import inspect

import pytest

from lucidsonicdreams import LucidSonicDream
from lucidsonicdreams.cli import build_parser
from lucidsonicdreams.render import arguments
from lucidsonicdreams.render.arguments import ARGUMENTS, BY_NAME, DEFAULTS


def subparser(name: str) -> argparse.ArgumentParser:
    return build_parser()._subparsers._group_actions[0].choices[name]


def test_hallucinate_signature_is_the_declaration():
    params = inspect.signature(LucidSonicDream.hallucinate).parameters
    declared = [(a.name, a.default) for a in ARGUMENTS]
    positional = [(name, p.default) for name, p in params.items()
                  if name not in ("self", "file_name") and p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional == declared  # same names, same order (0.4 scripts pass some by position), same defaults
    assert [n for n, p in params.items() if p.kind == p.KEYWORD_ONLY] == ["progress"]


def test_every_argument_has_a_check_help_and_group():
    for argument in ARGUMENTS:
        assert argument.help and argument.group in ("output", "pulse", "motion", "beat", "classes", "effects", "style",
                                                                "timeline")
        assert argument.check(argument.name, argument.default, dict(DEFAULTS)) == argument.default or \
            argument.name == "custom_effects"


@pytest.mark.parametrize("name, bad", [("fps", 0), ("pulse_react", -1), ("motion_randomness", 2),
                                       ("speed_fpm", 10**6), ("sections", "yes"), ("seed", -3),
                                       ("classes", [1.5]), ("resolution", 1), ("custom_effects", "fx")])
def test_a_bad_value_names_its_argument(name, bad, tmp_path):
    with pytest.raises((TypeError, ValueError), match=name):
        arguments.parse(tmp_path / "v.mp4", **{name: bad})


def test_the_command_line_options_and_help_are_the_declaration():
    render = subparser("render")
    actions = {a.dest: a for a in render._actions}
    text = render.format_help()
    for argument in ARGUMENTS:
        if argument.cli is None:
            assert argument.name not in actions
            continue
        action = actions[argument.name]
        assert action.option_strings[0] == "--" + argument.name.replace("_", "-")
        assert action.default == argument.default, argument.name
        assert action.help.startswith(argument.help)
        assert " ".join(argument.help.split()[:4]) in " ".join(text.split())  # shown by --help
    # No render option that the declaration does not know (besides the song, style and stem options).
    extra = {a.dest for a in render._actions} - set(BY_NAME)
    assert extra == {"help", "songs", "file_name", "style", "prompts", "negative_prompt", "steps", "guidance_scale",
                     "device", "pulse_audio", "motion_audio", "class_audio", "contrast_audio", "flash_audio",
                     "plot_signals"}


def test_the_command_line_reads_each_form(tmp_path):
    args = build_parser().parse_args(["render", "s.wav", "--resolution", "64x32", "--classes", "1", "2",
                                      "--class-shuffle-seconds", "2.5", "--no-pulse-percussive", "--sections",
                                      "--fps", "12"])
    assert (args.resolution, args.classes, args.class_shuffle_seconds) == ((64, 32), [1, 2], [2.5])
    assert (args.pulse_percussive, args.sections, args.fps) == (False, True, 12)


def test_the_app_controls_are_the_declaration():
    from lucidsonicdreams.app.page import ADVANCED, MAIN, app_default

    shown = {a.name for a in MAIN + ADVANCED}
    assert shown == {a.name for a in ARGUMENTS if a.app is not None}
    for argument in MAIN + ADVANCED:
        control = argument.app
        if control.taken(app_default(argument)) not in (argument.default, control.none_is):
            assert control.why, f"{argument.name}: the app's default differs from the library's without a reason"
    # The defaults that differ, and the declaration says why.
    differ = {a.name for a in MAIN + ADVANCED if a.app.why}
    assert differ == {"fps", "batch_size", "beat_react", "sections"}


def test_the_app_page_shows_the_declared_controls(tmp_path):
    gradio = pytest.importorskip("gradio")
    from lucidsonicdreams.app.page import ADVANCED, MAIN, app_default, build_page
    from lucidsonicdreams.app.state import App

    page = build_page(App(tmp_path))
    labelled = {b.label: b for b in page.blocks.values() if isinstance(b, gradio.components.Component)
                and getattr(b, "label", None)}
    for argument in MAIN + ADVANCED:
        component = labelled[argument.app.label]
        assert component.value == app_default(argument), argument.name


def test_the_app_form_gives_hallucinate_arguments(tmp_path):
    pytest.importorskip("gradio")
    from lucidsonicdreams.app.page import ADVANCED, MAIN, _form, app_default
    from lucidsonicdreams.app.state import STEMS

    named = {"song": None, **dict.fromkeys(STEMS), "style": "cppn", "model_file": None, "prompts": "",
             "shape": "square", "size": 256, **{a.name: app_default(a) for a in MAIN + ADVANCED}}
    _, _, settings = _form(named)
    checked = arguments.parse(tmp_path / "v.mp4", **settings.render).values
    assert (checked["seed"], checked["duration"], checked["contrast_strength"]) == (None, None, None)
    assert (checked["fps"], checked["beat_react"], checked["sections"], checked["batch_size"]) == (24, 0.5, True, 4)
