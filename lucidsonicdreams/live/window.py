"""``--window``: the picture in a window of its own (pygame), where the machine has a display. Closing the
window, or Esc, ends the show."""

from __future__ import annotations

import os
import sys

from .engine import LiveImage


class WindowSink:
    """A pygame window showing each frame as it is drawn; F toggles full screen."""

    def __init__(self, title: str = "lucidsonicdreams live") -> None:
        if not sys.platform.startswith(("win", "darwin")) and not (
                os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
            raise OSError("--window needs a display, and this machine has none: use --serve and open the page")
        try:
            os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
            import pygame
        except ImportError:
            raise ImportError("--window needs pygame: pip install 'lucidsonicdreams[live]'") from None
        self._pygame = pygame
        self.title = title
        self._screen = None
        self.shown = 0

    def open(self, size, fps, source) -> None:
        pygame = self._pygame
        pygame.display.init()
        pygame.display.set_caption(self.title)
        self._screen = pygame.display.set_mode(size, pygame.RESIZABLE)

    def frame(self, frame: LiveImage) -> None:
        pygame = self._pygame
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                raise KeyboardInterrupt
            if event.type == pygame.KEYDOWN and event.key == pygame.K_f:
                pygame.display.toggle_fullscreen()
        height, width = frame.image.shape[:2]
        picture = pygame.image.frombuffer(frame.image.tobytes(), (width, height), "RGB")
        screen = self._screen
        if screen.get_size() != (width, height):
            picture = pygame.transform.smoothscale(picture, screen.get_size())
        screen.blit(picture, (0, 0))
        pygame.display.flip()
        self.shown += 1

    def close(self) -> None:
        if self._screen is not None:
            self._pygame.display.quit()
            self._screen = None
