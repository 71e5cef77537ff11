"""Domain: statuses, entities and rules. No I/O and no framework imports."""
