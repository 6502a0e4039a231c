"""Reading sources (SQL files, schema files) into statements with positions."""
