"""Turn raw cells and text into typed values: amounts, pilots, statuses, columns, fields."""
