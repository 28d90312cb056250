"""Hooks through which higher apps act on changes of the core's accounts.

`team_left` is sent inside the transaction that takes someone out of a team, after their team
membership and its guardian group are gone, so that a receiver sees the rights that remain:
`planning` lets go of them on each plan where the team was their only way in.
"""

from django.dispatch import Signal

team_left = Signal()  # sender=Team, team=<the team>, user=<who left>
