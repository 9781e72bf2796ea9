"""Policy reforms (政策测算): "what would last year have cost under another rule?"

A reviewer or finance user copies the parameters in force into a named draft, edits values
with a reason, replays any past year's scenario under the draft with the same engine, and
reads a forecast; an administrator publishes a draft as new dated values. Drafts never touch
the claims; published values do, from their effective date on (``parameters.in_force``).
"""
