"""Participation: anonymous counting, feedback, the evaluation export and the office's reports."""
