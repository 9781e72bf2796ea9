"""Conversations between the parties of a record: threads and messages, negotiation (quote
versions), demands answered by responders, the agreed-price public notice (协议定价公示) and
the timed reminders. See models.py for the tables."""
