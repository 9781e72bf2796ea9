"""The city's side of claims: the review queue and its decisions, public notice (公示) and
objections, budgets per clause and the waiting queue, payouts by city finance."""
