"""The tamper-evident ledger (账本): every money or contract event, append-only and
chained by SHA-256. ``services.append`` writes, ``services.verify`` checks the chain,
``scenario.build_scenario`` turns a year of it into the rules engine's input."""
