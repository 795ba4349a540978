"""How an answer is chosen, framework-free: intents, evidence from the search, the decision (decide.py)."""
