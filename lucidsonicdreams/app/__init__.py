"""The web app (``lucidsonicdreams ui``): :mod:`.state` holds its state and handlers, :mod:`.page` the Gradio
page and the server."""
