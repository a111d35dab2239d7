"""Referral routes: agency invite links counted as numbers only, and the newcomers' pinned "New here?" note.

`routes.py` reads a group's routes (what the poster and the listing print); `service.py` creates, lists and retires
them and keeps the monthly counts; `counts.py` turns the counts into the export's and report's rows.
"""
