"""Assignment 5, reproduced."""
