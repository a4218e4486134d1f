"""The embedded emulated stack: the real template and state machine on in-process moto (no AWS account)."""
