"""The help desk of the example project: its tickets and what they refer to."""
