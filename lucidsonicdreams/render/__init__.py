"""Render: the declared arguments, the plan (everything a render needs, as one picklable value), the frame loop
that draws any window of it, frame fitting, the video writer and the signal plot."""
