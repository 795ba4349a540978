"""handbook-bot: the Bot Framework app answering from the CT Open Data Handbook."""
