"""Coaching sessions: a supervisor's recorded conversation with an agent, and whether it helped."""
