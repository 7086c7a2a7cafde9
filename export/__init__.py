"""Write what analysts and the evaluation read: contract CSVs, run.json, and friends."""
