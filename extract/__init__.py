"""Read PDFs into pages of words and rulings, then find annex tables on them."""
